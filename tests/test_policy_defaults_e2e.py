"""Defaults are the documented ones (issue #13 point 12), with the real bandit and semgrep.

A policy file that says only `version: 1` must gate exactly like the shipped default, and a
threshold no scanner finding can reach is refused before it turns into a silent pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Run, run_cli, write_tree

pytestmark = pytest.mark.e2e

# bandit has nothing to say about this file; the shipped semgrep pack rates it high.
SEMGREP_ONLY = {
    "auth.py": """
        import jwt

        def claims(token):
            return jwt.decode(token, options={"verify_signature": False})
        """
}


def scan(tree: Path, db: str, *extra: str | Path) -> Run:
    return run_cli(
        "scan", tree, "--db", db, "--output", f"json:{tree.parent / 'report.json'}", *extra,
        env={"COMPLIANCE_CACHE_DIR": str(tree.parent / "cache")},
    )  # fmt: skip


def blocking(db: str) -> set[tuple[str, str, str]]:
    run = run_cli("findings", "--db", db, "--json")
    assert run.code == 0, run.stderr
    return {(f["scanner"], f["rule_id"], f["fingerprint"]) for f in run.json() if f["blocking"]}


def test_a_version_only_policy_gates_like_the_shipped_default(tmp_path, policy_file):
    tree = write_tree(tmp_path / "repo", SEMGREP_ONLY)
    minimal = policy_file("version: 1\n")
    shipped_db, minimal_db = str(tmp_path / "shipped.db"), str(tmp_path / "minimal.db")
    shipped_run = scan(tree, shipped_db)
    minimal_run = scan(tree, minimal_db, "--policy", minimal)
    assert shipped_run.code == 1, shipped_run.stdout + shipped_run.stderr
    assert minimal_run.code == shipped_run.code, minimal_run.stdout + minimal_run.stderr
    found = blocking(shipped_db)
    assert {(scanner, rule) for scanner, rule, _ in found} == {
        ("semgrep", "python-jwt-decode-unverified")
    }
    assert blocking(minimal_db) == found


UNREACHABLE = """
    version: 1
    per_scanner:
      bandit:
        fail_on: critical
"""


def test_policy_check_refuses_a_threshold_bandit_never_reaches(policy_file):
    path = policy_file(UNREACHABLE)
    run = run_cli("policy", "check", path)
    assert run.code == 2
    assert f"{path}:4: per_scanner.bandit.fail_on:" in run.stderr
    assert "the highest severity bandit can report with this policy is high" in run.stderr
    assert "Traceback" not in run.stderr
    reachable = policy_file("version: 1\nper_scanner:\n  pip-audit: {fail_on: critical}\n")
    assert run_cli("policy", "check", reachable).code == 0


def test_scan_refuses_a_gate_that_can_never_block(tmp_path, db, policy_file):
    tree = write_tree(
        tmp_path / "repo",
        {"app.py": "import subprocess\n\ndef run(c):\n    return subprocess.call(c, shell=True)\n"},
    )
    run = scan(tree, db, "--policy", policy_file(UNREACHABLE))
    assert run.code == 2, run.stdout + run.stderr
    assert "per_scanner.bandit.fail_on: fail_on: critical can never block" in run.stderr
    assert "verdict: PASS" not in run.stdout


def test_semgreps_reachable_severity_follows_the_rule_pack(tmp_path, db, policy_file):
    """A pack of WARNING rules rates nothing above medium: fail_on high could never block."""
    policy = policy_file("""
        version: 1
        scanners: [semgrep]
        per_scanner:
          semgrep:
            rules: [warnings.yml]
    """)
    (policy.parent / "warnings.yml").write_text(
        "rules:\n  - id: no-eval\n    message: eval of input\n    severity: WARNING\n"
        "    languages: [python]\n    pattern: eval(...)\n"
    )
    tree = write_tree(tmp_path / "repo", {"calc.py": "def calc(x):\n    return eval(x)\n"})
    run = scan(tree, db, "--policy", policy)
    assert run.code == 2, run.stdout + run.stderr
    assert "gate.fail_on:" in run.stderr and "with this policy is medium" in run.stderr
    policy.write_text(policy.read_text() + "    fail_on: medium\n")
    blocked = scan(tree, db, "--policy", policy)
    assert blocked.code == 1, blocked.stdout + blocked.stderr
