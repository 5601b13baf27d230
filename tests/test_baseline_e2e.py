"""Diff-aware gating with real bandit and real git: only what a change introduces blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import WEB_SHELL_APP, git, run_cli, write_tree

pytestmark = pytest.mark.e2e

OLD = {"app.py": WEB_SHELL_APP}
"""A request flow into a shell that blocks under the shipped policy."""
NEW_VULN = "\n\ndef new(y):\n    import hashlib\n    return hashlib.md5(y).hexdigest()\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "repo", OLD)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "old")
    git(root, "checkout", "-qb", "feature")
    return root


def findings(db: str) -> list[dict]:
    return run_cli("findings", "--db", db, "--json").json()


def test_only_new_findings_block_against_a_git_ref(repo, db):
    (repo / "app.py").write_text((repo / "app.py").read_text() + NEW_VULN)
    git(repo, "commit", "-qam", "new")
    run = run_cli("scan", repo, "--db", db, "--baseline", "main")
    assert run.code == 1, run.stdout + run.stderr
    status = {f["rule_id"]: (f["status"], f["blocking"]) for f in findings(db)}
    assert status["B602"] == ("preexisting", False)
    assert status["B324"] == ("open", True)


def test_unchanged_branch_passes_with_preexisting_findings(repo, db):
    (repo / "README").write_text("docs only\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs")
    run = run_cli(
        "scan",
        repo,
        "--db",
        db,
        env={"CI_MERGE_REQUEST_DIFF_BASE_SHA": git(repo, "rev-parse", "main")},
    )
    assert run.code == 0, run.stdout + run.stderr
    assert {f["status"] for f in findings(db)} == {"preexisting"}
    assert run_cli("scan", repo, "--db", db, "--no-baseline").code == 1


def test_baseline_by_scan_id(repo, db):
    assert run_cli("scan", repo, "--db", db).code == 1
    first_id = run_cli("scans", "--db", db, "--json").json()[0]["id"]
    run = run_cli("scan", repo, "--db", db, "--baseline", str(first_id))
    assert run.code == 0, run.stdout + run.stderr


def test_unknown_ref_or_scan_cannot_decide(repo, db):
    run = run_cli("scan", repo, "--db", db, "--baseline", "no-such-branch")
    assert run.code == 2
    assert "baseline 'no-such-branch' is neither a scan id nor a commit" in run.stderr
    run = run_cli("scan", repo, "--db", db, "--baseline", "999")
    assert run.code == 2
    assert "no scan with id 999" in run.stderr


def test_errored_scan_is_never_a_baseline(repo, db):
    (repo / "broken.py").write_text("def x(:\n")
    assert run_cli("scan", repo, "--db", db).code == 2
    errored = run_cli("scans", "--db", db, "--json").json()[0]["id"]
    (repo / "broken.py").unlink()
    run = run_cli("scan", repo, "--db", db, "--baseline", str(errored))
    assert run.code == 2
    assert "is errored, not complete, and cannot serve as a baseline" in run.stderr
