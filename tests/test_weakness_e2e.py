"""Blocking by weakness class and one issue per flaw, end to end: real bandit and real
semgrep on a real git repository, through the real command line, into every report format.
"""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import committed_repo, run_cli

pytestmark = pytest.mark.e2e

SOON = (date.today() + timedelta(days=30)).isoformat()
APP = {
    "app.py": """
        import dill
        import yaml


        def restore(blob):
            return dill.loads(blob)


        def settings(text):
            return yaml.load(text)


        def lookup(cur, name):
            cur.execute("SELECT * FROM users WHERE name = '%s'" % name)


        def query_text(name):
            return "SELECT * FROM users WHERE name = '%s'" % name
        """,
}
# Rules the table has never seen: the weakness class comes from metadata.cwe, and semgrep's
# ERROR (taint-confirmed by the packs' convention) or WARNING (a hint) decides the severity.
UNSEEN_RULES = """
    rules:
      - id: team-eval-confirmed
        languages: [python]
        severity: ERROR
        message: input reaches eval
        metadata:
          cwe: ["CWE-95: Improper Neutralization of Directives in Dynamically Evaluated Code"]
        pattern: run_code($X)
      - id: team-eval-hint
        languages: [python]
        severity: WARNING
        message: maybe input reaches eval
        metadata:
          cwe: "CWE-95: Eval Injection"
        pattern: maybe_run($X)
      - id: team-weak-hash
        languages: [python]
        severity: WARNING
        message: weak hash
        metadata:
          cwe: ["CWE-328: Use of Weak Hash"]
        pattern: weak_hash($X)
    """


repo = committed_repo


