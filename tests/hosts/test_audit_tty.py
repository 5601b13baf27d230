"""`compliance audit` on a real terminal (a tmux pane) and piped, against real sshd hosts:
progress with hosts done/total and failures so far on the terminal only, colour only there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli
from tests.hosts.lab import Lab
from tests.tty import ESC, run_on_tty


def _args(lab: Lab, lab_policy: Path, tmp_path: Path) -> list[str]:
    inventory = lab.inventory(tmp_path / "fleet.yml", ["good", "bad"])
    return [
        "audit",
        "--inventory",
        str(inventory),
        "--host-policy",
        str(lab_policy),
        "--db",
        str(tmp_path / "audit.db"),
    ]


def test_audit_on_a_terminal_shows_progress_and_colour(
    lab: Lab, lab_policy: Path, tmp_path: Path
) -> None:
    screen = run_on_tty(_args(lab, lab_policy, tmp_path), tmp_path)
    assert screen.code == 1, screen.plain
    assert ESC in screen.text
    progress = next(line for line in screen.plain.splitlines() if "audited" in line)
    assert "2/2 audited" in progress and "1 failing" in progress, progress
    assert "0:00:" in progress  # elapsed time
    assert "bad: ok 3 pass, 11 fail, 2 n/a, 0 error" in screen.plain
    assert "verdict: FAIL (exit 1)" in screen.plain


def test_audit_piped_is_plain_without_progress(lab: Lab, lab_policy: Path, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "compliance", *_args(lab, lab_policy, tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "COMPLIANCE_DB"},
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "\x1b" not in run.stdout + run.stderr
    assert "audited" not in run.stderr  # no progress when stderr is not a terminal
    assert "verdict: FAIL (exit 1)" in run.stdout.splitlines()
    assert "  bad: ok 3 pass, 11 fail, 2 n/a, 0 error" in run.stdout


def test_old_gate_policy_spelling_still_works_and_warns(
    lab: Lab, lab_policy: Path, tmp_path: Path
) -> None:
    shipped = Path(__file__).resolve().parents[2] / "policies" / "default.yml"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "compliance",
            *_args(lab, lab_policy, tmp_path),
            "--limit",  # the old spelling of --hosts, also deprecated
            "good",
            "--gate-policy",
            str(shipped),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "warning: --gate-policy is deprecated" in run.stderr
    assert "warning: --limit NAME on audit is deprecated: it is now --hosts" in run.stderr
    assert "  good: ok" in run.stdout and "bad:" not in run.stdout  # still only good


def test_audit_format_output_and_hosts_mean_what_they_mean_on_scan(
    lab: Lab, lab_policy: Path, tmp_path: Path
) -> None:
    """-f json puts the stored audit's record alone on stdout (summary on stderr), -o writes
    a report as on `scan`, and COMPLIANCE_HOSTS is --hosts (here: the good host only)."""
    sarif = tmp_path / "audit.sarif"
    run = run_cli(
        *_args(lab, lab_policy, tmp_path),
        *("-f", "json", "-o", f"sarif:{sarif}"),
        env={"COMPLIANCE_HOSTS": "good"},
        cwd=tmp_path,
    )
    assert run.code == 0, run.stdout + run.stderr
    record = run.json()  # stdout holds the JSON document and nothing else
    assert record["kind"] == "hosts" and record["verdict"] == "pass", record
    assert "verdict: PASS (exit 0)" in run.stderr and "  good: ok" in run.stderr
    assert "bad:" not in run.stderr  # COMPLIANCE_HOSTS=good left the bad host out
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert f"report (sarif): {sarif}" in run.stderr


def test_audit_json_on_stdout_summary_and_progress_on_the_terminal(
    lab: Lab, lab_policy: Path, tmp_path: Path
) -> None:
    """On a terminal with stdout sent to a file: the file holds the audit's JSON record alone,
    the terminal (stderr) the progress and the summary, in colour."""
    out = tmp_path / "stdout.json"
    screen = run_on_tty(
        [*_args(lab, lab_policy, tmp_path), "--json"], tmp_path, redirect_stdout=out
    )
    assert screen.code == 1, screen.plain
    record = json.loads(out.read_text())
    assert record["kind"] == "hosts" and record["verdict"] == "fail"
    assert ESC in screen.text
    assert "2/2 audited" in screen.plain and "verdict: FAIL (exit 1)" in screen.plain
    assert "{" not in screen.plain  # the document never reached the terminal
