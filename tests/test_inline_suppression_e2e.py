"""Inline suppressions are exceptions like any other (issue #13, point 5), with real git,
bandit and semgrep: a `# nosec` or `# nosemgrep` that a merge request adds does not hide a
blocking finding unless the policy allows it; one that was there at the base still hides.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli, sinks_policy
from tests.test_baseline_trust_e2e import BANDIT_ONLY, BASE, commit_all, git, new_repo

pytestmark = pytest.mark.e2e

NEW_LINE = 9  # `subprocess.call(cmd, shell=True)` in BASE + added()


def added(marker: str) -> str:
    return f"\n\ndef danger(cmd):\n    subprocess.call(cmd, shell=True)  {marker}\n"


def merge_request(repo: Path, text: str) -> None:
    git(repo, "checkout", "-qb", "feature")
    (repo / "app.py").write_text(text)
    commit_all(repo, "the merge request")


def findings(db: str) -> list[dict]:
    return run_cli("findings", "--db", db, "--json").json()


def status_at(db: str, line: int) -> tuple[str, bool]:
    (found,) = [f for f in findings(db) if f["line"] == line and f["rule_id"] == "B602"]
    return found["status"], found["blocking"]


@pytest.mark.parametrize("marker", ["# nosec", "# nosec B602"])
def test_a_new_nosec_does_not_hide_a_blocking_finding(tmp_path, db, policy_file, marker):
    policy = policy_file(BANDIT_ONLY)
    repo = new_repo(tmp_path / "repo", {"app.py": BASE})
    merge_request(repo, BASE + added(marker))

    run = run_cli("scan", repo, "--db", db, "--policy", policy, "--baseline", "main")
    assert run.code == 1, run.stdout + run.stderr
    line = f"new inline suppression at app.py:{NEW_LINE}: add a waiver or remove it"
    assert f"{line} (bandit B602)" in run.stdout.splitlines()
    assert status_at(db, NEW_LINE) == ("open", True)
    (stored,) = [f for f in findings(db) if f["line"] == NEW_LINE]
    assert stored["inline_suppressed"] is True and line in stored["note"]

    # Without a baseline (a full scan) the suppression behaves as it always did: visible.
    full = run_cli("scan", repo, "--db", db, "--policy", policy, "--no-baseline")
    assert full.code == 0, full.stdout + full.stderr
    assert status_at(db, NEW_LINE) == ("suppressed", False)
    assert "new inline suppression" not in full.stdout


@pytest.mark.parametrize("marker", ["# nosemgrep", "# nosemgrep: python-jsonpickle-decode"])
def test_a_new_nosemgrep_does_not_hide_a_blocking_finding(tmp_path, db, marker):
    """The shipped policy (bandit and semgrep) blocking jsonpickle.decode whatever flows in;
    bandit has no jsonpickle rule."""
    policy = sinks_policy(tmp_path / "policy", more=("python-jsonpickle-decode",))
    repo = new_repo(
        tmp_path / "repo", {"load.py": "import json\n\n\ndef load(b):\n    return json.loads(b)\n"}
    )
    git(repo, "checkout", "-qb", "feature")
    (repo / "load.py").write_text(
        f"import jsonpickle\n\n\ndef load(b):\n    return jsonpickle.decode(b)  {marker}\n"
    )
    commit_all(repo, "the merge request")

    run = run_cli("scan", repo, "--db", db, "--policy", policy, "--baseline", "main")
    assert run.code == 1, run.stdout + run.stderr
    assert (
        "new inline suppression at load.py:5: add a waiver or remove it "
        "(semgrep python-jsonpickle-decode)" in run.stdout.splitlines()
    )
    (hit,) = [f for f in findings(db) if f["rule_id"] == "python-jsonpickle-decode"]
    assert (hit["status"], hit["blocking"], hit["inline_suppressed"]) == ("open", True, True)


@pytest.mark.parametrize("baseline", ["stored scan", "worktree"])
def test_a_suppression_from_the_base_still_hides_and_only_the_new_one_blocks(
    tmp_path, db, policy_file, baseline
):
    policy = policy_file(BANDIT_ONLY)
    old = BASE + "\n\ndef old(cmd):\n    subprocess.call(cmd, shell=True)  # nosec\n"
    repo = new_repo(tmp_path / "repo", {"app.py": old})
    if baseline == "stored scan":
        assert run_cli("scan", repo, "--db", db, "--policy", policy).code == 0
    git(repo, "checkout", "-qb", "docs")
    (repo / "README").write_text("docs only\n")
    commit_all(repo, "docs")

    docs = run_cli("scan", repo, "--db", db, "--policy", policy, "--baseline", "main")
    assert docs.code == 0, docs.stdout + docs.stderr
    assert status_at(db, 9) == ("suppressed", False)
    assert "new inline suppression" not in docs.stdout

    (repo / "app.py").write_text(old + added("# nosec").replace("danger", "worse"))
    commit_all(repo, "one more")
    run = run_cli("scan", repo, "--db", db, "--policy", policy, "--baseline", "main")
    assert run.code == 1, run.stdout + run.stderr
    listed = [ln for ln in run.stdout.splitlines() if ln.startswith("new inline suppression")]
    assert listed == [
        "new inline suppression at app.py:13: add a waiver or remove it (bandit B602)"
    ]
    assert status_at(db, 9) == ("suppressed", False)
    assert status_at(db, 13) == ("open", True)
    assert ("stored" if baseline == "stored scan" else "afresh") in docs.stdout


def test_the_policy_may_allow_new_inline_suppressions(tmp_path, db, policy_file):
    policy = policy_file(BANDIT_ONLY + "exceptions:\n  new_inline_suppressions: allow\n")
    repo = new_repo(tmp_path / "repo", {"app.py": BASE})
    merge_request(repo, BASE + added("# nosec"))

    run = run_cli("scan", repo, "--db", db, "--policy", policy, "--baseline", "main")
    assert run.code == 0, run.stdout + run.stderr
    assert status_at(db, NEW_LINE) == ("suppressed", False)
    assert (
        f"new inline suppression at app.py:{NEW_LINE} (bandit B602; allowed by policy)"
        in run.stdout.splitlines()
    )


def test_a_waiver_accepts_a_new_inline_suppression(tmp_path, db, policy_file):
    policy = policy_file(
        BANDIT_ONLY.replace("waivers: null", "waivers: waivers.yml"), "waivers: []\n"
    )
    repo = new_repo(tmp_path / "repo", {"app.py": BASE})
    merge_request(repo, BASE + added("# nosec"))
    assert run_cli("scan", repo, "--db", db, "--policy", policy, "--baseline", "main").code == 1
    (blocked,) = [f for f in findings(db) if f["blocking"]]

    (policy.parent / "waivers.yml").write_text(
        "waivers:\n"
        f"  - fingerprint: {blocked['fingerprint']}\n"
        "    reason: the command is a constant list\n"
        "    approver: alice\n"
        "    expires: 2099-01-31\n"
    )
    run = run_cli("scan", repo, "--db", db, "--policy", policy, "--baseline", "main")
    assert run.code == 0, run.stdout + run.stderr
    assert status_at(db, NEW_LINE) == ("waived", False)
    assert f"new inline suppression at app.py:{NEW_LINE} (bandit B602; waived:" in run.stdout
