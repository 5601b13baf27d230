"""The terminal and pipe behaviour of the real command (issue 17): colour and progress on a
terminal only (a real tmux pane), plain text when piped, one document per stream, a closed
pipe, option checks, and user errors as one line with exit 2."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import git, run_cli, write_tree
from tests.tty import ESC, run_on_tty

TREE = {
    "app.py": "import hashlib\n\nprint(hashlib.md5(b'x').hexdigest())\n",
    "ok.py": "print('hello')\n",
}


def _tree(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "tree", TREE)
    git(root, "init", "-q")
    return root


def _env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_STATE_HOME": str(tmp_path / "state")}


def test_scan_on_a_terminal_has_colour_progress_and_a_table(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    screen = run_on_tty(
        ["scan", str(root), "--db", str(tmp_path / "db.sqlite")], tmp_path, _env(tmp_path)
    )
    assert screen.code == 1, screen.plain
    assert ESC in screen.text  # colour codes
    plain = screen.plain
    # progress: the overall count and one row per scanner with counts and elapsed time
    assert re.search(r"scanners\s+3/3 done", plain), plain  # bandit, semgrep, pip-audit
    bandit_row = next(line for line in plain.splitlines() if "bandit" in line and "files," in line)
    assert "findings, ok" in bandit_row and "0:00:" in bandit_row, bandit_row
    # the summary table: a header row with the columns
    assert any(
        line.split()[:3] == ["scanner", "version", "files"] for line in plain.splitlines()
    ), plain
    assert "verdict: FAIL (exit 1)" in plain


def test_scan_piped_is_plain_text_without_progress(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    run = run_cli("scan", root, "--db", tmp_path / "db.sqlite", env=_env(tmp_path))
    assert run.code == 1, run.stdout + run.stderr
    assert "\x1b" not in run.stdout + run.stderr
    assert "done" not in run.stderr and "0:00:" not in run.stderr  # no progress
    assert "verdict: FAIL (exit 1)" in run.stdout.splitlines()
    assert any(
        line.startswith("  bandit ") and "files," in line for line in run.stdout.splitlines()
    )


def test_color_always_and_no_color(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    db = tmp_path / "db.sqlite"
    forced = run_cli("scan", root, "--db", db, "--color", "always", env=_env(tmp_path))
    assert "\x1b[" in forced.stdout and "verdict: FAIL" in forced.stdout
    screen = run_on_tty(
        ["scan", str(root), "--db", str(db)], tmp_path, {**_env(tmp_path), "NO_COLOR": "1"}
    )
    assert "verdict: FAIL (exit 1)" in screen.plain
    assert "\x1b[3" not in screen.text and "\x1b[1m" not in screen.text, screen.text  # no colour
    never = run_on_tty(
        ["scan", str(root), "--db", str(db), "--color", "never"], tmp_path, _env(tmp_path)
    )
    assert "\x1b[3" not in never.text, never.text


def test_json_on_stdout_summary_and_progress_on_the_terminal(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    out = tmp_path / "stdout.json"
    screen = run_on_tty(
        ["scan", str(root), "--db", str(tmp_path / "db.sqlite"), "--json"],
        tmp_path,
        _env(tmp_path),
        redirect_stdout=out,
    )
    assert screen.code == 1
    document = json.loads(out.read_text())  # stdout holds the JSON alone
    assert document["verdict"] == "fail"
    assert "verdict: FAIL (exit 1)" in screen.plain  # the summary went to stderr
    assert "3/3 done" in screen.plain  # bandit, semgrep, pip-audit


def test_piped_json_and_report_to_stdout_one_document_each(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    db = tmp_path / "db.sqlite"
    run = run_cli("scan", root, "--db", db, "-o", "sarif:-", env=_env(tmp_path))
    assert json.loads(run.stdout)["version"] == "2.1.0"
    assert "verdict: FAIL (exit 1)" in run.stderr
    both = run_cli("scan", root, "--db", db, "--json", "-o", "sarif:-", env=_env(tmp_path))
    assert both.code == 2 and both.stdout == ""
    assert "stdout holds one" in both.stderr and len(both.stderr.strip().splitlines()) == 1
    two = run_cli("scan", root, "--db", db, "-o", "json:-", "-o", "sarif:-", env=_env(tmp_path))
    assert two.code == 2 and "2 documents" in two.stderr


def _to_a_closed_pipe(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """`compliance ARGS | head` when head has already left: the read end is closed before
    the command writes a byte, so its first write meets a closed pipe (EPIPE), every time."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "compliance", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    return proc.returncode, proc.stderr.decode()


