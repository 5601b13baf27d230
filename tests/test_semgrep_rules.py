"""The shipped semgrep rule packs, tested by semgrep itself.

Every rule file `policies/semgrep/<name>.yml` has test targets `tests/semgrep_rules/<name>.*`
(or files under `tests/semgrep_rules/<name>/`, for a pack that reads only some paths) whose
`# ruleid:` / `# ok:` annotations say exactly which lines the rule must and must not report.
`semgrep --test` checks both directions with semgrep's Python CLI; the same annotations are
checked again through our scanner, which runs semgrep's OCaml CLI on the resolved
config (the engine the gate uses; it has no `--test` for this layout). The tests here also
make sure no rule goes without a true- and a false-positive case, and that every rule
carries the metadata the findings and reports rely on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from compliance.paths import shipped_policy
from compliance.scanners import semgrep as semgrep_scanner
from compliance.scanners.interface import ScanContext
from compliance.scanners.process import find_tool
from compliance.scanners.semgrep import SemgrepScanner

RULES_DIR = shipped_policy("semgrep")
TARGETS_DIR = Path(__file__).parent / "semgrep_rules"
ANNOTATION = re.compile(r"(?:#|<!--)[ \t]*(ruleid|ok):[ \t]*([\w.-]+(?:[ \t]*,[ \t]*[\w.-]+)*)")
"""`# ruleid: a, b` in code, `<!-- ruleid: a -->` in templates (semgrep --test reads both)."""
OWN_LINE = ("#", "<!--")


def _rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml"))


def _rules() -> list[tuple[Path, dict]]:
    return [
        (path, rule) for path in _rule_files() for rule in yaml.safe_load(path.read_text())["rules"]
    ]


def _target_files(root: Path) -> list[str]:
    """Every test target, relative to `root`: a pack's targets are `<pack>.*` files or files
    under a `<pack>/` folder (semgrep --test pairs them by the first path part; the folder
    holds targets whose pack reads only some paths, such as templates/)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _pack_of_target(name: str) -> str:
    return name.split("/", 1)[0].split(".", 1)[0]


def _annotations(stem: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"ruleid": set(), "ok": set()}
    for name in _target_files(TARGETS_DIR):
        target = TARGETS_DIR / name
        if _pack_of_target(name) != stem:
            continue
        for kind, ids in ANNOTATION.findall(target.read_text()):
            found[kind].update(i.strip() for i in ids.split(",") if i.strip())
    return found


