"""Concurrent writers: scans finishing at once from separate processes lose nothing."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from datetime import date

import pytest

from compliance.findings import Finding, Location, Severity
from compliance.gate import GateInput, judge
from compliance.policy import Policy
from compliance.store import ScanMeta, ScanOutcome, Store
from tests.conftest import WEB_SHELL_APP, write_tree

WRITERS = 8
SCANS_EACH = 4
FINDINGS_EACH = 150


def _writer(url: str, writer: int) -> None:
    store = Store.open(url)
    for n in range(SCANS_EACH):
        # Half the findings are shared by every writer (same target, same fingerprints):
        # that is where lifecycle rows would collide.
        findings = [
            Finding(
                scanner="bandit",
                rule_id="B1",
                severity=Severity.LOW,
                title="t",
                message="m",
                location=Location(path=f"f{i}.py", start_line=1),
                fingerprint=f"shared-{i}" if i % 2 else f"w{writer}-s{n}-{i}",
            )
            for i in range(FINDINGS_EACH)
        ]
        scan_id = store.begin_scan(ScanMeta(kind="code", target="fleet"))
        seen = store.first_seen("fleet", [f.fingerprint for f in findings])
        verdict = judge(
            GateInput(
                findings=findings,
                policy=Policy(),
                target="fleet",
                first_seen=seen,
                today=date(2026, 11, 24),
            )
        )
        store.finish_scan(scan_id, ScanOutcome(verdict=verdict, completed_scanners=[]))


def test_eight_concurrent_writers_lose_nothing(store_url):
    Store.open(store_url)  # schema first, as the first CI job would
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(store_url, w)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=600)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    store = Store.open(store_url)
    scans = store.scans(limit=1000)
    assert len(scans) == WRITERS * SCANS_EACH
    assert {s.status for s in scans} == {"complete"}
    assert sum(len(store.findings(s.id)) for s in scans) == WRITERS * SCANS_EACH * FINDINGS_EACH
    fingerprints = {row.fingerprint for row in store.lifecycle("fleet")}
    assert len(fingerprints) == FINDINGS_EACH // 2 + WRITERS * SCANS_EACH * FINDINGS_EACH // 2


@pytest.mark.e2e
def test_concurrent_cli_scans_of_one_sqlite_file(tmp_path):
    """Real `compliance scan` processes with real bandit, all on one fresh SQLite file."""
    tree = write_tree(tmp_path / "repo", {"a.py": WEB_SHELL_APP})
    db = str(tmp_path / "shared.db")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "compliance", "scan", str(tree), "--db", db],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WRITERS)
    ]
    results = [(p.wait(timeout=600), p.stderr.read() if p.stderr else "") for p in procs]
    assert [code for code, _ in results] == [1] * WRITERS, results
    store = Store.open(db)
    scans = store.scans(limit=100)
    assert len(scans) == WRITERS and {s.status for s in scans} == {"complete"}
    assert {len(store.findings(s.id)) for s in scans} == {2}
