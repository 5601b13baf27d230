"""A policy kept in the judged repository cannot be loosened by the merge request it judges.

Real git repositories, real bandit: in diff-aware mode the policy and the files it points
to are read as they were at the baseline commit (compliance/policy/pinned.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SINKS_BLOCK, WEB_SHELL_APP, git, run_cli, write_tree

pytestmark = pytest.mark.e2e

POLICY = (
    "version: 1\nscanners: [bandit]\ngate: {fail_on: high}\nwaivers: waivers.yml\n" + SINKS_BLOCK
)
LOOSE = "exclude: [app.py]\n"
VULN = WEB_SHELL_APP
"""Blocks under POLICY (bandit alone, every sink blocks) and under the shipped default (a
request flow the taint rule confirms)."""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_tree(
        tmp_path / "repo",
        {
            "app.py": "print('hello')\n",
            "lib.py": "x = 1\n",
            "ci/policy.yml": POLICY,
            "ci/waivers.yml": "waivers: []\n",
        },
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-qb", "feature")
    (root / "app.py").write_text(VULN)
    return root


def commit(root: Path) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", "change")


def scan(root: Path, db: str, *extra: str):  # type: ignore[no-untyped-def]
    return run_cli("scan", root, "--db", db, "--policy", root / "ci/policy.yml", *extra)


def test_a_loosened_policy_in_the_merge_request_does_not_judge_it(repo, db):
    (repo / "ci/policy.yml").write_text(POLICY + LOOSE)
    commit(repo)
    run = scan(repo, db, "--baseline", "main")
    assert run.code == 1, run.stdout + run.stderr
    assert "B602" in run.stdout
    assert "this change edits the policy (ci/policy.yml)" in run.stderr
    # after the merge (a full scan of the branch), the reviewed policy is the one in force
    assert scan(repo, db, "--no-baseline").code == 0


def test_a_waiver_added_beside_an_in_repo_policy_waits_for_the_merge(repo, db):
    waiver = (
        "waivers:\n  - rule: B602\n    reason: trust me\n    approver: me\n"
        "    expires: 2099-01-01\n"
    )
    (repo / "ci/waivers.yml").write_text(waiver)
    commit(repo)
    run = scan(repo, db, "--baseline", "main")
    assert run.code == 1, run.stdout + run.stderr
    assert "ci/waivers.yml" in run.stderr


def test_rule_pack_emptied_in_the_merge_request_is_read_as_committed_at_the_base(tmp_path, db):
    rule = (
        "rules:\n  - id: no-eval\n    languages: [python]\n    severity: ERROR\n"
        "    message: eval of input\n    pattern: eval(...)\n"
    )
    root = write_tree(
        tmp_path / "repo",
        {
            "app.py": "print(1)\n",
            "ci/policy.yml": "version: 1\nscanners: [semgrep]\n"
            "per_scanner: {semgrep: {rules: [rules/]}}\n",
            "ci/rules/eval.yml": rule,
        },
    )
    git(root, "init", "-q", "-b", "main")
    commit(root)
    git(root, "checkout", "-qb", "feature")
    (root / "app.py").write_text("def f(x):\n    return eval(x)\n")
    (root / "ci/rules/eval.yml").write_text(rule.replace("eval(...)", "never_called_xyz(...)"))
    commit(root)
    run = scan(root, db, "--baseline", "main")
    assert run.code == 1, run.stdout + run.stderr
    assert "no-eval" in run.stdout
    assert "ci/rules" in run.stderr


def test_a_policy_new_in_the_merge_request_is_replaced_by_the_shipped_default(repo, db):
    (repo / "ci/new-policy.yml").write_text(
        "version: 1\nscanners: [bandit]\ngate: {fail_on: critical}\n"
    )
    commit(repo)
    run = run_cli(
        "scan", repo, "--db", db, "--policy", repo / "ci/new-policy.yml", "--baseline", "main"
    )
    assert run.code == 1, run.stdout + run.stderr
    assert "is new in this change" in run.stderr


def test_a_policy_outside_the_repository_is_used_as_given(repo, db, tmp_path):
    outside = tmp_path / "pipeline-policy.yml"
    outside.write_text("version: 1\nscanners: [bandit]\n" + LOOSE)
    commit(repo)
    run = run_cli("scan", repo, "--db", db, "--policy", outside, "--baseline", "main")
    assert run.code == 0, run.stdout + run.stderr
    assert "note:" not in run.stderr
