"""`compliance scan` end to end with the real bandit, through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import SINKS_BLOCK, run_cli, sinks_policy, write_tree

pytestmark = pytest.mark.e2e

VULNERABLE = {
    "app.py": """
        import subprocess

        def refund(order_id):
            return subprocess.call("refund " + order_id, shell=True)

        def health():
            return subprocess.call("true", shell=True)  # nosec
        """,
    "lib/crypto.py": """
        import hashlib

        def token(pan):
            return hashlib.md5(pan.encode()).hexdigest()
        """,
}
CLEAN = {"app.py": "def add(a, b):\n    return a + b\n"}


def bandit_json(root: Path, *extra: str) -> dict:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "bandit"), "-r", ".", "-f", "json", "-q", *extra],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return json.loads(proc.stdout)


def findings(db: str, *extra: str) -> list[dict]:
    run = run_cli("findings", "--db", db, "--json", *extra)
    assert run.code == 0, run.stderr
    return run.json()


def scans(db: str) -> list[dict]:
    return run_cli("scans", "--db", db, "--json").json()


def test_vulnerable_tree_blocks_and_matches_bandits_own_count(tmp_path, db):
    tree = write_tree(tmp_path / "repo", VULNERABLE)
    run = run_cli("scan", tree, "--db", db, "--policy", sinks_policy(tmp_path / "trusted"))
    assert run.code == 1, run.stdout + run.stderr
    assert "verdict: FAIL (exit 1)" in run.stdout
    assert "app.py:4" in run.stdout  # the blocking finding, with file:line
    stored = findings(db)
    counted = [f for f in stored if f["status"] != "suppressed"]
    assert len(counted) == len(bandit_json(tree)["results"])
    suppressed = [f for f in stored if f["status"] == "suppressed"]
    unsuppressed_total = len(bandit_json(tree, "--ignore-nosec")["results"])
    assert len(suppressed) == unsuppressed_total - len(counted) == 2  # B602 and B607
    assert {(f["path"], f["line"]) for f in suppressed} == {("app.py", 7)}
    for key in (
        "fingerprint",
        "scanner",
        "rule_id",
        "severity",
        "path",
        "line",
        "host",
        "package",
        "version",
        "status",
        "title",
    ):
        assert key in stored[0]
    md5 = next(f for f in stored if f["rule_id"] == "B324")
    assert md5["path"] == "lib/crypto.py" and md5["line"] == 4
    assert "CWE-327" in md5["references"]
    assert "hashlib.md5" in md5["evidence"]
    (scan,) = scans(db)
    assert scan["status"] == "complete" and scan["verdict"] == "fail"
    assert scan["coverage"]["bandit"] == {"requested": 2, "scanned": 2}


def test_clean_tree_passes(tmp_path, db):
    tree = write_tree(tmp_path / "repo", CLEAN)
    run = run_cli("scan", tree, "--db", db)
    assert run.code == 0, run.stdout + run.stderr
    assert "verdict: PASS (exit 0)" in run.stdout
    assert findings(db) == []


def test_unparseable_file_exits_2_and_names_it(tmp_path, db):
    tree = write_tree(tmp_path / "repo", {**CLEAN, "broken.py": "def oops(:\n"})
    run = run_cli("scan", tree, "--db", db)
    assert run.code == 2
    assert "bandit: bandit could not scan the file" in run.stderr
    assert "broken.py" in run.stderr and "exclude" in run.stderr
    (scan,) = scans(db)
    assert scan["status"] == "errored" and scan["verdict"] == "error"


def test_excluding_the_unparseable_file_deliberately_passes(tmp_path, db, policy_file):
    tree = write_tree(tmp_path / "repo", {**CLEAN, "templates/broken.py": "{{ x }}\n"})
    policy = policy_file("exclude: ['templates/']\n")
    run = run_cli("scan", tree, "--db", db, "--policy", policy)
    assert run.code == 0, run.stderr
    assert scans(db)[0]["coverage"]["bandit"] == {"requested": 1, "scanned": 1}


def test_bandit_config_excludes_apply_only_when_the_policy_says_so(tmp_path, db, policy_file):
    tree = write_tree(
        tmp_path / "repo",
        {
            **CLEAN,
            "vendored/bad.py": "import subprocess\nsubprocess.call(cmd, shell=True)\n",
            "pyproject.toml": "[tool.bandit]\nexclude_dirs = ['vendored']\n",
        },
    )
    policy = policy_file(SINKS_BLOCK)  # the bare shell=True blocks
    run = run_cli("scan", tree, "--db", db, "--policy", policy)  # repository_config: report
    assert run.code == 1, run.stdout + run.stderr
    assert "would exclude 1 file: vendored/bad.py" in run.stdout
    policy = policy_file(SINKS_BLOCK + "repository_config: apply\n")
    run = run_cli("scan", tree, "--db", db, "--policy", policy)
    assert run.code == 0, run.stdout + run.stderr
    assert "excluded files (applied, 1): vendored/bad.py" in run.stdout


def test_inserted_lines_keep_fingerprints_and_fixed_findings_are_marked(tmp_path, db):
    tree = write_tree(tmp_path / "repo", VULNERABLE)
    policy = ("--policy", sinks_policy(tmp_path / "trusted"))  # the bare shell=True blocks
    assert run_cli("scan", tree, "--db", db, *policy, "--target", "payments").code == 1
    before = {f["rule_id"]: f for f in findings(db)}

    app = tree / "app.py"
    app.write_text("# a new header\n# more\n\n" + app.read_text())
    assert run_cli("scan", tree, "--db", db, *policy, "--target", "payments").code == 1
    after = {f["rule_id"]: f for f in findings(db)}
    assert after["B602"]["line"] == before["B602"]["line"] + 3
    assert after["B602"]["fingerprint"] == before["B602"]["fingerprint"]
    assert after["B324"]["fingerprint"] == before["B324"]["fingerprint"]

    (tree / "lib" / "crypto.py").write_text(
        "import hashlib\n\ndef token(pan):\n    return hashlib.sha256(pan.encode()).hexdigest()\n"
    )
    assert run_cli("scan", tree, "--db", db, *policy, "--target", "payments").code == 1
    fixed = findings(db, "--status", "fixed")
    assert [f["fingerprint"] for f in fixed] == [before["B324"]["fingerprint"]]
    assert all(f["rule_id"] != "B324" for f in findings(db))


def test_checkout_elsewhere_keeps_fingerprints(tmp_path, db):
    one = write_tree(tmp_path / "one" / "repo", VULNERABLE)
    two = write_tree(tmp_path / "two" / "clone", VULNERABLE)
    run_cli("scan", one, "--db", db, "--target", "t")
    first = sorted(f["fingerprint"] for f in findings(db))
    run_cli("scan", two, "--db", db, "--target", "t")
    assert sorted(f["fingerprint"] for f in findings(db)) == first


def test_bandit_missing_from_path_and_venv_exits_2(tmp_path, db):
    """Run the package from a bare interpreter copy whose bin dir has no bandit, on a
    machine with no other Python (no pyenv, no uv): nothing can run bandit."""
    tree = write_tree(tmp_path / "repo", CLEAN)
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    site = next(p for p in sys.path if p.endswith("site-packages"))
    env = {
        **os.environ,
        "PATH": "/nonexistent",
        "PYTHONPATH": f"{Path.cwd()}:{site}",
        "PYENV_ROOT": "/nonexistent",
        "UV_PYTHON_INSTALL_DIR": "/nonexistent",
    }
    env.pop("COMPLIANCE_DB", None)
    proc = subprocess.run(
        [str(bare / "python"), "-m", "compliance", "scan", str(tree), "--db", db],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "bandit is not installed" in proc.stderr


def test_tiny_timeout_exits_2(tmp_path, db, policy_file):
    tree = write_tree(tmp_path / "repo", VULNERABLE)
    policy = policy_file("per_scanner:\n  bandit:\n    timeout: 0.01\n")
    # an empty result cache: with the tree's results cached, bandit would not run at all
    env = {"COMPLIANCE_CACHE_DIR": str(tmp_path / "cache")}
    run = run_cli("scan", tree, "--db", db, "--policy", policy, env=env)
    assert run.code == 2
    assert "bandit did not finish within 0.01s" in run.stderr


def fake_bandit(tmp_path: Path, body: str) -> dict[str, str]:
    """A stand-in bandit for faults the real one cannot be made to show."""
    script = tmp_path / "fake-bandit"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return {"COMPLIANCE_BANDIT_BIN": str(script)}


VERSION_OK = """
import sys
if "--version" in sys.argv:
    print("bandit 9.9.9"); sys.exit(0)
