"""The semgrep adapter's own logic: error classes, rule targeting, redaction, bad output.

Most tests here are pure functions fed with JSON shapes recorded from semgrep 1.185. The
ones that need semgrep to misbehave (garbage on stdout, a file silently left out) use a
small fake `semgrep` script via COMPLIANCE_SEMGREP_BIN: the real tool cannot be made to
show those faults, which is exactly why the adapter must catch them.
"""

from __future__ import annotations

import json
import stat
import textwrap
from pathlib import Path

import pytest

from compliance.findings import Severity
from compliance.scanners.interface import ScanContext, ScannerFailure
from compliance.scanners.redact import redact_in, redacted
from compliance.scanners.semgrep import SemgrepScanner, _references, _scan_error, _severity
from compliance.scanners.semgrep_rules import load_rule_set


def test_partial_parsing_of_a_target_is_a_parse_error_without_source_text() -> None:
    error = _scan_error(
        {
            "code": 3,
            "level": "warn",
            "type": ["PartialParsing", [{"path": "bad.py", "start": {"line": 3}}]],
            "message": "Syntax error at line bad.py:3:\n `password = 'hunter2'` was unexpected",
            "path": "bad.py",
        }
    )
    assert (error.kind, error.path) == ("scanner.parse", "bad.py")
    assert "hunter2" not in error.reason  # semgrep quotes source after the first line


def test_rule_errors_are_crashes_naming_the_rule_and_file() -> None:
    parse = _scan_error(
        {
            "code": 2,
            "level": "error",
            "type": "Rule parse error",
            "rule_id": "broken-pattern",
            "message": "Rule parse error in rule broken-pattern:\n Invalid pattern for Python",
        }
    )
    assert parse.kind == "scanner.crash"
    assert "broken-pattern" in parse.reason
    assert "Invalid pattern for Python" in parse.reason  # the line after "...rule X:"
    resolved = _scan_error(
        {
            "type": "Rule parse error",
            "rule_id": "no-message",
            "message": "Rule parse error in rule no-message:\n Missing required field message",
            "spans": [{"file": "/tmp/compliance-semgrep-x/rules.json", "start": {"line": 1}}],
        },
        {"no-message": Path("rules/own.yml")}.get,
    )
    assert resolved.path == "rules/own.yml"  # the author's file, not our resolved config
    assert "Missing required field message" in resolved.reason
    schema = _scan_error(
        {
            "code": 4,
            "level": "error",
            "type": "InvalidRuleSchemaError",
            "long_msg": "One of these properties is missing: 'message'",
            "spans": [{"file": "rules/b.yml", "start": {"line": 2}}],
        }
    )
    assert (schema.kind, schema.path) == ("scanner.crash", "rules/b.yml:2")


def test_timeouts_and_unknown_errors_are_never_harmless() -> None:
    timeout = _scan_error({"type": "Timeout", "level": "warn", "path": "big.py", "rule_id": "r"})
    assert (timeout.kind, timeout.path) == ("scanner.timeout", "big.py")
    odd = _scan_error({"type": "Something new", "level": "info", "message": "?"})
    assert odd.kind == "scanner.crash"


def test_our_severity_in_metadata_wins_over_semgreps_scale() -> None:
    assert _severity({"severity": "critical"}, "WARNING", Severity.HIGH) is Severity.CRITICAL
    assert _severity({}, "WARNING", Severity.HIGH) is Severity.MEDIUM
    assert _severity({}, "INFO", Severity.HIGH) is Severity.LOW
    assert _severity({}, "SOMETHING", Severity.HIGH) is Severity.HIGH


def test_references_are_normalised() -> None:
    refs = _references(
        {
            "cwe": ["CWE-89: Improper Neutralization"],
            "owasp": "A03:2021 - Injection",
            "references": ["https://example.org/x"],
        }
    )
    assert refs == ("CWE-89", "OWASP A03:2021", "https://example.org/x")


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJal…EKEY"),
        ("hunter2hunter2", "hu…r2"),
        ("abcdefgh", "a…h"),
        ("abc", "…"),
    ],
)
def test_redaction_keeps_little_of_short_secrets(secret: str, shown: str) -> None:
    assert redacted(secret) == shown
    assert secret not in redact_in(f"key = '{secret}'", secret)


