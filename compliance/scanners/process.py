"""Running an external tool so that every way it can fail is seen.

Tools are looked up on PATH first (the user's choice wins), then next to the running
interpreter (a venv that is not activated, pipx). `COMPLIANCE_<TOOL>_BIN` pins one
explicitly. Timeouts kill the whole process group: semgrep and bandit spawn workers that
would otherwise outlive us and keep a CI job hanging.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from compliance.scanners.interface import ScannerFailure

STDERR_TAIL = 600
_RUNNING: set[subprocess.Popen[bytes]] = set()
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ToolRun:
    returncode: int
    stdout: str
    stderr: str


def env_override_name(tool: str) -> str:
    return "COMPLIANCE_" + tool.upper().replace("-", "_") + "_BIN"


def find_tool(tool: str) -> str:
    """Absolute path of `tool`, or ScannerFailure('scanner.missing') saying how to install it."""
    pinned = os.environ.get(env_override_name(tool))
    if pinned:
        if os.access(pinned, os.X_OK) and Path(pinned).is_file():
            return pinned
        raise ScannerFailure(
            "scanner.missing",
            f"{tool} not found at {pinned} (set by {env_override_name(tool)})",
            hint=f"fix or unset {env_override_name(tool)}",
        )
    found = shutil.which(tool)
    if found:
        return found
    beside = Path(sys.executable).parent / tool
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    raise ScannerFailure(
        "scanner.missing",
        f"{tool} is not installed (not on PATH, not beside {sys.executable})",
        hint=f"pip install {tool}, or drop it from the policy's scanners list",
    )


def venv_version(tool_path: str, distribution: str) -> str | None:
    """The version pip recorded for `distribution` when the tool is a console script of a
    virtual environment (`<venv>/bin/<tool>` beside `<venv>/pyvenv.cfg`): the script imports
    exactly that package, and reading its metadata costs nothing where asking `--version`
    costs the tool's start-up (0.3-0.7 s on every cold scan). None when that cannot be told
    for certain (not a venv, no or several records): the caller then asks the tool."""
    venv = Path(tool_path).parent.parent
    if not (venv / "pyvenv.cfg").is_file():
        return None
    found = {
        dist.version
        for site in sorted(venv.glob("lib/python3*/site-packages"))
        for dist in metadata.distributions(name=distribution, path=[str(site)])
    }
    return found.pop() if len(found) == 1 else None


def run_tool(
    argv: Sequence[str],
    *,
    tool: str,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> ToolRun:
    """Run argv to completion or kill it at `timeout`; never raises anything but ScannerFailure."""
    full_env = {**os.environ, **(env or {})}
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise ScannerFailure("scanner.missing", f"{tool} could not be started: {exc}") from exc
    with _LOCK:
        _RUNNING.add(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        raise ScannerFailure(
            "scanner.timeout",
            f"{tool} did not finish within {timeout:g}s and was killed",
            hint="raise timeouts." + tool + " in the policy, or exclude the slow paths",
        ) from None
    except BaseException:
        _kill_group(proc)
        proc.communicate()
        raise
    finally:
        with _LOCK:
            _RUNNING.discard(proc)
    return ToolRun(
        proc.returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
    )


def stderr_tail(text: str) -> str:
    """The last meaningful line(s) of a tool's stderr, for a one-line reason."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    tail = " | ".join(lines[-3:])
    return tail[-STDERR_TAIL:] if tail else "no output on stderr"


def kill_running_tools() -> None:
    """On Ctrl-C or SIGTERM: stop every tool we started, so nothing outlives the scan."""
    with _LOCK:
        running = list(_RUNNING)
    for proc in running:
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