"""


def test_bad_policy_exits_2_and_keeps_what_is_stored(tmp_path, db, policy_file):
    tree = write_tree(tmp_path / "repo", CLEAN)
    assert run_cli("scan", tree, "--db", db).code == 0
    policy = policy_file("gate:\n  fail_on: hihg\n")
    run = run_cli("scan", tree, "--db", db, "--policy", policy)
    assert run.code == 2
    assert f"{policy}:2: gate.fail_on:" in run.stderr
    assert "Traceback" not in run.stderr
    assert len(scans(db)) == 1


def test_not_a_directory_exits_2(tmp_path, db):
    run = run_cli("scan", tmp_path / "missing", "--db", db)
    assert run.code == 2
    assert "not a directory" in run.stderr


def test_empty_tree_cannot_pass_silently(tmp_path, db):
    tree = tmp_path / "empty"
    tree.mkdir()
    run = run_cli("scan", tree, "--db", db)
    assert run.code == 2
    assert "no file in the tree matched any scanner" in run.stderr


def test_waive_then_scan_passes_and_expired_waiver_blocks_again(tmp_path, db, policy_file):
    tree = write_tree(tmp_path / "repo", VULNERABLE)
    policy = policy_file("gate: {fail_on: high}\n")
    assert run_cli("scan", tree, "--db", db, "--policy", policy).code == 1
    blocking = [f for f in findings(db) if f["blocking"]]
    for f in blocking:
        run = run_cli(
            "waive",
            f["fingerprint"],
            "--reason",
            "reviewed: constant input",
            "--approver",
            "alice",
            "--expires",
            (date.today() + timedelta(days=300)).isoformat(),
            "--policy",
            policy,
            "--file",  # the pipeline's own waiver file, beside its policy
            policy.parent / "waivers.yml",
            "--db",
            db,
            "--requested-by",
            "rita",
        )
        assert run.code == 0, run.stderr
    run = run_cli("scan", tree, "--db", db, "--policy", policy)
    assert run.code == 0, run.stdout
    assert {f["status"] for f in findings(db) if f["severity"] == "high"} == {"waived"}

    waivers = policy.parent / "waivers.yml"
    soon = (date.today() + timedelta(days=300)).isoformat()
    waivers.write_text(waivers.read_text().replace(soon, "2020-01-31"))
    run = run_cli("scan", tree, "--db", db, "--policy", policy)
    assert run.code == 1
    assert "waiver expired on 2020-01-31" in run.stdout


def test_unused_waiver_is_reported(tmp_path, db, policy_file):
    tree = write_tree(tmp_path / "repo", CLEAN)
    policy = policy_file(
        "{}\n",
        waivers="waivers:\n  - fingerprint: deadbeef\n    reason: old "
        "stuff\n    approver: bob\n    expires: 2099-01-01\n",
    )
    run = run_cli("scan", tree, "--db", db, "--policy", policy)
    assert run.code == 0
    assert "unused waiver (matched nothing; remove it?): deadbeef" in run.stdout


def test_policy_check_command(tmp_path, policy_file):
    good = policy_file("gate: {fail_on: medium}\n")
    assert run_cli("policy", "check", good).code == 0
    bad = tmp_path / "bad.yml"
    bad.write_text("gate:\n  fail_on: medium\n  bogus: 1\n")
    run = run_cli("policy", "check", good, bad)
    assert run.code == 2
    assert f"{bad}:3: gate.bogus: unknown key" in run.stderr


def test_corrupt_database_is_a_clear_error(tmp_path):
    tree = write_tree(tmp_path / "repo", CLEAN)
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database" * 100)
    run = run_cli("scan", tree, "--db", broken)
    assert run.code == 2
    assert "cannot open database" in run.stderr and "Traceback" not in run.stderr


def test_sigterm_kills_the_tool_and_stores_the_scan_as_interrupted(tmp_path, db):
    """Mock: a stand-in bandit that hangs, so the signal arrives mid-scan deterministically."""
    pidfile = tmp_path / "tool.pid"
    env = fake_bandit(
        tmp_path,
        VERSION_OK
        + f"""
