"""`compliance report` and `compliance scan --output` through the real command line."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET

import pytest

from compliance.store import Store
from tests import report_schemas
from tests import report_support as rs
from tests.conftest import SINKS_BLOCK, run_cli, sinks_policy, write_tree


@pytest.fixture(scope="module")
def stored_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    path = tmp_path_factory.mktemp("cli") / "store.db"
    scan_id = rs.code_history(Store.open(str(path)))
    return str(path), scan_id


@pytest.mark.parametrize(
    "fmt", ["sarif", "gitlab-sast", "gitlab-dependency-scanning", "codequality"]
)
def test_report_writes_each_json_format(stored_db, tmp_path, fmt):
    db, scan_id = stored_db
    out = tmp_path / "out" / f"report.{fmt}.json"
    run = run_cli("report", "--db", db, "--scan", str(scan_id), "--format", fmt, "--output", out)
    assert run.code == 0, run.stderr
    assert f"report ({fmt}) of scan {scan_id}: {out}" in run.stderr
    document = json.loads(out.read_text())
    assert report_schemas.errors(report_schemas.MINIMAL[fmt], document) == []


def test_a_fifo_or_device_is_written_in_place_never_replaced(stored_db, tmp_path):
    """`--output json:/dev/null` used to rename a file over /dev/null (as root: the
    machine's /dev/null became a regular file). Shown with a FIFO, which a test may break
    safely: it must still be a FIFO afterwards, and its reader gets the whole report."""
    db, scan_id = stored_db
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    run = run_cli("report", "--db", db, "--scan", str(scan_id), "--format", "json",
                  "--output", fifo)  # fmt: skip
    reader.join(timeout=60)
    assert run.code == 0, run.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert json.loads(received[0])["scan"]["id"] == scan_id


def test_a_symlink_at_the_report_path_is_replaced_never_followed(stored_db, tmp_path):
    """A link at the report path used to be followed, so a link planted in a checkout
    could aim the report at any file the job can write. Now the link itself is replaced
    by the report and the file it pointed to is left as it was."""
    db, scan_id = stored_db
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    run = run_cli("report", "--db", db, "--scan", str(scan_id), "--format", "json",
                  "--output", link)  # fmt: skip
    assert run.code == 0, run.stderr
    assert not link.is_symlink()
    assert json.loads(link.read_text())["scan"]["id"] == scan_id
    assert real.read_text() == "old"


def test_a_link_to_a_device_is_written_through(stored_db, tmp_path):
    """`--output json:/dev/stdout` (a link to /proc/self/fd/1) keeps working: a link
    outside any scanned tree to a device or pipe is written in place, not replaced."""
    db, scan_id = stored_db
    link = tmp_path / "stdout.json"
    link.symlink_to("/dev/stdout")
    run = run_cli("report", "--db", db, "--scan", str(scan_id), "--format", "json",
                  "--output", link)  # fmt: skip
    assert run.code == 0, run.stderr
    assert link.is_symlink()
    assert json.loads(run.stdout)["scan"]["id"] == scan_id


def test_report_to_stdout_and_default_html_in_reports(stored_db, tmp_path):
    db, scan_id = stored_db
    run = run_cli("report", "--db", db, "--format", "json", "--output", "-")
    assert run.code == 0, run.stderr
    assert run.json()["scan"]["id"] == scan_id
    run = run_cli("report", "--db", db, cwd=tmp_path)
    assert run.code == 0, run.stderr
    html = (tmp_path / "reports" / "compliance-report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "shop/api" in html
    run = run_cli("report", "--db", db, "--format", "junit", "--output", "-")
    assert ET.fromstring(run.stdout).tag == "testsuites"
    run = run_cli(
        "report",
        "--db",
        db,
        "--format",
        "gitlab-sast",
        "--gitlab-schema-version",
        "15.0.7",
        "--output",
        "-",
    )
    assert run.json()["version"] == "15.0.7"


def test_report_format_names_are_the_fmt_names_of_scan_output():
    """`report -f FMT` and `scan/audit -o FMT:FILE` accept the same names, from one registry."""
    from compliance.cli import audit, report, scan
    from compliance.render.outputs import parse_output
    from compliance.render.registry import FORMATS

    choices = next(p for p in report.params if p.name == "fmt").type.choices
    assert list(choices) == list(FORMATS)
    for name in choices:
        assert parse_output(f"{name}:-").format == name  # what scan/audit -o take
    for command in (scan, audit):  # and their --help names every one of them
        output_help = next(p for p in command.params if p.name == "outputs").help or ""
        assert all(name in output_help for name in FORMATS), output_help


def test_report_output_means_what_it_means_on_scan(stored_db, tmp_path):
    """-o FMT alone is FMT's conventional file, as on `scan`; a typed -f that contradicts
    -o's FMT is refused (one line, exit 2), never one of them dropped; a COMPLIANCE_FORMAT
    set for the listings yields to -o's FMT."""
    db, _ = stored_db
    alone = run_cli("report", "--db", db, "-o", "sarif", cwd=tmp_path)
    assert alone.code == 0, alone.stderr
    assert json.loads((tmp_path / "reports" / "compliance.sarif").read_text())["version"] == "2.1.0"
    clash = run_cli("report", "--db", db, "-f", "json", "-o", f"sarif:{tmp_path / 'x'}")
    assert clash.code == 2 and clash.stderr.count("\n") == 1, clash.stderr
    assert "--format json and --output" in clash.stderr and "name two formats" in clash.stderr
    assert not (tmp_path / "x").exists()
    agree = run_cli("report", "--db", db, "-f", "sarif", "-o", "sarif:-")
    assert agree.code == 0 and agree.json()["version"] == "2.1.0"
    env = run_cli("report", "--db", db, "-o", "sarif:-", env={"COMPLIANCE_FORMAT": "json"})
    assert env.code == 0 and env.json()["version"] == "2.1.0"
    unknown = run_cli("report", "--db", db, "-f", "pdf")
    assert unknown.code == 2 and "'pdf' is not one of" in unknown.stderr
    assert "cyclonedx" in unknown.stderr and "Traceback" not in unknown.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scan", "999"], "error: no scan with id 999"),
        (["--format", "gitlab-sast", "--gitlab-schema-version", "15"], "is not MAJOR.MINOR.PATCH"),
        (["--output", "/proc/no/such/dir/r.html"], "error: cannot write report /proc/no/such/dir"),
    ],
)
def test_report_errors_are_one_line_and_exit_2(stored_db, args, message):
    db, _ = stored_db
    run = run_cli("report", "--db", db, *args)
    assert run.code == 2
    assert message in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_report_on_an_empty_database_says_what_to_do(tmp_path):
    run = run_cli("report", "--db", str(tmp_path / "empty.db"))
    assert run.code == 2 and "run `compliance scan` first" in run.stderr


