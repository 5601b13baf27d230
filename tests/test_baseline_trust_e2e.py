"""Baselines cannot be forged (issue #13, point 2), with real git, bandit, semgrep, pip-audit.

The attack: get a scan stored at the merge request's base commit whose findings already
contain what the merge request adds — by scanning a dirty checkout of the base, another
root of a monorepo under the same target, or the same code with other rules — so that the
new `subprocess.call(cmd, shell=True)` looks preexisting. Each test would pass the attack
on a gate that reuses any complete scan at the commit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SINKS_BLOCK, Run, git, run_cli, write_tree
from tests.osv_records import write_pypa_layout

pytestmark = pytest.mark.e2e

BASE = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.run(cmd)\n"
ADDED = "\n\ndef danger(cmd):\n    subprocess.call(cmd, shell=True)\n"
BANDIT_ONLY = "version: 1\nscanners: [bandit]\nwaivers: null\n" + SINKS_BLOCK
AFRESH = "scanned afresh in a temporary worktree"


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


def new_repo(root: Path, files: dict[str, str]) -> Path:
    write_tree(root, files)
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "base")
    return root


def scan(tree: Path, db: str, *args: str | Path) -> Run:
    return run_cli("scan", tree, "--db", db, "--target", "shop", *args)


def last_scan(db: str) -> dict:
    return run_cli("scans", "--db", db, "--json", "--limit", "1").json()[0]


def blocking_rules(db: str) -> set[str]:
    found = run_cli("findings", "--db", db, "--json").json()
    return {f["rule_id"] for f in found if f["blocking"]}


@pytest.fixture
def bandit_policy(policy_file) -> Path:  # type: ignore[no-untyped-def]
    return policy_file(BANDIT_ONLY)


@pytest.mark.parametrize("how", ["modified", "untracked", "assume-unchanged"])
def test_a_dirty_scan_at_the_base_commit_is_never_the_baseline(tmp_path, db, bandit_policy, how):
    repo = new_repo(tmp_path / "repo", {"app.py": BASE})
    # The MR's code, present in the checkout of the base commit but not committed.
    path = repo / ("danger.py" if how == "untracked" else "app.py")
    text = "import subprocess\n" + ADDED if how == "untracked" else BASE + ADDED
    path.write_text(text)
    if how == "assume-unchanged":
        git(repo, "update-index", "--assume-unchanged", "app.py")
        assert git(repo, "status", "--porcelain") == ""  # git itself calls this clean
    dirty = scan(repo, db, "--policy", bandit_policy)
    assert dirty.code == 1 and "B602" in blocking_rules(db), dirty.stdout + dirty.stderr
    stored = last_scan(db)
    assert stored["git_commit"] == git(repo, "rev-parse", "HEAD")

    if how == "assume-unchanged":
        git(repo, "update-index", "--no-assume-unchanged", "app.py")
    git(repo, "checkout", "-q", "--", ".")
    git(repo, "clean", "-qfd")
    git(repo, "checkout", "-qb", "feature")
    path.write_text(text)
    commit_all(repo, "the merge request")

    run = scan(repo, db, "--policy", bandit_policy, "--baseline", "main")
    assert run.code == 1, run.stdout + run.stderr
    assert AFRESH in run.stdout
    assert "B602" in blocking_rules(db)
    assert stored["tree_dirty"] is True

    explicit = scan(repo, db, "--policy", bandit_policy, "--baseline", str(stored["id"]))
    assert explicit.code == 2, explicit.stdout + explicit.stderr
    assert (
        f"scan {stored['id']} cannot serve as a baseline: it was made from a tree with "
        "uncommitted or untracked files" in explicit.stderr
    )


def test_a_monorepo_job_never_uses_another_roots_scan_as_its_baseline(tmp_path, db, bandit_policy):
    """Two jobs under one target: services/b's scan must not be services/a's baseline, even
    though identical code at the same relative path has the same fingerprint."""
    risky = "import subprocess\n" + ADDED
    repo = new_repo(
        tmp_path / "mono",
        {"services/a/app.py": "import subprocess\n", "services/b/app.py": risky},
    )
    job_b = scan(repo / "services" / "b", db, "--policy", bandit_policy)
    assert job_b.code == 1, job_b.stdout + job_b.stderr
    other = last_scan(db)

    git(repo, "checkout", "-qb", "feature")
    (repo / "services" / "a" / "app.py").write_text(risky)
    commit_all(repo, "service a copies b")
    run = scan(repo / "services" / "a", db, "--policy", bandit_policy, "--baseline", "main")
    assert run.code == 1, run.stdout + run.stderr
    assert AFRESH in run.stdout
    assert (other["scan_root"], other["tree_dirty"]) == ("services/b", False)
    assert last_scan(db)["scan_root"] == "services/a"

    explicit = scan(
        repo / "services" / "a", db, "--policy", bandit_policy, "--baseline", other["id"]
    )
    assert explicit.code == 2
    assert "it scanned root 'services/b', this scan is of 'services/a'" in explicit.stderr


def test_a_scan_with_another_policy_is_not_reused(tmp_path, db, policy_file):
    repo = new_repo(tmp_path / "repo", {"app.py": BASE})
    first = policy_file(BANDIT_ONLY)
    assert scan(repo, db, "--policy", first).code == 0
    base_id = last_scan(db)["id"]
    other = tmp_path / "other-policy.yml"
    other.write_text(BANDIT_ONLY + "exclude: [docs/]\n")

    git(repo, "checkout", "-qb", "feature")
    (repo / "app.py").write_text(BASE + ADDED)
    commit_all(repo, "the merge request")
    run = scan(repo, db, "--policy", other, "--baseline", "main")
    assert run.code == 1 and AFRESH in run.stdout, run.stdout + run.stderr
    explicit = scan(repo, db, "--policy", other, "--baseline", base_id)
    assert explicit.code == 2
    assert "it was made with another policy" in explicit.stderr


def test_a_scan_with_other_scanners_is_not_reused(tmp_path, db, bandit_policy):
    """Same policy file; `--advisory-db` adds pip-audit to the scanners."""
    repo = new_repo(tmp_path / "repo", {"app.py": BASE, "requirements.txt": "clean-pkg==1.0\n"})
    advisories = write_pypa_layout(tmp_path / "advisories")
    assert scan(repo, db, "--policy", bandit_policy).code == 0
    base_id = last_scan(db)["id"]
    assert last_scan(db)["scanners"] == ["bandit"]

    git(repo, "checkout", "-qb", "feature")
    (repo / "app.py").write_text(BASE + ADDED)
    commit_all(repo, "the merge request")
    audit = ("--policy", bandit_policy, "--advisory-db", advisories)
    run = scan(repo, db, *audit, "--baseline", "main")
    assert run.code == 1 and AFRESH in run.stdout, run.stdout + run.stderr
    assert last_scan(db)["scanners"] == ["bandit", "pip-audit"]
    explicit = scan(repo, db, *audit, "--baseline", base_id)
    assert explicit.code == 2
    assert "it ran scanners bandit, this scan runs bandit, pip-audit" in explicit.stderr


def test_a_scan_with_other_semgrep_rules_is_not_reused(tmp_path, db, policy_file):
    """Same policy file, rules folder edited: semgrep's version label carries the rules."""
    policy = policy_file("version: 1\nscanners: [semgrep]\nwaivers: null\n"
                         "per_scanner: {semgrep: {rules: [rules/]}}\n")  # fmt: skip
    rules = policy.parent / "rules" / "rules.yml"
    rules.parent.mkdir()
    rule = (
        "rules:\n  - id: no-eval\n    message: eval runs code\n    severity: ERROR\n"
        "    languages: [python]\n    pattern: {pattern}\n"
    )
    rules.write_text(rule.format(pattern="eval(...)"))
    repo = new_repo(tmp_path / "repo", {"app.py": "def f(x):\n    return x\n"})
    assert scan(repo, db, "--policy", policy).code == 0, last_scan(db)
    rules.write_text(rule.format(pattern="exec(...)"))

    git(repo, "checkout", "-qb", "feature")
    (repo / "app.py").write_text("def f(x):\n    return eval(x)\n")
    commit_all(repo, "the merge request")
    run = scan(repo, db, "--policy", policy, "--baseline", "main")
    assert run.code == 0, run.stdout + run.stderr  # eval is no longer a finding
    assert AFRESH in run.stdout


