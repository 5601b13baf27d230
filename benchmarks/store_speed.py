"""Store speed: ingest 100k findings, lifecycle update on a re-scan, latest-verdict query.

Prints wall time and peak memory on SQLite and, when PostgreSQL server binaries are
installed (Debian's postgresql), on a throwaway server on loopback.

Memory is printed per phase (Linux: the peak is reset between phases through
/proc/self/clear_refs), so what the benchmark's own synthetic findings cost is told apart
from what storing them costs: a real scan holds its findings too, but only one list.

    .venv/bin/python benchmarks/store_speed.py [--findings 100000]

Targets (issue 8): ingest 100k findings ≤ 10 s on SQLite; peak memory ≤ 500 MB.
"""

from __future__ import annotations

import argparse
import gc
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compliance.findings import Finding, Location, Severity
from compliance.gate import GateInput, judge
from compliance.policy import Policy
from compliance.render.rows import FindingStream
from compliance.store import ScanMeta, ScanOutcome, Store


def synthetic(n: int, salt: str = "") -> list[Finding]:
    severities = list(Severity)
    return [
        Finding(
            scanner="bandit" if i % 3 else "semgrep",
            rule_id=f"R{i % 97}",
            severity=severities[i % 5],
            title=f"finding {i}",
            message="a synthetic finding with a message of typical length " * 2,
            location=Location(path=f"src/module_{i % 2000}.py", start_line=i % 500 + 1),
            fingerprint=f"{salt}{i:08d}",
            evidence="subprocess.call(cmd, shell=True)",
            references=("CWE-78",),
        )
        for i in range(n)
    ]


def rss_mb() -> float:
    """Resident memory now, and the peak since the last `reset_peak`, in MB."""
    return _status("VmRSS")


def peak_mb() -> float:
    return _status("VmHWM")


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as handle:  # "5": reset the peak RSS (VmHWM)
        handle.write("5")


def _status(key: str) -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def phase_peak(label: str, start_rss: float) -> str:
    return f"{label} peak {peak_mb():.0f} MB (+{max(0.0, peak_mb() - start_rss):.0f} MB)"


def scan_once(store: Store, findings: list[Finding]) -> float:
    start = time.perf_counter()
    scan_id = store.begin_scan(ScanMeta(kind="code", target="bench"))
    seen = store.first_seen("bench", [f.fingerprint for f in findings])
    verdict = judge(
        GateInput(
            findings=findings, policy=Policy(), target="bench", first_seen=seen, today=date.today()
        )
    )
    store.finish_scan(
        scan_id, ScanOutcome(verdict=verdict, completed_scanners=["bandit", "semgrep"])
    )
    return time.perf_counter() - start


def bench(label: str, url: str, n: int) -> None:
    store = Store.open(url)
    before = rss_mb()
    findings = synthetic(n)
    data = rss_mb() - before
    reset_peak()
    start_rss = rss_mb()
    cold = scan_once(store, findings)
    cold_mem = phase_peak("ingest", start_rss)
    # Re-scan: 90% the same, 10% fixed, 10% new: the lifecycle update path.
    rescan = findings[: int(n * 0.9)] + synthetic(n // 10, salt="new-")
    reset_peak()
    start_rss = rss_mb()
    warm = scan_once(store, rescan)
    warm_mem = phase_peak("re-scan", start_rss)
    del findings, rescan
    gc.collect()
    latest = store.scans(limit=1)[0]
    assert latest.id is not None
    reset_peak()
    start_rss = rss_mb()
    start = time.perf_counter()
    streamed = sum(1 for _ in FindingStream(store, latest.id, reported_only=False))
    stream = time.perf_counter() - start
    stream_mem = phase_peak("streamed", start_rss)
    reset_peak()
    start_rss = rss_mb()
    start = time.perf_counter()
    rows = store.findings(latest.id)
    query = time.perf_counter() - start
    orm_mem = phase_peak("as ORM objects", start_rss)
    del rows
    start = time.perf_counter()
    fixed = store.fixed_in(latest.id)  # one join, however many were fixed
    fixed_query = time.perf_counter() - start
    print(
        f"{label:<11} ingest {n} findings: {cold:6.2f} s   re-scan with lifecycle update: "
        f"{warm:6.2f} s   latest verdict + its {streamed} findings streamed (reports): "
        f"{stream:5.2f} s, as ORM objects (Store.findings): {query:5.2f} s   "
        f"its {len(fixed)} fixed findings: {fixed_query:5.2f} s"
    )
    print(
        f"{'':<11} memory: {n} synthetic Findings held by the benchmark {data:.0f} MB; "
        f"{cold_mem}; {warm_mem}; {stream_mem}; {orm_mem}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--findings", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench("SQLite", f"sqlite:///{tmp}/bench.db", args.findings)
    try:
        from tests.postgres import running_server
    except ImportError:
        running_server = None  # type: ignore[assignment]
    if running_server is not None and shutil.which("runuser"):
        base = Path(tempfile.mkdtemp(prefix="compliance-pg-bench-"))
        try:
            for server in running_server(base):
                bench("PostgreSQL", server.new_database(), args.findings)
        except (RuntimeError, OSError) as exc:
            print(f"PostgreSQL  skipped: {exc}")
        finally:
            shutil.rmtree(base, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process over all phases: {peak:.0f} MB (target ≤ 500 MB)")


if __name__ == "__main__":
    main()
