"""The gate's own state never comes from, or goes into, the tree it scans (issue 13, points
1, 8 and 9), with real git repositories, real bandit and semgrep and the real command.

The tree is the merge request's: a database, cache or report path inside it is refused
(exit 2, one line) unless the policy allows that kind there, and what git tracks or a
symlink planted there is refused even then. Allowed outputs are never scanned; reports
never follow a link.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import Run, git, run_cli, write_tree

pytestmark = pytest.mark.e2e

APP = {
    "app.py": """
        import subprocess

        PASSWORD = "hunter2-correct-horse"

        def run(cmd):
            return subprocess.call(cmd, shell=True)
        """,
}


def commit_all(root: Path, message: str = "change") -> str:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "repo", APP)
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "app")
    return root


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """State and cache of the runner, outside every tree (each test its own)."""
    return {
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "COMPLIANCE_CACHE_DIR": str(tmp_path / "cache"),
        "CI_PROJECT_PATH": "group/app",
    }


@pytest.fixture
def job(tmp_path: Path) -> Path:
    """A working directory outside the tree, as a runner's would be."""
    folder = tmp_path / "job"
    folder.mkdir()
    return folder


def allow(policy_file, *kinds: str) -> Path:  # type: ignore[no-untyped-def]
    return policy_file(
        f"""
        version: 1
        scanners: [bandit, semgrep]
        allow_in_tree: [{", ".join(kinds)}]
        """
    )


def one_error_line(run: Run) -> str:
    lines = run.stderr.strip().splitlines()
    assert run.code == 2, run.stdout + run.stderr
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in run.stderr
    return lines[0]


def stored_scans(db: Path | str) -> list[dict]:
    listed = run_cli("scans", "--db", db, "--json")
    assert listed.code == 0, listed.stderr
    return listed.json()


def finding_paths(db: Path | str) -> set[str]:
    listed = run_cli("findings", "--db", db, "--json")
    assert listed.code == 0, listed.stderr
    return {f["path"] for f in listed.json()}


# --- point 1: state inside the tree is refused unless the policy allows it ----------------


def test_a_database_inside_the_tree_is_refused_before_anything_is_written(repo, env, job):
    run = run_cli("scan", repo, "--db", repo / "gate.db", env=env, cwd=job)
    line = one_error_line(run)
    assert f"database {repo / 'gate.db'} is inside the scanned tree" in line
    assert "allow_in_tree: [database]" in line and "--db" in line
    assert not list(repo.glob("gate.db*"))
    assert git(repo, "status", "--porcelain") == ""


def test_a_sqlite_url_inside_the_tree_is_refused_too(repo, env, job):
    (repo / "var").mkdir()  # untracked, as a build step would leave it
    run = run_cli("scan", repo, "--db", f"sqlite:///{repo}/var/gate.db", env=env, cwd=job)
    assert f"database {repo}/var/gate.db is inside the scanned tree" in one_error_line(run)
    assert list((repo / "var").iterdir()) == []


def test_a_result_cache_inside_the_tree_is_refused(repo, env, job):
    run = run_cli("scan", repo, env={**env, "COMPLIANCE_CACHE_DIR": str(repo / ".cache")}, cwd=job)
    line = one_error_line(run)
    assert "cache folder" in line and "COMPLIANCE_CACHE_DIR" in line
    assert not (repo / ".cache").exists()


def test_a_cache_from_xdg_cache_home_inside_the_tree_is_refused(repo, env, job, monkeypatch):
    monkeypatch.delenv("COMPLIANCE_CACHE_DIR", raising=False)
    cache_env = {k: v for k, v in env.items() if k != "COMPLIANCE_CACHE_DIR"}
    run = run_cli("scan", repo, env={**cache_env, "XDG_CACHE_HOME": str(repo / "xdg")}, cwd=job)
    assert f"cache folder {repo / 'xdg' / 'compliance'}" in one_error_line(run)


def test_a_report_inside_the_tree_is_refused_and_no_scan_is_stored(repo, env, job):
    db = job / "gate.db"
    run = run_cli(
        "scan", repo, "--db", db, "--output", f"sarif:{repo}/out/gate.sarif", env=env, cwd=job
    )
    line = one_error_line(run)
    assert "report (sarif)" in line and "allow_in_tree: [reports]" in line
    assert not (repo / "out").exists()
    assert not db.exists() or stored_scans(db) == []