VULNERABLE = {
    "app.py": """
        import subprocess

        def refund(order_id):
            return subprocess.call("refund " + order_id, shell=True)
        """,
}


@pytest.mark.e2e
def test_scan_writes_the_html_report_by_default_and_outputs_on_request(tmp_path):
    tree = write_tree(tmp_path / "tree", VULNERABLE)
    work = tmp_path / "job"
    work.mkdir()
    db = str(tmp_path / "ci.db")
    policy = sinks_policy(tmp_path / "trusted")  # the bare shell=True blocks
    run = run_cli("scan", tree, "--db", db, "--policy", policy, cwd=work)
    assert run.code == 1, run.stderr
    report = work / "reports" / "compliance-report.html"
    assert "report (html): reports/compliance-report.html" in run.stderr
    assert "B602" in report.read_text()

    run = run_cli(
        "scan",
        tree,
        "--db",
        db,
        "--policy",
        policy,
        "--output",
        "sarif:out/x.sarif",
        "--output",
        "junit:out/j.xml",
        "--output",
        "gitlab-sast",
        cwd=work,
    )
    assert run.code == 1, run.stderr
    sarif = json.loads((work / "out" / "x.sarif").read_text())
    assert sarif["runs"][0]["results"][0]["ruleId"] == "B602"
    assert ET.parse(work / "out" / "j.xml").getroot().find(".//failure") is not None
    gitlab = json.loads((work / "reports" / "gl-sast-report.json").read_text())
    assert gitlab["vulnerabilities"][0]["location"]["file"] == "app.py"


@pytest.mark.e2e
def test_scan_rejects_a_bad_output_before_scanning(tmp_path):
    tree = write_tree(tmp_path / "tree", VULNERABLE)
    db = str(tmp_path / "ci.db")
    run = run_cli("scan", tree, "--db", db, "--output", "pdf:x.pdf", cwd=tmp_path)
    assert run.code == 2
    assert "unknown report format 'pdf'" in run.stderr
    assert not (tmp_path / "ci.db").exists() or run_cli("scans", "--db", db, "--json").json() == []


