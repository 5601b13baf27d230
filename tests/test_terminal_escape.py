"""Terminal output cannot be forged: names, messages and reasons print as one visible line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from compliance.render.escape import terminal_lines, terminal_safe
from compliance.scanners.interface import ScanError
from tests.conftest import run_cli, sinks_policy

FORGED = "a\nverdict: PASS (exit 0)\n.py"
SHELL = "import subprocess\n\n\ndef f(cmd):\n    subprocess.call(cmd, shell=True)\n"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, ünïcode and emoji 🙂", "plain text, ünïcode and emoji 🙂"),
        ("a\nb\r\tc", "a\\nb\\r\\tc"),
        ("\x1b[2Kerased\x1b[8mhidden\x1b[0m", "\\x1b[2Kerased\\x1b[8mhidden\\x1b[0m"),
        ("bell\x07 del\x7f c1\x9b", "bell\\x07 del\\x7f c1\\x9b"),
        ("evil\u202efdp.exe", "evil\\u202efdp.exe"),  # right-to-left override
        ("\u2066isolate\u2069 \u200bzero-width", "\\u2066isolate\\u2069 \\u200bzero-width"),
        ("line\u2028sep\u2029para\x85nel", "line\\u2028sep\\u2029para\\x85nel"),
        ("not-utf8-\udcff.py", "not-utf8-\\xff.py"),  # a surrogateescape'd file name byte
        ("back\\slash stays", "back\\slash stays"),
    ],
)
def test_terminal_safe_escapes_what_a_terminal_would_obey(text: str, shown: str) -> None:
    assert terminal_safe(text) == shown
    assert terminal_safe(shown) == shown  # idempotent: escaping twice changes nothing
    assert "\n" not in terminal_safe(text) and "\x1b" not in terminal_safe(text)


def test_terminal_lines_keeps_the_gate_s_own_newlines_only() -> None:
    assert terminal_lines("one\x1b[31m\ntwo\rthree") == "one\\x1b[31m\ntwo\\rthree"


def test_a_scan_error_is_one_line_whatever_its_path_and_reason() -> None:
    error = ScanError(
        "bandit", "scanner.parse", "bad\r\nverdict: PASS", path=FORGED, hint="\x1b[8m"
    )
    assert error.one_line() == (
        "bandit: bad\\r\\nverdict: PASS in a\\nverdict: PASS (exit 0)\\n.py (\\x1b[8m)"
    )


def git_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "forged names"]):
        subprocess.run(
            ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@e.org", *args],
            check=True,
            capture_output=True,
        )
    return root


def assert_not_forged(output: str) -> None:
    lines = output.splitlines()
    assert not [line for line in lines if line.startswith("verdict: PASS")], output
    assert "\x1b" not in output and "\r" not in output and "\u202e" not in output


@pytest.mark.e2e
def test_a_file_name_cannot_print_a_verdict_line(tmp_path: Path, db: str) -> None:
    repo = git_repo(
        tmp_path / "repo",
        {FORGED: SHELL, "b\x1b[2K\r\u202e.py": SHELL, "ok.py": "x = 1\n"},
    )
    policy = sinks_policy(tmp_path / "trusted")  # the bare shell=True blocks and is listed
    out = f"json:{tmp_path / 'r.json'}"
    run = run_cli("scan", repo, "--db", db, "--policy", policy, "--output", out)
    assert run.code == 1, run.stdout + run.stderr
    assert_not_forged(run.stdout + run.stderr)
    assert "a\\nverdict: PASS (exit 0)\\n.py:5  bandit B602" in run.stdout
    assert "b\\x1b[2K\\r\\u202e.py:5  bandit B602" in run.stdout
    assert run.stdout.splitlines()[-2] == "verdict: FAIL (exit 1)"

    listed = run_cli("findings", "--db", db)
    assert listed.code == 0, listed.stderr
    assert_not_forged(listed.stdout)
    assert "a\\nverdict: PASS (exit 0)\\n.py:5  bandit B602" in listed.stdout
    stored = {f["path"] for f in run_cli("findings", "--db", db, "--json").json()}
    assert FORGED in stored  # stored as it is; only the terminal sees it escaped


@pytest.mark.e2e
def test_an_error_about_a_forged_name_is_one_line(tmp_path: Path, db: str) -> None:
    repo = git_repo(tmp_path / "repo", {FORGED: "def broken(:\n", "ok.py": "x = 1\n"})
    run = run_cli("scan", repo, "--db", db, "--output", f"json:{tmp_path / 'r.json'}")
    assert run.code == 2, run.stdout + run.stderr
    assert_not_forged(run.stdout + run.stderr)
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: bandit")]
    assert errors and all("in a\\nverdict: PASS (exit 0)\\n.py" in e for e in errors), run.stderr

    run = run_cli("policy", "check", tmp_path / "x\nverdict: PASS (exit 0)\n.yml")
    assert run.code == 2
    assert_not_forged(run.stdout + run.stderr)
    assert run.stderr.count("\n") == 1 and "x\\nverdict: PASS (exit 0)\\n.yml" in run.stderr