def test_a_clean_matching_scan_is_reused(tmp_path, db, bandit_policy):
    repo = new_repo(tmp_path / "repo", {"app.py": BASE})
    assert scan(repo, db, "--policy", bandit_policy).code == 0
    base = last_scan(db)
    assert (base["tree_dirty"], base["scan_root"], base["scanners"]) == (False, ".", ["bandit"])

    git(repo, "checkout", "-qb", "feature")
    (repo / "app.py").write_text(BASE + ADDED)
    commit_all(repo, "the merge request")
    run = scan(repo, db, "--policy", bandit_policy, "--baseline", "main")
    assert run.code == 1, run.stdout + run.stderr
    commit = git(repo, "rev-parse", "main")
    assert f"baseline: scan {base['id']} (stored, of commit {commit[:12]})" in run.stdout
    assert AFRESH not in run.stdout
    used = last_scan(db)["baseline"]
    assert (used["scan_id"], used["commit"]) == (base["id"], commit)
    assert blocking_rules(db) == {"B602"}

    explicit = scan(repo, db, "--policy", bandit_policy, "--baseline", base["id"])
    assert explicit.code == 1, explicit.stdout + explicit.stderr
    assert f"baseline: scan {base['id']} (given, of commit {commit[:12]})" in explicit.stdout