WAIVED_TREE = {
    **VULNERABLE,
    "tools/sync.py": """
        import subprocess

        def sync(host):
            return subprocess.call("rsync " + host, shell=True)
        """,
}
WAIVERS_AT_SCAN = """
waivers:
  - rule: B602
    path: app.py
    reason: refund ids are validated upstream
    approver: alice@example.com
    expires: 2099-06-30
  - rule: B999
    reason: a rule this tree never triggers
    approver: bob@example.com
    expires: 2099-01-31
  - rule: B602
    path: tools/**
    reason: internal tool, to be rewritten
    approver: carol@example.com
    expires: 2020-03-31
"""


@pytest.mark.e2e
def test_report_of_a_stored_scan_shows_the_waivers_of_that_scan(tmp_path, db, policy_file):
    """Waivers are kept with the scan: after the waiver file changed, the report of the old
    scan still shows the used, the unused and the expired one, as they were when it ran."""
    tree = write_tree(tmp_path / "repo", WAIVED_TREE)
    policy = policy_file(SINKS_BLOCK, waivers=WAIVERS_AT_SCAN)
    run = run_cli("scan", tree, "--db", db, "--policy", policy, "--output", "json:-")
    assert run.code == 1, run.stderr  # the expired waiver no longer covers tools/sync.py
    (policy.parent / "waivers.yml").write_text(
        "waivers:\n  - rule: B105\n    reason: rewritten since\n    approver: dave@example.com\n"
        "    expires: 2099-12-31\n"
    )

    report = run_cli("report", "--db", db, "--scan", "latest", "--format", "json", "--output", "-")
    assert report.code == 0, report.stderr
    waivers = {w["approver"]: w for w in report.json()["waivers"]}
    assert set(waivers) == {"alice@example.com", "bob@example.com", "carol@example.com"}
    assert (waivers["alice@example.com"]["state"], waivers["alice@example.com"]["findings"]) == (
        "active",
        1,
    )
    assert waivers["alice@example.com"]["expires"] == "2099-06-30"
    assert waivers["bob@example.com"]["state"] == "unused"
    assert waivers["carol@example.com"]["state"] == "expired"
    assert waivers["carol@example.com"]["expires"] == "2020-03-31"
    assert waivers["carol@example.com"]["findings"] == 1
    assert waivers["carol@example.com"]["source"].endswith("waivers.yml:11")

    html = run_cli("report", "--db", db, "--scan", "latest", "--output", "-")
    assert html.code == 0, html.stderr
    section = html.stdout.split('<section id="waivers">', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r"<tr class=\"w-(\w+)\">(.*?)</tr>", section, re.S)
    by_state = {state: row for state, row in rows}
    assert set(by_state) == {"active", "unused", "expired"}
    assert "alice@example.com" in by_state["active"] and "2099-06-30" in by_state["active"]
    assert "bob@example.com" in by_state["unused"] and "2099-01-31" in by_state["unused"]
    assert "carol@example.com" in by_state["expired"] and "2020-03-31" in by_state["expired"]
    assert "expired (debt)" in by_state["expired"]
    assert "1 expired waiver(s): security debt" in section
    assert "dave@example.com" not in section


@pytest.mark.parametrize("umask", ["027", "002"])
def test_report_files_get_the_permissions_of_the_umask(stored_db, tmp_path, umask):
    """Reports are written to a temporary file and renamed into place; mkstemp made that
    file 0600, so an HTML report was unreadable to the team and to a web server, unlike
    every other file the job writes. Run under a real umask: the report gets the mode a
    file created by the shell under that umask gets."""
    db, scan_id = stored_db
    out, other = tmp_path / "out", tmp_path / "by-the-shell"
    out.mkdir()
    command = f"umask {umask} && : > {other} && for fmt in html sarif; do " + (
        f"{sys.executable} -m compliance report --db {db} --scan {scan_id} "
        f"--format $fmt --output {out}/r.$fmt || exit 1; done"
    )
    run = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    expected = stat.S_IMODE(other.stat().st_mode)
    assert expected == 0o666 & ~int(umask, 8)
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {
        "r.html": expected,
        "r.sarif": expected,
    }