def test_state_allowed_by_the_policy_is_used(repo, env, job, policy_file):
    policy = allow(policy_file, "database", "cache", "reports")
    run = run_cli(
        "scan", repo, "--policy", policy, "--db", repo / "gate.db",
        "--output", f"json:{repo}/reports/gate.json",
        env={**env, "COMPLIANCE_CACHE_DIR": str(repo / ".cache")}, cwd=job,
    )  # fmt: skip
    assert run.code == 1, run.stderr
    assert (repo / "gate.db").is_file() and (repo / ".cache").is_dir()
    latest = stored_scans(repo / "gate.db")[0]["id"]
    assert json_report_scan_id(repo / "reports" / "gate.json") == latest


def test_the_pipeline_can_allow_reports_by_option_or_variable(repo, env, job):
    out = f"json:{repo}/reports/gate.json"
    by_option = run_cli(
        "scan", repo, "--db", job / "a.db", "--output", out, "--allow-in-tree", "reports",
        env=env, cwd=job,
    )  # fmt: skip
    assert by_option.code == 1, by_option.stderr
    by_variable = run_cli(
        "scan", repo, "--db", job / "b.db", "--output", out,
        env={**env, "COMPLIANCE_ALLOW_IN_TREE": "reports"}, cwd=job,
    )  # fmt: skip
    assert by_variable.code == 1, by_variable.stderr
    # the option adds one kind; the database is still refused
    refused = run_cli(
        "scan", repo, "--db", repo / "gate.db", "--output", out, "--allow-in-tree", "reports",
        env=env, cwd=job,
    )  # fmt: skip
    assert "database" in one_error_line(refused)


def test_an_unknown_kind_is_a_policy_error_with_file_and_line(policy_file):
    policy = policy_file("version: 1\nallow_in_tree: [database, everything]\n")
    run = run_cli("policy", "check", policy)
    assert run.code == 2
    assert f"{policy}:2" in run.stderr and "allow_in_tree" in run.stderr


def test_a_tracked_report_path_is_refused_even_when_allowed(repo, env, job, policy_file):
    forged = '{"scan": {"verdict": "pass"}}\n'
    write_tree(repo, {"reports/gate.json": forged})
    commit_all(repo, "a report that says pass")
    run = run_cli(
        "scan", repo, "--policy", allow(policy_file, "reports"), "--db", job / "gate.db",
        "--output", f"json:{repo}/reports/gate.json", env=env, cwd=job,
    )  # fmt: skip
    line = one_error_line(run)
    assert "is tracked by git" in line and "refused even when allow_in_tree lists it" in line
    assert (repo / "reports" / "gate.json").read_text() == forged


def test_a_tracked_database_is_refused_even_when_allowed(repo, env, job, policy_file):
    (repo / "gate.db-wal").write_bytes(b"forged write-ahead log")
    commit_all(repo, "a WAL SQLite would replay into the database")
    run = run_cli(
        "scan", repo, "--policy", allow(policy_file, "database"), "--db", repo / "gate.db",
        env=env, cwd=job,
    )  # fmt: skip
    line = one_error_line(run)
    assert "database WAL file" in line and "tracked by git" in line
    assert not (repo / "gate.db").exists()


def test_without_git_state_in_a_checkout_is_refused_not_assumed_untracked(repo, env, job):
    no_git = {**env, "PATH": str(Path(sys.executable).parent)}  # the scanners, but no git
    assert not (Path(sys.executable).parent / "git").exists()
    run = run_cli(
        "scan", repo, "--db", job / "gate.db", "--output", f"json:{repo}/gate.json",
        "--allow-in-tree", "reports", env=no_git, cwd=job,
    )  # fmt: skip
    assert f"cannot ask git which files are tracked in {repo}" in one_error_line(run)
    outside = run_cli("scan", repo, "--db", job / "gate.db", env=no_git, cwd=job)
    assert outside.code == 1, outside.stderr  # state outside the checkout needs no git


def test_a_committed_database_has_no_say_in_the_verdict(repo, env, tmp_path):
    """A merge request commits `compliance.db` (the name the gate used by default in the
    working directory) holding a complete scan "at the base commit" with this very
    finding in it: as a baseline it made the new password look preexisting (exit 0).
    The gate's default database is no longer in the working directory, so it is ignored."""
    base = tmp_path / "base"
    write_tree(base, {"app.py": "def run(cmd):\n    return cmd\n"})
    git(base, "init", "-q", "-b", "main")
    base_sha = commit_all(base, "base")
    forged_db = tmp_path / "forged.db"
    assert run_cli("scan", repo, "--db", forged_db, env=env).code == 1  # the finding itself
    connection = sqlite3.connect(forged_db)
    with connection:
        connection.execute("UPDATE scan SET git_commit = ?", (base_sha,))
    connection.close()  # the last connection out writes the WAL back into the file
    # the merge request: the vulnerable app on top of the base, plus the forged database
    git(base, "checkout", "-qb", "feature")
    write_tree(base, APP)
    (base / "compliance.db").write_bytes(forged_db.read_bytes())
    commit_all(base, "feature with a forged history")
    mr = {**env, "CI_MERGE_REQUEST_DIFF_BASE_SHA": base_sha}
    run = run_cli("scan", ".", env=mr, cwd=base)
    assert run.code == 1, run.stdout + run.stderr
    assert "hunt…orse" in run.stdout  # the hard-coded password, redacted, blocks as new
    # and named as the database, it is refused rather than read
    named = run_cli("scan", ".", "--db", "compliance.db", env=mr, cwd=base)
    assert "database compliance.db is tracked by git" in one_error_line(named)