def policy(folder: Path, extra: str = "", waivers: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "policy.yml"
    text = "scanners: [bandit, semgrep]\n"
    if waivers is not None:
        (folder / "waivers.yml").write_text(textwrap.dedent(waivers).lstrip("\n"))
        text += "waivers: waivers.yml\n"
    else:
        text += "waivers: null\n"
    path.write_text(text + textwrap.dedent(extra).lstrip("\n"), encoding="utf-8")
    return path


def scan(root: Path, policy_path: Path, tmp: Path, *outputs: str):  # type: ignore[no-untyped-def]
    db = tmp / "store.db"
    argv: list[str | Path] = ["scan", root, "--policy", policy_path, "--db", db]
    for fmt in outputs:
        argv += ["--output", f"{fmt}:{tmp / ('report.' + fmt)}"]
    run = run_cli(*argv, env={"COMPLIANCE_CACHE_DIR": str(tmp / "cache")})
    stored = run_cli("findings", "--db", db, "--json")
    assert stored.code == 0, stored.stderr
    return run, stored.json()


def at(findings: list[dict], line: int) -> list[dict]:
    return [f for f in findings if f["path"] == "app.py" and f["line"] == line]


def test_same_flaw_from_both_tools_is_one_issue_everywhere(tmp_path: Path) -> None:
    """dill.loads (B301 + python-dill-load), yaml.load (B506 + python-yaml-unsafe-load)
    and SQL built in execute() (B608 + python-sql-string-built): one issue each, named by
    both tools in the store, the summary and every report format; under `sinks: block` it
    blocks at high by the table although bandit says MEDIUM, which stays visible."""
    root = repo(tmp_path / "repo", APP)
    formats = ("json", "sarif", "gitlab-sast", "junit", "codequality", "html")
    blocking = policy(tmp_path / "policy", "classification:\n  sinks: block\n")
    run, found = scan(root, blocking, tmp_path, *formats)
    out = run.stdout + run.stderr
    assert run.code == 1, out
    pairs = {6: "python-dill-load", 10: "python-yaml-unsafe-load", 14: "python-sql-string-built"}
    for line, semgrep_rule in pairs.items():
        (issue,) = at(found, line)  # one row, not two
        assert issue["scanner"] == "bandit" and issue["severity"] == "high", issue
        assert issue["tool_severity"] == "MEDIUM"
        assert [a["scanner"] for a in issue["also"]] == ["semgrep"]
        assert issue["also"][0]["rule_id"] == semgrep_rule
        assert issue["also"][0]["tool_severity"] in ("ERROR", "WARNING")  # the rule's own
        assert f"[also semgrep {semgrep_rule}]" in issue["title"]
        assert "bandit" in issue["message"] and semgrep_rule in issue["message"]
        assert f"app.py:{line}  bandit" in out and f"[also semgrep {semgrep_rule}]" in out
    assert {f["weakness"] for f in at(found, 6) + at(found, 10)} == {"CWE-502 deserialization"}
    assert at(found, 14)[0]["weakness"] == "CWE-89 sql-injection"
    # SQL built outside execute(): bandit LOW confidence, a pattern (medium), semgrep's
    # pattern rule does not fire there: reported, not blocking
    (text_sql,) = at(found, 18)
    assert (text_sql["rule_id"], text_sql["severity"], text_sql["blocking"]) == (
        "B608",
        "medium",
        False,
    )
    report = {fmt: (tmp_path / f"report.{fmt}").read_text(encoding="utf-8") for fmt in formats}
    for fmt, text in report.items():
        for semgrep_rule in pairs.values():
            assert f"also semgrep {semgrep_rule}" in text, fmt
    sarif = json.loads(report["sarif"])
    results = [r for run_ in sarif["runs"] for r in run_["results"]]
    assert (
        sum(1 for r in results if r["locations"][0]["physicalLocation"]["region"]["startLine"] == 6)
        == 1
    )
    sast = json.loads(report["gitlab-sast"])
    (dill,) = [v for v in sast["vulnerabilities"] if v["location"]["start_line"] == 6]
    assert {i["name"] for i in dill["identifiers"]} >= {"bandit B301", "semgrep python-dill-load"}
    (sarif_dill,) = [
        r for r in results if r["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
    ]
    assert sarif_dill["properties"]["also"] == ["semgrep python-dill-load"]
    assert sarif_dill["properties"]["tool-severity"] == "MEDIUM"
    quality = json.loads(report["codequality"])
    assert sum(1 for q in quality if q["location"]["lines"]["begin"] == 6) == 1
    cases = ET.fromstring(report["junit"]).iter("testcase")
    assert sum(1 for c in cases if "python-dill-load" in ET.tostring(c, encoding="unicode")) == 1
    data = json.loads(report["json"])
    listed = data["findings"] if isinstance(data, dict) else data
    assert sum(1 for f in listed if f.get("line") == 6) == 1


def test_a_waiver_of_either_tools_finding_waives_the_issue(tmp_path: Path) -> None:
    """The issue keeps bandit's fingerprint; a waiver written for semgrep's finding (by its
    fingerprint, or by its rule) applies to it all the same."""
    root = repo(tmp_path / "repo", {"app.py": APP["app.py"]})
    _, found = scan(root, policy(tmp_path / "first"), tmp_path / "first")
    (issue,) = at(found, 6)
    semgrep_print = issue["also"][0]["fingerprint"]
    for key, value in (("fingerprint", semgrep_print), ("rule", "python-yaml-unsafe-load")):
        folder = tmp_path / key
        waivers = f"""
            waivers:
              - {key}: {value}
                reason: accepted for this test
                approver: sec-team
                expires: {SOON}
            """
        run, found = scan(root, policy(folder, waivers=waivers), folder)
        line = 6 if key == "fingerprint" else 10
        (waived,) = at(found, line)
        assert waived["status"] == "waived", (key, waived)
        if key == "fingerprint":  # the issue is bandit's identity, waived by semgrep's
            assert waived["fingerprint"] == issue["fingerprint"] != semgrep_print
        assert "unused waiver" not in run.stdout


def test_identity_is_stable_when_the_second_tool_joins(tmp_path: Path) -> None:
    """bandit alone first, then bandit and semgrep: the merged issue has the fingerprint the
    bandit-only scan stored (its lifecycle and first sighting go on)."""
    root = repo(tmp_path / "repo", APP)
    bandit_only = policy(tmp_path / "b")
    bandit_only.write_text(bandit_only.read_text().replace("[bandit, semgrep]", "[bandit]"))
    _, before = scan(root, bandit_only, tmp_path)
    _, after = scan(root, policy(tmp_path / "both"), tmp_path)
    first = {f["line"]: f["fingerprint"] for f in before if f["rule_id"] == "B301"}
    merged = [f for f in after if f["rule_id"] == "B301" and f["scan_id"] == 2]
    assert merged and merged[0]["also"], after
    assert merged[0]["fingerprint"] == first[6]
    assert (
        merged[0]["first_seen_at"]
        == next(f for f in before if f["rule_id"] == "B301")["first_seen_at"]
    )


def test_rules_the_table_has_not_seen_are_judged_by_metadata_cwe(tmp_path: Path) -> None:
    """Unseen semgrep rules: CWE-95 with ERROR (taint-confirmed) is high and blocks, with
    WARNING (a hint) medium; a weak hash (not an injection class) keeps its own medium."""
    root = repo(
        tmp_path / "repo",
        {"svc.py": "run_code(a)\nmaybe_run(b)\nweak_hash(c)\n"},
    )
    folder = tmp_path / "policy"
    folder.mkdir()
    (folder / "team.yml").write_text(textwrap.dedent(UNSEEN_RULES).lstrip("\n"))
    path = policy(folder, "per_scanner:\n  semgrep:\n    rules: [team.yml]\n")
    path.write_text(path.read_text().replace("[bandit, semgrep]", "[semgrep]"))
    run, found = scan(root, path, tmp_path)
    assert run.code == 1, run.stdout + run.stderr
    by_rule = {f["rule_id"]: f for f in found}
    assert (
        by_rule["team-eval-confirmed"]["severity"],
        by_rule["team-eval-confirmed"]["blocking"],
    ) == ("high", True)
    assert by_rule["team-eval-confirmed"]["weakness"] == "CWE-95 code-injection"
    assert (by_rule["team-eval-hint"]["severity"], by_rule["team-eval-hint"]["blocking"]) == (
        "medium",
        False,
    )
    assert by_rule["team-weak-hash"]["severity"] == "medium"
    assert by_rule["team-weak-hash"]["weakness"] == "CWE-328 weak-crypto"
    assert by_rule["team-eval-hint"]["tool_severity"] == "WARNING"


def test_policy_overrides_by_rule_and_by_cwe(tmp_path: Path) -> None:
    """`classification.rules` and `.cwe` move the gate's severity; a rule wins over its CWE."""
    root = repo(tmp_path / "repo", APP)
    extra = """
        classification:
          rules: {B608: low, python-sql-string-built: low}
          cwe: {CWE-502: medium, CWE-89: high}
        """
    run, found = scan(root, policy(tmp_path / "policy", extra), tmp_path)
    assert run.code == 0, run.stdout + run.stderr  # nothing left at high
    assert {f["severity"] for f in at(found, 6) + at(found, 10)} == {"medium"}
    assert at(found, 14)[0]["severity"] == "low"


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("classification:\n  cwe: {CWE89: high}\n", "policy.yml:3"),
        ("classification:\n  rules:\n    B608: hihg\n", "policy.yml:4"),
    ],
)
def test_bad_classification_is_named_at_file_line(
    tmp_path: Path, section: str, expected: str
) -> None:
    root = repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    folder = tmp_path / "policy"
    folder.mkdir()
    path = folder / "policy.yml"
    path.write_text("scanners: [bandit]\n" + section)
    run = run_cli("scan", root, "--policy", path, "--db", tmp_path / "db.sqlite")
    assert run.code == 2
    assert expected in run.stderr and "classification" in run.stderr


