"""Sharing the machine's cores between the tool processes of one scan.

Bandit is single-threaded, so a large tree is split into shards that run as separate bandit
processes; semgrep parallelises itself (`--jobs`). Left alone, both would start as many
workers as there are cores and fight over them, and semgrep suffers most: its OCaml 5
domains stop together for garbage collection, so one descheduled domain stalls the rest
(semgrep's own help warns against oversubscription; on a loaded 2-core machine `-j 2` was
measured slower than `-j 1`, see docs/scan-speed.md).

So every CPU-bound tool process takes one slot from a process-wide pool with one slot per
usable core before it starts, and gives it back when it exits: semgrep holds one slot for
its whole run with `--jobs 1` when other scanners share the scan, and bandit's shards queue
for the remaining slots and take over every core as soon as semgrep is done. Semgrep is
the one long run and starts at once even when shards hold every slot (`wait=False`): the
pool is then overdrawn until one shard ends, rather than semgrep queueing behind them.
`COMPLIANCE_CPUS` overrides the number of cores (e.g. a CI runner limited by cgroups).
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