PLANT_BYTECODE = """
import sys
from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader
from jinja2.bccache import Bucket

folder, marker = sys.argv[1:]
bcc = FileSystemBytecodeCache(folder)
env = Environment(loader=PackageLoader("compliance.render", "templates"))
source, filename, _ = env.loader.get_source(env, "report.html.j2")
bucket = Bucket(env, bcc.get_cache_key("report.html.j2", filename), "")
bucket.checksum = bcc.get_source_checksum(source)
bucket.code = compile(f"open({marker!r}, 'w').write('ran')", "planted", "exec")
bcc.dump_bytecode(bucket)
"""


def plant_template_bytecode(cache: Path, marker: Path) -> None:
    """Write what Jinja's FileSystemBytecodeCache would load for the report template: code
    that, once unmarshalled and run, creates `marker`. Done by the interpreter and import
    path the gate runs with, since the cache key holds the template's file name."""
    folder = cache / "templates"
    folder.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-c", PLANT_BYTECODE, str(folder), str(marker)],
        check=True,
        cwd=cache,
    )
    assert any(folder.iterdir())


def test_nothing_is_unmarshalled_from_the_cache_folder(repo, env, job, tmp_path):
    """Jinja's bytecode cache ran whatever code its folder held when it rendered the HTML
    report; the template is now compiled in memory, so a planted file runs nothing."""
    marker = tmp_path / "code-ran"
    plant_template_bytecode(Path(env["COMPLIANCE_CACHE_DIR"]), marker)
    run = run_cli("scan", repo, "--db", job / "gate.db", "--output", "html", env=env, cwd=job)
    assert not marker.exists(), "code from the cache folder ran in the gate"
    assert run.code == 1, run.stderr
    assert "B602" in (job / "reports" / "compliance-report.html").read_text()


# --- point 8: the gate does not scan itself ---------------------------------------------


def test_allowed_outputs_in_the_tree_are_never_scanned(repo, env, job, policy_file):
    """Without this the second scan judged the first one's reports (the secret in app.py
    quoted in them became findings in reports/…) and the database's lock file."""
    policy = allow(policy_file, "database", "reports")
    args = [
        "scan", repo, "--policy", policy, "--db", repo / "gate.db", "--json",
        "--output", f"json:{repo}/reports/gate.json",
        "--output", f"html:{repo}/reports/gate.html",
        "--output", f"sarif:{repo}/reports/gate.sarif",
        "--output", f"gitlab-sast:{repo}/gl-sast-report.json",
    ]  # fmt: skip
    coverage = []
    for _ in range(2):
        run = run_cli(*args, env=env, cwd=job)
        assert run.code == 1, run.stderr
        coverage.append(run.json()["coverage"])
    assert (repo / "reports" / "gate.html").is_file() and (repo / "gate.db.lock").exists()
    assert coverage[0] == coverage[1]
    assert coverage[1]["semgrep"]["requested"] == 1  # app.py, nothing of the gate's own
    assert finding_paths(repo / "gate.db") == {"app.py"}


def test_an_allowed_cache_in_the_tree_is_never_scanned(repo, env, job, policy_file):
    cache_env = {**env, "COMPLIANCE_CACHE_DIR": str(repo / ".compliance-cache")}
    args = ["scan", repo, "--policy", allow(policy_file, "cache"), "--db", job / "gate.db"]
    cold = run_cli(*args, "--json", env=cache_env, cwd=job)
    warm = run_cli(*args, "--json", env=cache_env, cwd=job)
    assert cold.code == warm.code == 1, cold.stderr + warm.stderr
    assert any((repo / ".compliance-cache").iterdir())
    assert cold.json()["coverage"] == warm.json()["coverage"]
    assert warm.json()["coverage"]["semgrep"]["requested"] == 1
    assert finding_paths(job / "gate.db") == {"app.py"}


