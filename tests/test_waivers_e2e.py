"""Governed waivers end to end (issue #13 point 6): real git repositories, real bandit.

`compliance waive` writes the repository's `.compliance/waivers.yml`, never the installed
package, and refuses what a reviewer could not accept; the gate holds the waivers it finds
in the scanned tree to the same rules, so a merge request cannot waive its own finding
with a hand-written entry.
"""

from __future__ import annotations

import subprocess
import textwrap
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from compliance.paths import PACKAGE_DIR, shipped_policy
from compliance.policy import load_waivers
from tests.conftest import SINKS_BLOCK, Run, run_cli, write_tree

pytestmark = pytest.mark.e2e

TODAY = date.today()
SOON = (TODAY + timedelta(days=90)).isoformat()
APP = {
    "pkg/app.py": """
        import subprocess

        def run(cmd):
            return subprocess.call(cmd, shell=True)
        """
}
# No GitLab user unless a test names one; git's identity is the repository's own.
NO_CI_USER = {"GITLAB_USER_LOGIN": "", "GITLAB_USER_EMAIL": "", "GITLAB_USER_NAME": ""}


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(root: Path, files: dict[str, str]) -> Path:
    write_tree(root, files)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Rita Requester")
    git(root, "config", "user.email", "rita@example.org")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "app")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", APP)


@pytest.fixture
def bandit_policy(policy_file) -> Path:  # type: ignore[no-untyped-def]
    """The shipped defaults (repository_waivers included) with bandit alone, for speed."""
    return policy_file(SINKS_BLOCK + "version: 1\nscanners: [bandit]\n")


def scan(repo: Path, db: str, policy: Path | None = None) -> Run:
    args = ["scan", repo, "--db", db, "--output", f"json:{repo.parent / 'report.json'}"]
    if policy is not None:
        args += ["--policy", policy]
    return run_cli(*args, env={"COMPLIANCE_CACHE_DIR": str(repo.parent / "cache")})


def findings(db: str) -> list[dict]:
    run = run_cli("findings", "--db", db, "--json")
    assert run.code == 0, run.stderr
    return run.json()


def shell_finding(db: str) -> dict:
    (found,) = [f for f in findings(db) if f["rule_id"] == "B602"]
    return found


