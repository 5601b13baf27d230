"""How bandit's file list is split, and how tool processes share the CPU slots."""

from __future__ import annotations

import threading
from pathlib import Path

from compliance.scanners.bandit import BATCH
from compliance.scanners.cpu import CpuSlots
from compliance.scanners.shards import shards


def tree(root: Path, sizes: list[int]) -> list[str]:
    names = []
    for i, size in enumerate(sizes):
        (root / f"m{i:03d}.py").write_text("x" * size)
        names.append(f"m{i:03d}.py")
    return names


def test_shards_cover_every_file_once_in_order_and_shrink(tmp_path: Path) -> None:
    files = tree(tmp_path, [1000] * 200)
    plan = shards(tmp_path, files, 2, min_bytes=10_000, max_files=BATCH)
    assert [f for shard in plan for f in shard] == files
    assert len(plan) > 4
    assert len(plan[0]) > len(plan[-2])  # guided: large first, small at the end


def test_small_trees_and_single_cores_get_one_bandit_process(tmp_path: Path) -> None:
    files = tree(tmp_path, [100] * 30)
    assert shards(tmp_path, files, 2, min_bytes=10_000, max_files=BATCH) == [files]
    assert shards(tmp_path, files, 1, min_bytes=1, max_files=BATCH) == [files]


def test_no_shard_exceeds_the_argv_batch(tmp_path: Path) -> None:
    files = [f"missing{i}.py" for i in range(BATCH * 2 + 5)]  # size 0: one shard by bytes
    plan = shards(tmp_path, files, 1, min_bytes=1, max_files=BATCH)
    assert [len(s) for s in plan] == [BATCH, BATCH, 5]


def test_a_long_run_starts_at_once_and_shards_wait_for_a_free_slot() -> None:
    slots = CpuSlots(1)
    started = threading.Event()

    def shard() -> None:
        with slots.slot():
            started.set()

    with slots.slot():
        with slots.slot(wait=False):  # semgrep: never queues behind shards
            waiter = threading.Thread(target=shard)
            waiter.start()
            assert not started.wait(0.2)  # a shard waits while the pool is overdrawn
        assert not started.wait(0.2)
    waiter.join(5)
    assert started.is_set()
