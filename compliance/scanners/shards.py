"""Splitting one tool's files into processes that share the machine's cores.

Bandit is single-threaded, and semgrep's own `--jobs` scales badly (its OCaml domains stop
together for garbage collection: on the standard library `-j 2` used 61 s of CPU where
`-j 1` used 34 s). So both tools run as several single-core processes over shards of the
files, and every process takes a CPU slot (cpu.py) while it runs: the two scanners' shards
then fill every core until the last one ends, instead of one core idling while the other
finishes a long single run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from compliance.scanners.cpu import SLOTS

T = TypeVar("T")
Job = TypeVar("Job")
Flag = TypeVar("Flag")


def shards(
    root: Path, files: list[str], workers: int, *, min_bytes: int, max_files: int
) -> list[list[str]]:
    """The files split into tool runs, largest first, shrinking towards the end.

    Guided self-scheduling: each shard takes about 1/(2 x workers) of the bytes still left,
    so early shards amortise the tool's start-up and the last ones are small enough that no
    core waits long for another to finish. Files keep their order within a shard; no shard
    is smaller than `min_bytes` (its start-up would cost more than a core gives back) nor
    longer than `max_files`."""
    sizes = [_size(root / f) for f in files]
    total = sum(sizes)
    if workers < 2 or total < min_bytes:
        return [list(chunk) for chunk in chunks(files, max_files)]
    floor = max(min_bytes, 1)
    plan: list[list[str]] = []
    current: list[str] = []
    current_bytes = 0
    left = total
    goal = max(left // (2 * workers), floor)
    for name, size in zip(files, sizes, strict=True):
        current.append(name)
        current_bytes += size
        if current_bytes >= goal or len(current) >= max_files:
            plan.append(current)
            left -= current_bytes
            current, current_bytes = [], 0
            goal = max(left // (2 * workers), floor)
    if current:
        plan.append(current)
    return plan


def run_sharded(
    root: Path,
    groups: Sequence[tuple[list[str], Flag]],
    run: Callable[[list[str], Flag, bool], T],
    *,
    min_bytes: int,
    max_files: int | None,
    first_at_once: bool,
) -> list[T]:
    """`run` over every group's files in shards (see shards(); `max_files` None: no limit),
    side by side in CPU slots (see run_in_slots()); results in shard order. `run` gets the
    shard, its group's flag (a tool's pass: honour suppression comments or not) and whether
    there is more than one shard (a tool may then hold back its own threads)."""
    plan = [
        (batch, flag)
        for files, flag in groups
        if files
        for batch in shards(
            root,
            files,
            SLOTS.count,
            min_bytes=min_bytes,
            max_files=max(len(files), 1) if max_files is None else max_files,
        )
    ]
    sharded = len(plan) > 1
    return run_in_slots(plan, lambda job: run(job[0], job[1], sharded), first_at_once=first_at_once)


def run_in_slots(jobs: Sequence[Job], run: Callable[[Job], T], *, first_at_once: bool) -> list[T]:
    """`run` over every job, side by side, each holding a CPU slot; results in job order.

    `first_at_once`: the first job starts even when other scanners' processes hold every
    slot (the pool is overdrawn until one ends), so a scanner's first shard never queues
    behind all of another's. The first failure (a ScannerFailure) is raised once every
    started job has ended; jobs not yet started are cancelled."""
    if not jobs:
        return []

    def one(index_and_job: tuple[int, Job]) -> T:
        index, job = index_and_job
        with SLOTS.slot(wait=not (first_at_once and index == 0)):
            return run(job)

    if len(jobs) == 1:
        return [one((0, jobs[0]))]
    pool = ThreadPoolExecutor(max_workers=min(len(jobs), SLOTS.count))
    try:
        return list(pool.map(one, enumerate(jobs)))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