@pytest.mark.e2e
def test_semgrep_test_mode_passes_for_every_rule_file() -> None:
    run = subprocess.run(
        [
            find_tool("semgrep"),
            "scan",
            "--test",
            "--metrics=off",
            "--disable-version-check",
            "--config",
            str(RULES_DIR),
            str(TARGETS_DIR),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0"},
        timeout=600,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    passed = re.search(r"(\d+)/(\d+): ✓ All tests passed", output)
    assert passed, output[-3000:]
    assert int(passed.group(1)) == int(passed.group(2)) == len(_rules())


def _expected_lines(target: Path) -> dict[str, set[tuple[int, str]]]:
    """semgrep --test's reading: an annotation on a comment line of its own is about the
    next line, one after code is about its own line."""
    found: dict[str, set[tuple[int, str]]] = {"ruleid": set(), "ok": set()}
    for number, line in enumerate(target.read_text().splitlines(), start=1):
        for kind, ids in ANNOTATION.findall(line):
            about = number + 1 if line.lstrip().startswith(OWN_LINE) else number
            found[kind].update((about, i.strip()) for i in ids.split(",") if i.strip())
    return found


@pytest.mark.e2e
@pytest.mark.parametrize(
    "engine", [semgrep_scanner.ENGINE_ARGS, ()], ids=["ocaml-cli", "python-cli"]
)
def test_annotations_hold_through_the_gates_own_semgrep_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: tuple[str, ...]
) -> None:
    """Both engines, so `ENGINE_ARGS = ()` stays a working way back to the Python CLI."""
    monkeypatch.setattr(semgrep_scanner, "ENGINE_ARGS", engine)
    root = tmp_path / "targets"
    shutil.copytree(TARGETS_DIR, root)
    files = tuple(_target_files(root))
    result = SemgrepScanner().scan(
        ScanContext(root=root, files=files, timeout=600, options={"cache": False})
    )
    assert result.errors == ()
    assert result.files_scanned == result.files_requested == len(files)
    pack_of = {rule["id"]: path.stem for path, rule in _rules()}
    reported = {
        (f.location.path, f.location.start_line, f.rule_id)
        for f in result.findings
        if not f.suppressed
    }
    checked = 0
    for name in files:
        stem = _pack_of_target(name)
        expected = _expected_lines(root / name)
        own = {(line, rule) for path, line, rule in reported if path == name}
        own = {(line, rule) for line, rule in own if pack_of.get(rule) == stem}
        assert own == expected["ruleid"], name
        assert not own & expected["ok"], name
        checked += len(expected["ruleid"]) + len(expected["ok"])
    assert checked >= 2 * len(_rules())


@pytest.mark.parametrize("path", _rule_files(), ids=lambda p: p.name)
def test_every_rule_has_true_and_false_positive_cases(path: Path) -> None:
    rules = {rule["id"] for rule in yaml.safe_load(path.read_text())["rules"]}
    annotations = _annotations(path.stem)
    assert rules - annotations["ruleid"] == set(), "rules without a '# ruleid:' case"
    assert rules - annotations["ok"] == set(), "rules without an '# ok:' case"


@pytest.mark.parametrize("item", _rules(), ids=lambda item: item[1]["id"])
def test_every_rule_carries_the_metadata_reports_need(item: tuple[Path, dict]) -> None:
    path, rule = item
    assert rule["message"].strip()
    assert rule["severity"] in {"ERROR", "WARNING", "INFO"}
    meta = rule["metadata"]
    assert meta["confidence"] in {"HIGH", "MEDIUM", "LOW"}
    assert any(re.match(r"CWE-\d+", c) for c in meta["cwe"])
    assert any(re.match(r"A\d{2}:\d{4}", o) for o in meta["owasp"])
    if path.stem.startswith("secrets"):
        assert meta.get("secret") is True, "secrets rules must be redacted"


def test_rule_ids_are_unique_across_packs() -> None:
    ids = [rule["id"] for _, rule in _rules()]
    assert len(ids) == len(set(ids))


WEB_PACKS = ("web", "web-config", "web-templates")


def _web_rules() -> list[tuple[Path, dict]]:
    return [(path, rule) for path, rule in _rules() if path.stem in WEB_PACKS]


@pytest.mark.parametrize("item", _web_rules(), ids=lambda item: item[1]["id"])
def test_web_rules_block_only_what_data_flow_confirms(item: tuple[Path, dict]) -> None:
    """Issue 14: a taint-confirmed flaw blocks (ERROR: high), a pattern-only hint is for a
    person to judge (WARNING: medium). So every ERROR rule of the web packs is a taint rule,
    every pattern rule is a WARNING, and every CWE is named in full ("CWE-89: ...")."""
    path, rule = item
    taint = rule.get("mode") == "taint"
    assert rule["severity"] == ("ERROR" if taint else "WARNING"), rule["id"]
    assert (path.stem == "web") is taint
    assert "severity" not in rule["metadata"], "the semgrep severity decides"
    assert all(re.fullmatch(r"CWE-\d+: \S.*", c) for c in rule["metadata"]["cwe"])
    if taint:
        first = next(r for _, r in _web_rules() if r.get("mode") == "taint")
        assert rule["pattern-sources"] == first["pattern-sources"], (
            "one source list for every taint rule (the shared &request_sources)"
        )


def test_every_web_taint_rule_has_each_kind_of_case() -> None:
    """Each taint rule is tested with a flow through a helper in the same file, and with a
    value that is sanitized and one made constant by a condition (web.flask.py covers all
    three for every rule; the other frameworks' files add their sources and sinks)."""
    text = (TARGETS_DIR / "web.flask.py").read_text()
    functions = re.split(r"\n(?=@app\.route|def )", text)
    for _, rule in _web_rules():
        if rule.get("mode") != "taint":
            continue
        rid = rule["id"]
        mine = [f for f in functions if f"# ruleid: {rid}\n" in f or f"# ok: {rid}\n" in f]
        assert any(f"# ruleid: {rid}\n" in f for f in mine), rid
        assert any(f"# ok: {rid}\n" in f for f in mine), rid
        assert any(re.search(r" if .* else ", f) for f in mine), (
            f"{rid}: no value made constant by a condition"
        )
