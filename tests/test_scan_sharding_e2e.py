"""Sharded, parallel and cached scans give exactly what one serial run gives.

Real bandit and real semgrep on one tree: each once as a single process and once split into
many shards run side by side (semgrep's with `--jobs 2` as well); and then again from the
result cache. Every Finding (fingerprint, lines, evidence, suppression…), every error and
the coverage counts must be identical.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compliance.code_scan import run_scanners
from compliance.policy import load_policy
from compliance.scanners import REGISTRY, bandit, semgrep
from compliance.scanners import shards as shards_module
from compliance.scanners.bandit import BATCH
from compliance.scanners.cpu import CpuSlots
from compliance.scanners.interface import ScannerResult
from compliance.scanners.shards import shards
from tests.conftest import write_tree

pytestmark = pytest.mark.e2e

MODULE = """
import hashlib
import pickle
import subprocess
import tempfile

import yaml


def run{n}(arg):
    subprocess.call("echo " + arg, shell=True)
    subprocess.call("echo " + arg, shell=True)  # same code twice: occurrence index
    return hashlib.md5(arg.encode()).hexdigest()


def load{n}(blob, text):
    assert blob
    tempfile.mktemp()
    yaml.load(text)
    yaml.load(blob)  # nosemgrep
    return pickle.loads(blob)  # nosec


AWS_KEY = "AKIAQ3EGRAFXBGW{n:05d}"
"""


def make_tree(root: Path) -> Path:
    files = {f"pkg{i % 4}/mod{i}.py": MODULE.format(n=i) for i in range(24)}
    files["broken.py"] = "def broken(:\n    pass\n"  # a parse error in both tools
    files["config/settings.ini"] = "[db]\npassword = hunter2hunter2\n"
    return write_tree(root, files)


def scan(root: Path, **options: Any) -> dict[str, ScannerResult]:
    loaded = load_policy(None, known_scanners=REGISTRY.keys())
    _, results = run_scanners(root, loaded, ["bandit", "semgrep"], options)
    return {r.scanner: r for r in results}


def comparable(result: ScannerResult) -> tuple[Any, ...]:
    return (
        result.version,
        sorted(
            result.findings, key=lambda f: (f.location.path, f.location.start_line, f.fingerprint)
        ),
        sorted(result.errors, key=lambda e: (e.path or "", e.kind, e.reason)),
        result.files_requested,
        result.files_scanned,
    )


def test_sharded_parallel_and_cached_scans_equal_a_serial_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "repo")
    monkeypatch.setattr(shards_module, "SLOTS", CpuSlots(3))  # shard even on a 1-core runner
    py_files = sorted(str(p.relative_to(root)) for p in root.rglob("*.py"))
    assert len(shards(root, py_files, 3, min_bytes=1, max_files=BATCH)) > 3
    runs: list[int] = []
    real_run = semgrep.SemgrepScanner._run_once

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        runs.append(len(args[3]))
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(semgrep.SemgrepScanner, "_run_once", counted)

    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", "off")
    serial = scan(root, bandit_shard_bytes=10**12, semgrep_shard_bytes=10**12, jobs=1)
    serial_runs, runs[:] = len(runs), []
    sharded = scan(root, bandit_shard_bytes=1, semgrep_shard_bytes=1, jobs=2)
    assert serial_runs <= 2 < len(runs)  # (the second is the nosemgrep pass)

    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path / "cache"))
    filled = scan(root, bandit_shard_bytes=1)
    cached = scan(root, bandit_shard_bytes=1)

    assert any(e.kind == "scanner.parse" for e in serial["bandit"].errors)
    for name in ("bandit", "semgrep"):
        result = serial[name]
        assert result.findings, f"{name} found nothing: the comparison would be empty"
        assert any(f.suppressed for f in result.findings), f"{name}: no suppressed finding"
        for other in (sharded, filled, cached):
            assert comparable(other[name]) == comparable(result), name


def test_warm_scan_runs_no_bandit_and_a_change_rescans_only_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_tree(
        tmp_path / "repo",
        {f"m{i}.py": MODULE.format(n=i) for i in range(6)},
    )
    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path / "cache"))
    cold = scan(root)["bandit"]
    ran: list[list[str]] = []
    real = bandit.BanditScanner._run_once

    def spy(
        self: Any, context: Any, batch: list[str], config_args: list[str], *, ignore_nosec: bool
    ) -> Any:
        ran.append(list(batch))
        return real(self, context, batch, config_args, ignore_nosec=ignore_nosec)

    monkeypatch.setattr(bandit.BanditScanner, "_run_once", spy)
    warm = scan(root)["bandit"]
    assert ran == []
    assert warm.complete and comparable(warm) == comparable(cold)
    changed_file = root / "m3.py"
    changed_file.write_text(changed_file.read_text() + "\neval(input())\n")
    changed = scan(root)["bandit"]
    assert ran == [["m3.py"], ["m3.py"]]  # the plain pass and the --ignore-nosec pass
    assert changed.complete
    new = set(changed.findings) - set(cold.findings)
    assert [(f.location.path, f.rule_id) for f in new] == [("m3.py", "B307")]