import os, time
open({str(pidfile)!r}, "w").write(str(os.getpid()))
time.sleep(120)
""",
    )
    tree = write_tree(tmp_path / "repo", CLEAN)
    full_env = {**os.environ, **env}
    full_env.pop("COMPLIANCE_DB", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "compliance", "scan", str(tree), "--db", db],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(300):
        if pidfile.exists() and pidfile.read_text():
            break
        time.sleep(0.1)
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "interrupted" in err
    tool_pid = int(pidfile.read_text())
    assert (
        not Path(f"/proc/{tool_pid}").exists()
        or "Z" in Path(f"/proc/{tool_pid}/stat").read_text().split()[2]
    )
    (scan,) = scans(db)
    assert scan["status"] == "interrupted" and scan["verdict"] == "error"


def test_nosec_is_honoured_as_bandit_honours_it_when_only_some_files_hold_one(tmp_path, db):
    """Files without `nosec` in their bytes run with --ignore-nosec (no tokenizer pass, see
    bandit.py): the verdict must not move. A UTF-7 file spells its `# nosec` as `+AG4-osec`
    (no `nosec` in its bytes) and bandit still honours it, so the gate must too."""
    tree = tmp_path / "repo"
    tree.mkdir()
    (tree / "plain.py").write_text('import subprocess\nsubprocess.call("x", shell=True)\n')
    (tree / "marked.py").write_text(
        'import subprocess\nsubprocess.call("x", shell=True)  # nosec\n'
        'subprocess.call("y", shell=True)\n'
    )
    (tree / "seven.py").write_bytes(
        b"# -*- coding: utf-7 -*-\nimport subprocess\n"
        b'subprocess.call("x", shell=True)  # +AG4-osec\nsubprocess.call("y", shell=True)\n'
    )
    run = run_cli("scan", tree, "--db", db)
    assert run.code == 0, run.stdout + run.stderr  # literal commands: low findings only
    assert "4 suppressed" in run.stdout

    def key(path: str, line: int, rule: str) -> tuple[str, int, str]:
        return (path.removeprefix("./"), line, rule)

    stored = [f for f in findings(db) if f["scanner"] == "bandit"]
    counted = {
        key(f["path"], f["line"], f["rule_id"]) for f in stored if f["status"] != "suppressed"
    }
    own = {key(r["filename"], r["line_number"], r["test_id"]) for r in bandit_json(tree)["results"]}
    assert counted == own
    suppressed = {
        key(f["path"], f["line"], f["rule_id"]) for f in stored if f["status"] == "suppressed"
    }
    assert suppressed == {
        (name, line, rule)
        for name, line in (("marked.py", 2), ("seven.py", 3))
        for rule in ("B602", "B607")
    }
