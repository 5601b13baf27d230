"""Sharing the machine's cores between the tool processes of one scan.

Bandit is single-threaded and semgrep's own `--jobs` scales badly (its OCaml 5 domains stop
together for garbage collection, so one descheduled domain stalls the rest; on 2 cores
`-j 2` used nearly twice the CPU of `-j 1`, see docs/scan-speed.md). So both tools run as
single-core processes over shards of the files (shards.py), and every process takes one
slot from a process-wide pool with one slot per usable core before it starts and gives it
back when it exits: the scanners' shards fill every core until the last, small one ends.
A scanner's first shard starts at once even when others hold every slot (`wait=False`):
the pool is then overdrawn until one process ends, rather than that scanner queueing behind
all of another's. `COMPLIANCE_CPUS` overrides the number of cores (e.g. a CI runner limited
by cgroups).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def usable_cores() -> int:
    configured = os.environ.get("COMPLIANCE_CPUS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class CpuSlots:
    def __init__(self, count: int):
        self.count = count
        self._free = count
        self._changed = threading.Condition()

    @contextmanager
    def slot(self, *, wait: bool = True) -> Iterator[None]:
        with self._changed:
            while wait and self._free <= 0:
                self._changed.wait()
            self._free -= 1
        try:
            yield
        finally:
            with self._changed:
                self._free += 1
                self._changed.notify()


SLOTS = CpuSlots(usable_cores())
