"""Property tests for each scanner's output parser: whatever bytes bandit, semgrep or
pip-audit hand back (random JSON, a valid report with wrong types, huge values or keys
removed, bytes that are not UTF-8), a scan ends in a clean ScannerFailure or a result that
carries an error — never another exception, and never an empty pass the tool's output
does not justify.

Mock: the tool's process is replaced by a function returning the generated output (the
real tools cannot be made to print arbitrary bytes); everything after it — reading the
report, validating it, building findings and coverage — is the real scanner code.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.scanners.bandit import BanditScanner
from compliance.scanners.interface import ScanContext, Scanner, ScannerFailure, ScannerResult
from compliance.scanners.pip_audit import PipAuditScanner
from compliance.scanners.process import ToolRun
from compliance.scanners.semgrep import SemgrepScanner
from compliance.scanners.semgrep_rules import load_rule_set

SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SOURCES = {
    "a.py": "import subprocess\nsubprocess.call('ls', shell=True)\n",
    "b.py": "x = 1\n",
}
PINS = {"alpha-pkg": "1.0", "beta-pkg": "2.0"}

EXTREMES = [10**30, -(10**30), 2**63, -1, 0, 1e308, math.inf, -math.inf, math.nan, "x" * 20_000, ""]
HUGE = st.sampled_from(EXTREMES)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["a.py", "./b.py", "../../etc/passwd", "B602", "HIGH", "ERROR", "alpha-pkg"]),
    HUGE,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)


def bandit_report(files: Sequence[str]) -> dict[str, Any]:
    return {
        "errors": [],
        "metrics": {f"./{f}": {"loc": 2, "nosec": 0, "skipped_tests": 0} for f in files},
        "results": [
            {
                "filename": "./a.py",
                "line_number": 2,
                "line_range": [2],
                "col_offset": 0,
                "test_id": "B602",
                "test_name": "subprocess_popen_with_shell_equals_true",
                "issue_severity": "HIGH",
                "issue_confidence": "HIGH",
                "issue_text": "shell=True",
                "issue_cwe": {"id": 78, "link": "https://cwe.mitre.org/data/definitions/78.html"},
                "more_info": "https://bandit.readthedocs.io/",
                "code": "2 subprocess.call('ls', shell=True)\n",
            }
        ],
    }


def semgrep_report(files: Sequence[str]) -> dict[str, Any]:
    return {
        "version": "1.99.0",
        "errors": [],
        "paths": {"scanned": list(files)},
        "results": [
            {
                "check_id": "python-subprocess-shell",
                "path": "a.py",
                "start": {"line": 2, "col": 1, "offset": 18},
                "end": {"line": 2, "col": 35, "offset": 52},
                "extra": {
                    "message": "shell=True",
                    "severity": "ERROR",
                    "metadata": {"cwe": ["CWE-78"], "severity": "high"},
                    "lines": "subprocess.call('ls', shell=True)",
                },
            }
        ],
    }


def pip_audit_report(_files: Sequence[str]) -> dict[str, Any]:
    return {
        "dependencies": [
            {
                "name": "alpha-pkg",
                "version": "1.0",
                "vulns": [
                    {
                        "id": "PYSEC-2099-1",
                        "fix_versions": ["1.1"],
                        "aliases": ["CVE-2099-1"],
                        "description": "bad",
                    }
                ],
            },
            {"name": "beta-pkg", "version": "2.0", "vulns": []},
        ],
        "fixes": [],
    }


def clean_bandit(report: Any, files: Sequence[str]) -> bool:
    return (
        isinstance(report, dict)
        and report.get("results") == []
        and report.get("errors") == []
        and isinstance(report.get("metrics"), dict)
        and all(any(k.lstrip("./") == f for k in report["metrics"]) for f in files)
    )


def clean_semgrep(report: Any, files: Sequence[str]) -> bool:
    paths = report.get("paths") if isinstance(report, dict) else None
    scanned = paths.get("scanned") if isinstance(paths, dict) else None
    return (
        report.get("results") == []
        and report.get("errors") == []
        and isinstance(scanned, list)
        and all(f in scanned or f"./{f}" in scanned for f in files)
    )


def clean_pip_audit(report: Any, _files: Sequence[str]) -> bool:
    deps = report.get("dependencies") if isinstance(report, dict) else None
    if not isinstance(deps, list):
        return False
    clean = {
        (d.get("name"), d.get("version"))
        for d in deps
        if isinstance(d, dict) and d.get("vulns") == [] and "skip_reason" not in d
    }
    return all((name, version) in clean for name, version in PINS.items())


SCANNERS: dict[str, tuple[type[Scanner], Callable[..., Any], Callable[..., bool]]] = {
    "bandit": (BanditScanner, bandit_report, clean_bandit),
    "semgrep": (SemgrepScanner, semgrep_report, clean_semgrep),
    "pip-audit": (PipAuditScanner, pip_audit_report, clean_pip_audit),
}


@contextmanager
def tool_printing(scanner: str, output: bytes, code: int) -> Iterator[None]:
    """The scanner's tool, replaced by one that prints `output` (see the module docstring)."""

    def fake_run(argv: Sequence[str], **_: Any) -> ToolRun:
        if "--version" in argv:
            return ToolRun(0, f"{scanner} 9.9.9\n", "")
        if "--output" in argv:
            Path(argv[list(argv).index("--output") + 1]).write_bytes(output)
            return ToolRun(code, "", "")
        return ToolRun(code, output.decode("utf-8", "replace"), "")

    module = SCANNERS[scanner][0].__module__
    with (
        mock.patch(f"{module}.run_tool", fake_run),
        mock.patch(f"{module}.find_tool", lambda tool: f"/fuzz/{tool}"),
    ):
        if scanner != "semgrep":
            yield
            return
        # the shipped rules take a second to parse; they are not what is fuzzed here
        with mock.patch(f"{module}.load_rule_set", lambda _paths: _shipped_rules()):
            yield