def waive(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> Run:
    return run_cli(
        "waive",
        *args,
        cwd=cwd,
        env={**NO_CI_USER, "GIT_CONFIG_GLOBAL": "/dev/null", **(env or {})},
    )


def test_waive_writes_the_repositorys_file_and_never_the_package(repo, db, bandit_policy):
    package_waivers = shipped_policy("waivers.yml")
    before = package_waivers.read_bytes()
    assert scan(repo, db, bandit_policy).code == 1
    fingerprint = shell_finding(db)["fingerprint"]
    run = waive(
        fingerprint[:12],  # as `compliance findings` prints it
        "--reason", "cmd is a constant from the deploy config",
        "--approver", "alice",
        "--expires", SOON,
        "--db", db,
        cwd=repo / "pkg",  # inside the repository: its top level is the default
        env={"GITLAB_USER_LOGIN": "rita"},
    )  # fmt: skip
    assert run.code == 0, run.stderr
    written = repo / ".compliance" / "waivers.yml"
    assert str(written) in run.stdout
    assert package_waivers.read_bytes() == before
    (entry,) = load_waivers(written)
    assert entry.waiver.fingerprint == fingerprint  # the prefix was expanded
    assert entry.waiver.requested_by == "rita" and entry.waiver.created == TODAY
    again = scan(repo, db, bandit_policy)
    assert again.code == 0, again.stdout + again.stderr
    assert shell_finding(db)["status"] == "waived"


def test_waive_refuses_to_write_into_the_installed_package(repo, db, bandit_policy):
    scan(repo, db, bandit_policy)
    package_waivers = PACKAGE_DIR / "policies" / "waivers.yml"
    before = package_waivers.read_bytes()
    run = waive(
        shell_finding(db)["fingerprint"], "--reason", "constant", "--approver", "alice",
        "--expires", SOON, "--db", db, "--file", package_waivers,
        cwd=repo,
    )  # fmt: skip
    assert run.code == 2
    assert "inside the installed compliance package" in run.stderr
    assert "Traceback" not in run.stderr
    assert package_waivers.read_bytes() == before


def test_waive_refuses_what_matches_nothing_in_the_store(repo, db, bandit_policy):
    scan(repo, db, bandit_policy)
    common = ("--reason", "constant", "--approver", "alice", "--expires", SOON, "--db", db)
    unknown = waive("0" * 40, *common, cwd=repo)
    assert unknown.code == 2
    assert "no stored finding has a fingerprint starting with" in unknown.stderr
    rule = waive("--rule", "B999", *common, cwd=repo)
    assert rule.code == 2 and "no stored finding of rule 'B999'" in rule.stderr
    elsewhere = waive("--rule", "B602", "--path", "vendor/**", *common, cwd=repo)
    assert elsewhere.code == 2 and "has a path matching 'vendor/**'" in elsewhere.stderr
    assert not (repo / ".compliance").exists()
    ok = waive("--rule", "B602", "--path", "pkg/*.py", *common, cwd=repo)
    assert ok.code == 0, ok.stderr


def test_an_ambiguous_prefix_names_the_candidates(tmp_path, db, bandit_policy):
    # 17 findings: by pigeonhole two fingerprints share their first hex digit
    body = "import subprocess\n" + "".join(
        f"\n\ndef run{i}(x):\n    return subprocess.call('step{i} ' + x, shell=True)\n"
        for i in range(17)
    )
    repo = make_repo(tmp_path / "many", {"jobs.py": body})
    scan(repo, db, bandit_policy)
    prints = sorted({f["fingerprint"] for f in findings(db)})
    first, count = Counter(p[0] for p in prints).most_common(1)[0]
    assert count >= 2
    run = waive(
        first, "--reason", "constant", "--approver", "alice", "--expires", SOON, "--db", db,
        cwd=repo,
    )  # fmt: skip
    assert run.code == 2
    assert f"fingerprint prefix '{first}' is ambiguous" in run.stderr
    for candidate in [p for p in prints if p.startswith(first)][:10]:
        assert candidate in run.stderr
    assert not (repo / ".compliance").exists()


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        ((TODAY - timedelta(days=1)).isoformat(), "which is in the past"),
        ((TODAY + timedelta(days=366)).isoformat(), "waivers_max_days: 365"),
    ],
)
def test_waive_refuses_an_expiry_past_or_too_far(repo, db, bandit_policy, expires, message):
    scan(repo, db, bandit_policy)
    run = waive(
        shell_finding(db)["fingerprint"], "--reason", "constant", "--approver", "alice",
        "--expires", expires, "--db", db,
        cwd=repo,
    )  # fmt: skip
    assert run.code == 2
    assert message in run.stderr
    assert not (repo / ".compliance").exists()


def test_the_policy_sets_the_longest_a_waiver_may_run(repo, db, policy_file):
    policy = policy_file(SINKS_BLOCK + "version: 1\nscanners: [bandit]\nwaivers_max_days: 30\n")
    scan(repo, db, policy)
    common = ("--reason", "constant", "--approver", "alice", "--db", db, "--policy", policy)
    fingerprint = shell_finding(db)["fingerprint"]
    late = (TODAY + timedelta(days=31)).isoformat()
    assert waive(fingerprint, *common, "--expires", late, cwd=repo).code == 2
    ok = (TODAY + timedelta(days=30)).isoformat()
    assert waive(fingerprint, *common, "--expires", ok, cwd=repo).code == 0


@pytest.mark.parametrize(
    "env",
    [
        {"GITLAB_USER_LOGIN": "alice"},  # the CI user asks and approves
        {},  # git's user.email is alice@example.org
    ],
)
def test_waive_refuses_an_approver_who_is_the_requester(repo, db, bandit_policy, env):
    git(repo, "config", "user.email", "alice@example.org")
    scan(repo, db, bandit_policy)
    run = waive(
        shell_finding(db)["fingerprint"], "--reason", "constant", "--approver", "alice",
        "--expires", SOON, "--db", db,
        cwd=repo, env=env,
    )  # fmt: skip
    assert run.code == 2
    assert "a waiver needs a second person" in run.stderr
    assert not (repo / ".compliance").exists()


