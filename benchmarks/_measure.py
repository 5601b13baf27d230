"""Wall time and peak memory of a command and all its descendants.

Peak memory is the largest *sum* of resident memory over the whole process tree, sampled
every 20 ms with psutil: a tool that forks workers is measured as a whole, which is what
a CI runner's memory limit sees.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float
    returncode: int


def measure(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None
) -> Measured:
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        total = 0
        with contextlib.suppress(psutil.Error):
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a child may exit meanwhile
                    total += p.memory_info().rss
        peak = max(peak, total)
        time.sleep(0.02)
    return Measured(time.perf_counter() - start, peak / 2**20, proc.returncode)