SINKS = {
    "web.py": """
        import subprocess

        from flask import Flask, request

        app = Flask(__name__)


        @app.route("/run")
        def run():
            subprocess.call(request.args["cmd"], shell=True)
            return "started"


        @app.route("/uptime")
        def uptime():
            subprocess.call("uptime | tee " + UPTIME_LOG, shell=True)
            return "ok"
        """,
    "worker.py": """
        def compute(expression):
            return eval(expression)
        """,
}


@pytest.mark.parametrize(
    ("sinks", "blocking"),
    [
        ("block", {("web.py", 10), ("web.py", 16), ("worker.py", 2)}),
        ("confirmed", {("web.py", 10)}),  # only the request flow the taint rule follows
    ],
)
def test_sinks_block_or_only_a_confirmed_flow_does(tmp_path, db, policy_file, sinks, blocking):
    """classification.sinks, with real bandit and semgrep: `block` stops every sink bandit
    sees, `confirmed` keeps a constant command and a worker's eval as reported (medium)."""
    repo = committed_repo(tmp_path / "repo", SINKS)
    policy = policy_file(f"scanners: [bandit, semgrep]\nclassification:\n  sinks: {sinks}\n")
    run = run_cli("scan", repo, "--db", db, "--policy", policy, "--no-baseline")
    assert run.code == 1, run.stdout + run.stderr
    stored = run_cli("findings", "--db", db, "--json").json()
    assert {(f["path"], f["line"]) for f in stored if f["blocking"]} == blocking
    seen = {(f["path"], f["line"]): f["severity"] for f in stored if f["scanner"] == "bandit"}
    assert seen[("worker.py", 2)] == ("high" if sinks == "block" else "medium")


def test_an_unknown_sinks_value_is_a_clear_error(tmp_path, db, policy_file):
    policy = policy_file("classification:\n  sinks: sometimes\n")
    run = run_cli("scan", tmp_path, "--db", db, "--policy", policy)
    assert run.code == 2 and "classification.sinks" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