@functools.cache
def _shipped_rules() -> Any:
    return load_rule_set([])


def tree(root: Path, scanner: str) -> tuple[str, ...]:
    if scanner == "pip-audit":
        lines = [f"{name}=={version}" for name, version in PINS.items()]
        (root / "requirements.txt").write_text("\n".join(lines) + "\n")
        return ("requirements.txt",)
    for name, text in SOURCES.items():
        (root / name).write_text(text)
    return tuple(SOURCES)


def outcome(tmp_path: Path, scanner: str, output: bytes, code: int = 0) -> ScannerResult | None:
    """The scan's result, or None when it ended in a clean ScannerFailure."""
    root = tmp_path / "tree"
    root.mkdir(parents=True, exist_ok=True)
    files = tree(root, scanner)
    context = ScanContext(root=root, files=files, timeout=60, options={"cache": False})
    try:
        with tool_printing(scanner, output, code):
            return SCANNERS[scanner][0]().scan(context)
    except ScannerFailure as exc:
        assert exc.reason and len(exc.reason) < 5000, exc.reason
        return None


def check(tmp_path: Path, scanner: str, report: Any, output: bytes, code: int = 0) -> None:
    result = outcome(tmp_path, scanner, output, code)
    if result is None or result.errors:
        return
    # a result without errors must say something the report really says
    _, _, clean = SCANNERS[scanner]
    assert result.findings or clean(report, tree(tmp_path / "tree", scanner)), (report, result)
    assert result.files_scanned == result.files_requested


def dump(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON value that a mutation can hit."""
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths_of(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths_of(inner, (*prefix, index))
    return found


def mutate(report: Any, where: tuple[Any, ...], new: Any, delete: bool) -> Any:
    if not where:
        return new
    report = json.loads(json.dumps(report, allow_nan=True))
    parent = report
    for step in where[:-1]:
        parent = parent[step]
    if delete:
        del parent[where[-1]]
    else:
        parent[where[-1]] = new
    return report


@st.composite
def mutated_reports(draw: st.DrawFn, scanner: str) -> Any:
    report = SCANNERS[scanner][1](list(SOURCES) if scanner != "pip-audit" else [])
    for _ in range(draw(st.integers(1, 3))):
        places = paths_of(report)
        leaves = [p for p in places if not isinstance(_at(report, p), dict | list)]
        # mostly scalar leaves (line numbers, offsets, names), sometimes whole containers
        where = draw(
            st.sampled_from(leaves) if leaves and draw(st.booleans()) else st.sampled_from(places)
        )
        # half the replacements are extreme values: they are what parsers forget
        new = draw(st.one_of(HUGE, values))
        report = mutate(report, where, new, delete=draw(st.integers(0, 3)) == 0)
    return report


def _at(value: Any, where: tuple[Any, ...]) -> Any:
    for step in where:
        value = value[step]
    return value


for _name in SCANNERS:

    def _make(scanner: str) -> None:
        @SETTINGS
        @given(report=mutated_reports(scanner), code=st.sampled_from([0, 1]))
        def test_mutated_report(tmp_path: Path, report: Any, code: int) -> None:
            check(tmp_path, scanner, report, dump(report), code)

        @SETTINGS
        @given(report=values)
        def test_random_json(tmp_path: Path, report: Any) -> None:
            check(tmp_path, scanner, report, dump(report))

        @SETTINGS
        @given(output=st.binary(max_size=300))
        def test_random_bytes(tmp_path: Path, output: bytes) -> None:
            try:
                report = json.loads(output)
            except ValueError:
                report = None
            check(tmp_path, scanner, report, output)

        slug = scanner.replace("-", "_")
        for test in (test_mutated_report, test_random_json, test_random_bytes):
            test.__name__ = f"{test.__name__}_{slug}"
            globals()[test.__name__] = test

    _make(_name)


@pytest.mark.parametrize("scanner", sorted(SCANNERS))
def test_every_extreme_value_in_every_place(tmp_path: Path, scanner: str) -> None:
    """The sweep random draws rarely complete: each extreme value (and a deletion) in each
    place of a valid report, one at a time."""
    templates = [SCANNERS[scanner][1](list(SOURCES))]
    if scanner == "bandit":
        # a file whose metrics count a nosec sends bandit's results through the second
        # (--ignore-nosec) pass and its comparison: sweep that path too
        templates.append(mutate(templates[0], ("metrics", "./a.py", "nosec"), 1, delete=False))
    for t, template in enumerate(templates):
        for n, where in enumerate(paths_of(template)):
            for m, new in enumerate([*EXTREMES, None, [], {}]):
                report = mutate(template, where, new, delete=False)
                check(tmp_path / f"{t}-{n}-{m}", scanner, report, dump(report), 0)
            if where:
                report = mutate(template, where, None, delete=True)
                check(tmp_path / f"{t}-{n}-del", scanner, report, dump(report), 0)


def test_the_unmutated_reports_give_findings(tmp_path: Path) -> None:
    """The templates are real reports: without mutation each scanner finds what they list."""
    for scanner, (_, template, _) in SCANNERS.items():
        report = template(list(SOURCES))
        found = 0 if scanner == "semgrep" else 1  # the exit code each tool uses for "found"
        result = outcome(tmp_path / scanner, scanner, dump(report), found)
        assert result is not None and not result.errors, (scanner, result)
        assert len(result.findings) == 1, (scanner, result.findings)
