"""Running the real command on a real terminal: a detached tmux pane, captured with its
escape codes (`capture-pane -e`), so tests see what a person at a terminal sees."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ESC = "\x1b["


@dataclass(frozen=True)
class Screen:
    text: str  # the pane with its escape codes
    code: int

    @property
    def plain(self) -> str:
        import re

        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.text)


def need_tmux() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        message = "tmux is needed for terminal tests (scripts/apt-test.txt)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return tmux


def run_on_tty(
    args: list[str],
    tmp_path: Path,
    env: dict[str, str] | None = None,
    width: int = 120,
    redirect_stdout: Path | None = None,
    timeout: float = 600,
) -> Screen:
    """`python -m compliance ARGS` in a tmux pane `width` columns wide; stdout optionally
    sent to a file (stderr stays on the terminal)."""
    tmux = need_tmux()
    socket = f"compliance-test-{uuid.uuid4().hex[:8]}"
    rc = tmp_path / f"rc-{socket}"
    full_env = {**os.environ, "TERM": "xterm-256color", **(env or {})}
    if not (env and "NO_COLOR" in env):
        full_env.pop("NO_COLOR", None)
    full_env.pop("COMPLIANCE_DB", None)
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "compliance", *args])
    if redirect_stdout is not None:
        command += f" > {shlex.quote(str(redirect_stdout))}"
    # a new tmux server (own socket) starts the pane with this process's environment
    script = f"{command}; echo $? > {shlex.quote(str(rc))}; sleep 600"
    base = [tmux, "-L", socket, "-f", "/dev/null"]
    subprocess.run(
        [*base, "new-session", "-d", "-x", str(width), "-y", "60", "-s", "t", script],
        check=True,
        env=full_env,
    )
    try:
        deadline = time.monotonic() + timeout
        while not (rc.exists() and rc.read_text().strip()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{args} did not finish in {timeout} s on the terminal")
            time.sleep(0.2)
        time.sleep(0.3)  # the last redraw reaches the pane
        captured = subprocess.run(
            [*base, "capture-pane", "-p", "-e", "-J", "-t", "t"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return Screen(captured, int(rc.read_text().strip()))
    finally:
        subprocess.run([*base, "kill-server"], check=False, capture_output=True)