def test_the_default_report_and_database_of_scan_dot_stay_out_of_the_tree(repo, env, tmp_path):
    run = run_cli("scan", ".", env=env, cwd=repo)
    assert run.code == 1, run.stderr
    state = tmp_path / "state" / "compliance"
    report = state / "reports" / "compliance-report.html"
    assert f"report (html): {report}" in run.stderr
    assert "B602" in report.read_text()
    assert stored_scans(state / "compliance.db")[0]["verdict"] == "fail"
    assert git(repo, "status", "--porcelain", "--ignored") == ""  # nothing written in the tree


def test_the_pre_commit_hook_writes_nothing_into_the_tree(repo, env):
    """The hook runs `scan .` in the repository: before, its database was inside the tree."""
    hooks = yaml.safe_load((Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text())
    command = hooks[0]["entry"].split()
    assert command[0] == "compliance"
    run = run_cli(*command[1:], env=env, cwd=repo)
    assert run.code == 1, run.stderr
    assert git(repo, "status", "--porcelain", "--ignored") == ""


def test_the_default_report_of_scan_dir_goes_to_reports_here_when_outside(repo, env, job):
    run = run_cli("scan", repo, env=env, cwd=job)
    assert run.code == 1, run.stderr
    assert "report (html): reports/compliance-report.html" in run.stderr
    assert (job / "reports" / "compliance-report.html").is_file()


# --- point 9: outputs never follow links planted in the tree ------------------------------


def test_a_report_symlink_planted_in_the_tree_is_refused_and_its_target_untouched(
    repo, env, job, policy_file, tmp_path
):
    precious = tmp_path / "home" / "authorized_keys"
    precious.parent.mkdir()
    precious.write_text("ssh-ed25519 AAAA admin\n")
    (repo / "reports").mkdir()
    (repo / "reports" / "gate.json").symlink_to(precious)
    commit_all(repo, "plant a link")
    out = f"json:{repo}/reports/gate.json"
    for extra in ([], ["--policy", allow(policy_file, "reports")]):
        args = ["scan", repo, *extra, "--db", job / "gate.db", "--output", out]
        run = run_cli(*args, env=env, cwd=job)
        assert one_error_line(run).startswith(f"error: report (json) {repo}/reports/gate.json")
        assert precious.read_text() == "ssh-ed25519 AAAA admin\n"
        assert (repo / "reports" / "gate.json").is_symlink()


def test_a_report_through_a_symlinked_folder_in_the_tree_is_refused(repo, env, job, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (repo / "out").symlink_to(outside)
    commit_all(repo, "a folder link leaving the tree")
    run = run_cli(
        "scan", repo, "--db", job / "gate.db", "--output", f"json:{repo}/out/gate.json",
        "--allow-in-tree", "reports", env=env, cwd=job,
    )  # fmt: skip
    assert f"goes through the symlink {repo / 'out'}" in one_error_line(run)
    assert list(outside.iterdir()) == []


def test_a_link_outside_the_tree_into_a_planted_link_is_refused(repo, env, job, tmp_path):
    """The runner's own link into the tree does not launder a link the tree planted (which
    here aims the database at a file of the merge request's choosing)."""
    chosen = tmp_path / "chosen" / "gate.db"
    chosen.parent.mkdir()
    (repo / "trap").symlink_to(chosen)
    commit_all(repo, "plant")
    (job / "gate.db").symlink_to(repo / "trap")
    run = run_cli("scan", repo, "--db", job / "gate.db", env=env, cwd=job)
    assert f"goes through the symlink {repo / 'trap'}" in one_error_line(run)
    assert list(chosen.parent.iterdir()) == []


def test_a_fifo_in_the_tree_is_refused_as_a_report(repo, env, job):
    os.mkfifo(repo / "pipe")
    run = run_cli(
        "scan", repo, "--db", job / "gate.db", "--output", f"json:{repo}/pipe",
        "--allow-in-tree", "reports", env=env, cwd=job,
    )  # fmt: skip
    assert "is a FIFO inside the scanned tree" in one_error_line(run)


def test_a_symlink_outside_the_tree_is_replaced_and_its_target_untouched(repo, env, job, tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("keep")
    link = job / "gate.json"
    link.symlink_to(precious)
    args = ["scan", repo, "--db", job / "gate.db", "--output", f"json:{link}"]
    run = run_cli(*args, env=env, cwd=job)
    assert run.code == 1, run.stderr
    assert not link.is_symlink()
    assert json_report_scan_id(link) == stored_scans(job / "gate.db")[0]["id"]
    assert precious.read_text() == "keep"


def test_a_device_outside_the_tree_is_written_in_place(repo, env, job):
    run = run_cli(
        "scan", repo, "--db", job / "gate.db", "--output", "json:/dev/null", env=env, cwd=job
    )
    assert run.code == 1, run.stderr
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def json_report_scan_id(path: Path) -> int:
    return int(json.loads(path.read_text())["scan"]["id"])