def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """No traceback, no "Exception ignored", exit 2 (not all that was asked was delivered),
    for a listing, a JSON document and a report; and a real `| head -c1` leaving midway
    through 3 MB of findings ends without a word on stderr."""
    root = _tree(tmp_path)
    db = tmp_path / "db.sqlite"
    for _ in range(2):
        run_cli("scan", root, "--db", db, env=_env(tmp_path))
    for args in (["scans"], ["findings", "--json"], ["report", "-o", "json:-"]):
        code, err = _to_a_closed_pipe([*args, "--db", str(db)], _env(tmp_path))
        assert code == 2 and err == "", (args, code, err)
    big = write_tree(tmp_path / "big", {"app.py": "import hashlib\n" + TREE["app.py"] * 3000})
    run_cli("scan", big, "--db", db, env=_env(tmp_path))  # 3000 findings: far past a pipe buffer
    head = subprocess.run(
        f"set -o pipefail; {shlex.quote(sys.executable)} -m compliance findings "
        f"--db {shlex.quote(str(db))} --json | head -c1",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        env={**os.environ, **_env(tmp_path)},
        timeout=300,
        check=False,
    )
    assert head.stdout == "[" and head.stderr == "", head.stderr
    # the command's own code (pipefail): 2 when a write met the closed pipe; 0 when CPython
    # took head's leaving as a short write of one large echo and wrote no more
    assert head.returncode in (0, 2)


