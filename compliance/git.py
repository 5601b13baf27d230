"""One way to ask git: a git command's stdout, or None when git is missing, fails or hangs.

Callers decide what "no answer" means (fail closed: an unknown tree state is dirty, an
unknown tracked set refuses state in the tree), so this never raises. Output is decoded
with surrogateescape: a file name that is not UTF-8 survives the round trip to the disk.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

TIMEOUT = 120


def git_output(root: Path, *args: str, timeout: float = TIMEOUT) -> str | None:
    try:
        run = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if run.returncode != 0:
        return None
    return run.stdout.decode("utf-8", "surrogateescape")