def _rules(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(textwrap.dedent(body))
    return path


def test_rule_targets_follow_languages_and_paths(tmp_path: Path) -> None:
    rules = load_rule_set(
        [
            _rules(
                tmp_path,
                """
                rules:
                  - {id: py, languages: [python], severity: INFO, message: m, pattern: x}
                  - id: docker
                    languages: [regex]
                    severity: INFO
                    message: m
                    pattern-regex: FROM
                    paths: {include: [Dockerfile]}
                """,
            )
        ]
    )
    files = ["a.py", "tests/b.py", "README.md", "Dockerfile", "sub/Dockerfile", "x.sh"]
    assert rules.targets(files) == ["a.py", "tests/b.py", "Dockerfile", "sub/Dockerfile"]


def test_shipped_rules_apply_to_every_text_file() -> None:
    rules = load_rule_set([])
    files = ["a.py", "README.md", "tests/data.bin.txt", "Dockerfile", "x/y/z"]
    assert rules.targets(files) == files
    assert "secret-aws-access-key-id" in rules.secret_rules


def test_unknown_language_is_an_error_not_a_silent_gap(tmp_path: Path) -> None:
    path = _rules(tmp_path, "rules:\n  - {id: x, languages: [cobol], message: m, pattern: x}\n")
    with pytest.raises(ScannerFailure, match="cobol"):
        load_rule_set([path])


def test_invalid_rule_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = _rules(tmp_path, "rules:\n  - id: x\n    languages: [python\n")
    with pytest.raises(ScannerFailure, match=r"rules\.yml:\d+"):
        load_rule_set([path])


def test_missing_rule_location_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ScannerFailure, match="does not exist"):
        load_rule_set([tmp_path / "nope"])


def _fake_semgrep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stdout: str, code: int) -> None:
    script = tmp_path / "semgrep"
    (tmp_path / "out.txt").write_text(stdout)
    script.write_text(f"#!/bin/sh\ncat '{tmp_path / 'out.txt'}'\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("COMPLIANCE_SEMGREP_BIN", str(script))
    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path / "cache"))


def _context(tmp_path: Path) -> ScanContext:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    (root / "b.py").write_text("y = 2\n")
    return ScanContext(root=root, files=("a.py", "b.py"), timeout=60)


def test_garbage_on_stdout_is_an_output_error(tmp_path: Path, monkeypatch) -> None:
    """Mock: a fake semgrep prints garbage and exits 0 (a real one cannot be made to)."""
    _fake_semgrep(tmp_path, monkeypatch, "Segmentation fault? {not json", 0)
    with pytest.raises(ScannerFailure) as caught:
        SemgrepScanner().scan(_context(tmp_path))
    assert caught.value.kind == "scanner.output"


def test_nonzero_exit_without_json_is_a_crash(tmp_path: Path, monkeypatch) -> None:
    """Mock: a fake semgrep dies with exit 139 and no output."""
    _fake_semgrep(tmp_path, monkeypatch, "", 139)
    with pytest.raises(ScannerFailure) as caught:
        SemgrepScanner().scan(_context(tmp_path))
    assert caught.value.kind == "scanner.crash"


def test_file_left_out_of_paths_scanned_is_a_coverage_error(tmp_path: Path, monkeypatch) -> None:
    """Mock: a fake semgrep reports success but scanned only one of the two files."""
    report = {"version": "9.9.9", "results": [], "errors": [], "paths": {"scanned": ["a.py"]}}
    _fake_semgrep(tmp_path, monkeypatch, json.dumps(report), 0)
    result = SemgrepScanner().scan(_context(tmp_path))
    assert [(e.kind, e.path) for e in result.errors] == [("coverage", "b.py")]
    assert (result.files_requested, result.files_scanned) == (2, 1)
    assert not result.complete


def test_binary_files_are_not_selected(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    (tmp_path / "a.py").write_text("x = 1\n")
    assert SemgrepScanner().select(tmp_path, ["a.py", "logo.png"]) == ["a.py"]