def test_option_checks_and_one_line_errors(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    status = run_cli("findings", "--db", db, "--status", "opne")
    assert status.code == 2 and "'opne' is not one of" in status.stderr
    negative = run_cli("scans", "--db", db, "--limit", "-1")
    assert negative.code == 2 and "-1 is not in the range" in negative.stderr
    plain = write_tree(tmp_path / "not-git", TREE)
    baseline = run_cli("scan", plain, "--db", db, "--baseline", "origin/main", env=_env(tmp_path))
    assert baseline.code == 2, baseline.stdout + baseline.stderr
    assert baseline.stderr.count("\n") == 1 and "not in a git work tree" in baseline.stderr
    assert "--no-baseline" in baseline.stderr  # what to do
    assert not db.exists() or "scan" not in run_cli("scans", "--db", db).stdout  # nothing ran
    broken = tmp_path / "broken.yml"
    broken.write_text("fail_on: sometimes\n")
    bad = run_cli("scan", plain, "--db", db, "--policy", broken, env=_env(tmp_path))
    assert bad.code == 2 and "Traceback" not in bad.stderr
    assert all(line.startswith("error: ") for line in bad.stderr.strip().splitlines())
    assert "pydantic" not in bad.stderr and "<" not in bad.stderr


def test_options_from_the_environment_and_in_help(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    run_cli("scan", _tree(tmp_path), "--db", db, env=_env(tmp_path))
    listed = subprocess.run(  # not run_cli: it drops COMPLIANCE_DB on purpose
        [sys.executable, "-m", "compliance", "scans"],
        env={**os.environ, "COMPLIANCE_DB": str(db), "COMPLIANCE_FORMAT": "json"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["verdict"] == "fail"
    help_text = run_cli("scan", "--help").stdout
    assert "COMPLIANCE_POLICY" in help_text and "COMPLIANCE_OUTPUT" in help_text
    # --limit (COMPLIANCE_LIMIT) is a count; an audit's hosts are --hosts (COMPLIANCE_HOSTS)
    negative = run_cli("scans", "--db", db, env={"COMPLIANCE_LIMIT": "-3"})
    assert negative.code == 2 and "-3 is not in the range" in negative.stderr
    assert "COMPLIANCE_LIMIT" in negative.stderr and "Traceback" not in negative.stderr
    one = run_cli("scans", "--db", db, "--json", env={"COMPLIANCE_LIMIT": "1"})
    assert one.code == 0 and len(one.json()) == 1
    audit_help = run_cli("audit", "--help").stdout
    assert "--hosts" in audit_help and "COMPLIANCE_HOSTS" in audit_help
    assert "--limit" not in audit_help and "COMPLIANCE_LIMIT" not in audit_help


def _unreachable_inventory(tmp_path: Path) -> Path:
    inventory = tmp_path / "inv.yml"
    inventory.write_text("hosts:\n  a: {address: 127.0.0.1, port: 9}\n")
    return inventory


def test_audit_hosts_and_the_old_limit_spelling(tmp_path: Path) -> None:
    """`--hosts` selects hosts; `audit --limit NAME` and COMPLIANCE_LIMIT=NAME still do, with
    a warning (never widened to the whole fleet); COMPLIANCE_LIMIT=5, the listings' count, is
    not a host name. An unknown name is refused before any host is contacted."""
    base = ("audit", "--inventory", _unreachable_inventory(tmp_path), "--db", tmp_path / "db")
    hosts = run_cli(*base, "--hosts", "nosuch")
    assert hosts.code == 2 and "--hosts nosuch: no such host or group" in hosts.stderr
    assert "warning" not in hosts.stderr, hosts.stderr
    old = run_cli(*base, "--limit", "nosuch")
    assert old.code == 2 and "--hosts nosuch: no such host or group" in old.stderr
    assert "warning: --limit NAME on audit is deprecated: it is now --hosts" in old.stderr
    from_env = run_cli(*base, env={"COMPLIANCE_LIMIT": "nosuch"})
    assert from_env.code == 2 and "--hosts nosuch: no such host" in from_env.stderr
    assert "warning: COMPLIANCE_LIMIT naming hosts is deprecated" in from_env.stderr
    both = run_cli(*base, env={"COMPLIANCE_LIMIT": "nosuch", "COMPLIANCE_HOSTS": "other"})
    assert "--hosts other: no such host" in both.stderr
    assert "--hosts, given too, wins" in both.stderr
    count = run_cli(*base, "-f", "json", env={"COMPLIANCE_LIMIT": "5"})
    assert count.code == 2 and "warning" not in count.stderr, count.stderr
    assert json.loads(count.stdout)["kind"] == "hosts"  # host a was audited (unreachable)


def test_audit_takes_format_and_output_as_scan_does(tmp_path: Path) -> None:
    """Checked before any host is contacted: two documents for stdout, an unknown format."""
    inventory = _unreachable_inventory(tmp_path)
    base = ("audit", "--inventory", inventory, "--db", tmp_path / "db.sqlite")
    two = run_cli(*base, "--json", "-o", "sarif:-")
    assert two.code == 2 and "2 documents asked for standard output" in two.stderr, two.stderr
    assert two.stdout == ""
    unknown = run_cli(*base, "-f", "json", "-o", "pdf:x.pdf")
    assert unknown.code == 2 and "unknown report format 'pdf'" in unknown.stderr
    assert "cyclonedx" in unknown.stderr  # every format the registry renders is accepted


def test_file_names_are_never_markup(tmp_path: Path) -> None:
    """A hostile tree names a file like rich markup: it is printed as written."""
    root = write_tree(tmp_path / "tree", {"[bold red]x[/].py": TREE["app.py"]})
    screen = run_on_tty(
        ["scan", str(root), "--db", str(tmp_path / "db.sqlite"), "-v"], tmp_path, _env(tmp_path)
    )
    assert "[bold red]x[/].py" in screen.plain, screen.plain


def test_a_host_policy_given_as_audit_policy_is_named(tmp_path: Path) -> None:
    """--policy is the gate policy on every command; the old meaning on `audit` is caught
    before any host is contacted, with the option to use instead."""
    inventory = tmp_path / "inv.yml"
    inventory.write_text("hosts:\n  a: {address: 127.0.0.1}\n")
    host_policy = Path(__file__).resolve().parents[1] / "policies/hosts/linux-baseline.yml"
    run = run_cli(
        "audit", "--inventory", inventory, "--policy", host_policy, "--db", tmp_path / "db.sqlite"
    )
    assert run.code == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "a host policy given as --policy" in run.stderr and "--host-policy" in run.stderr


def test_quiet_verbose_and_report_output_with_a_format(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    db = tmp_path / "db.sqlite"
    quiet = run_cli("scan", root, "--db", db, "-q", env=_env(tmp_path))
    assert quiet.code == 1 and quiet.stdout.splitlines()[0] == "verdict: FAIL (exit 1)"
    assert "bandit" not in quiet.stdout and "report (html)" not in quiet.stderr
    verbose = run_cli("scan", root, "--db", db, "-v", env=_env(tmp_path))
    assert "blocking:" in verbose.stdout and "app.py:3" in verbose.stdout
    # --output means FMT[:FILE] on `report` too; a plain FILE takes --format's format
    as_json = run_cli("report", "--db", db, "-o", "json:-")
    assert json.loads(as_json.stdout)["format"] == "compliance-report"
    sarif = run_cli("report", "--db", db, "-f", "sarif", "-o", tmp_path / "r.sarif")
    assert sarif.code == 0 and json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"