def test_appending_keeps_the_comments_of_the_repositorys_file(repo, db, bandit_policy):
    existing = textwrap.dedent("""\
        # Exceptions for the payments service. Each is reviewed by security.
        waivers:
          - rule: B101        # asserts only run in tests
            path: "tests/**"
            reason: asserts in tests
            approver: bob
            expires: 2020-01-01   # long expired: kept until someone removes it

        # Remove entries once the code is fixed.
        """)
    target = repo / ".compliance" / "waivers.yml"
    target.parent.mkdir()
    target.write_text(existing)
    scan(repo, db, bandit_policy)
    run = waive(
        shell_finding(db)["fingerprint"], "--reason", "constant", "--approver", "alice",
        "--expires", SOON, "--db", db, "--requested-by", "rita",
        cwd=repo,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    text = target.read_text()
    for line in existing.splitlines():
        assert line in text.splitlines()
    assert text.rstrip().endswith("# Remove entries once the code is fixed.")
    entries = load_waivers(target)
    assert [e.waiver.rule for e in entries] == ["B101", None]
    assert entries[1].waiver.requested_by == "rita"


def hand_written(repo: Path, waiver: str) -> Path:
    target = repo / ".compliance" / "waivers.yml"
    target.parent.mkdir(exist_ok=True)
    target.write_text("# written by hand in the merge request\nwaivers:\n" + waiver)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "waive it")
    return target


def in_years(years: int) -> str:
    return (TODAY + timedelta(days=365 * years)).isoformat()


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        (f"    approver: alice\n    expires: {in_years(5)}\n", "waivers_max_days: 365"),
        (
            f"    approver: rita\n    requested_by: rita\n    expires: {SOON}\n",
            "needs a second person",
        ),
        (
            f"    approver: alice\n    created: {in_years(4)}\n    expires: {in_years(5)}\n",
            "is in the future",
        ),
    ],
    ids=["five-years", "approver-is-requester", "created-in-the-future"],
)
def test_a_hand_written_waiver_breaking_the_rules_does_not_waive(
    repo, db, bandit_policy, fields, why
):
    target = hand_written(repo, "  - rule: B602\n    reason: trust me\n" + fields)
    run = scan(repo, db, bandit_policy)
    assert run.code == 2, run.stdout + run.stderr
    assert f"{target}:3: waiver not applied" in run.stderr and why in run.stderr
    finding = shell_finding(db)
    assert finding["status"] == "open" and finding["blocking"]


def test_a_refused_waiver_downgraded_to_a_warning_still_does_not_waive(repo, db, policy_file):
    policy = policy_file(SINKS_BLOCK + "version: 1\nscanners: [bandit]\nerrors: {waivers: warn}\n")
    hand_written(
        repo, f"  - rule: B602\n    reason: trust me\n    approver: a\n    expires: {in_years(5)}\n"
    )
    run = scan(repo, db, policy)
    assert run.code == 1, run.stdout + run.stderr
    assert shell_finding(db)["status"] == "open"


def test_a_valid_hand_written_waiver_waives(repo, db, bandit_policy):
    hand_written(
        repo,
        "  - rule: B602\n    path: pkg/app.py\n    reason: cmd comes from our own config\n"
        f"    approver: alice\n    requested_by: rita\n    created: {TODAY.isoformat()}\n"
        f"    expires: {SOON}\n",
    )
    run = scan(repo, db, bandit_policy)
    assert run.code == 0, run.stdout + run.stderr
    assert shell_finding(db)["status"] == "waived"


def test_a_waiver_file_linked_from_outside_the_tree_is_refused(repo, tmp_path, db, bandit_policy):
    elsewhere = tmp_path / "elsewhere.yml"
    elsewhere.write_text(
        f"waivers:\n  - {{rule: B602, reason: looks fine, approver: alice, expires: {SOON}}}\n"
    )
    (repo / ".compliance").mkdir()
    (repo / ".compliance" / "waivers.yml").symlink_to(elsewhere)
    run = scan(repo, db, bandit_policy)
    assert run.code == 2, run.stdout + run.stderr
    assert "waiver file is a link that leaves the scanned tree" in run.stderr
    assert shell_finding(db)["status"] == "open"
