"""Advisory mirror figures: start-up (cold and indexed), queries per second, and a scan.

    .venv/bin/python benchmarks/advisory_mirror.py [DB]

DB defaults to ../shared/data/pypa-advisory-db (read in place, never copied). Every phase
runs in a fresh process so start-up times and peak memory are not flattered by warm
imports or caches. Prints figures; asserts nothing.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = ROOT / ".." / "shared" / "data" / "pypa-advisory-db"
BIN = Path(sys.executable).parent


def phase_open(db: str, cache: str) -> None:
    """One process: import, open (or build) the index, answer one query; print JSON."""
    started = time.perf_counter()
    from compliance.advisories import AdvisoryIndex

    imported = time.perf_counter()
    index = AdvisoryIndex.open(Path(db), Path(cache) / "advisories")  # as $COMPLIANCE_CACHE_DIR
    opened = time.perf_counter()
    index.query("django", "3.2")
    answered = time.perf_counter()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "built": index.stats.built,
                "records": index.stats.records,
                "packages": index.stats.packages,
                "import_s": imported - started,
                "open_s": opened - imported,
                "first_query_s": answered - opened,
                "peak_mib": peak_mib,
            }
        )
    )


def run_phase(db: Path, cache: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--phase-open", str(db), str(cache)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


def serve_startup(db: Path, cache: Path) -> tuple[float, subprocess.Popen[str], str]:
    """Seconds from `compliance advisories serve` to its first answered query."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "compliance"), "advisories", "serve", str(db), "--port", "0"],
        stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COMPLIANCE_CACHE_DIR": str(cache)},
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/v1/query", line)
    if not match:
        proc.kill()
        raise SystemExit(f"serve did not start: {line}")
    port = match.group(1)
    post(port, {"package": {"name": "django", "ecosystem": "PyPI"}, "version": "3.2"})
    return time.perf_counter() - started, proc, port


def post(port: str, body: object, conn: http.client.HTTPConnection | None = None) -> bytes:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    conn.request("POST", "/v1/query", json.dumps(body), {"Content-Type": "application/json"})
    data = conn.getresponse().read()
    if own:
        conn.close()
    return data


def sample_queries(db: Path, limit: int = 2000) -> list[dict[str, object]]:
    """(package, version) pairs from the database: versions its ranges mention, plus misses."""
    queries: list[dict[str, object]] = []
    for folder in sorted((db / "vulns").iterdir()):
        if not folder.is_dir():
            continue
        text = " ".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))[:3])
        versions = re.findall(r'(?:introduced|fixed): "?([0-9][0-9A-Za-z.]*)"?', text)[:3]
        for version in versions or ["1.0"]:
            queries.append(
                {"package": {"name": folder.name, "ecosystem": "PyPI"}, "version": version}
            )
    return queries[:limit]


def measure_qps(port: str, queries: list[dict[str, object]], threads: int) -> float:
    per_thread = [queries[i::threads] for i in range(threads)]

    def worker(batch: list[dict[str, object]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
        for query in batch:
            post(port, query, conn)
        conn.close()

    workers = [threading.Thread(target=worker, args=(b,)) for b in per_thread]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(queries) / (time.perf_counter() - started)


def scan_200(db: Path, cache: Path, queries: list[dict[str, object]]) -> None:
    seen: dict[str, str] = {}
    for query in queries:
        name = str(query["package"]["name"])  # type: ignore[index]
        if name not in seen and re.fullmatch(r"[0-9]+(\.[0-9]+)*", str(query["version"])):
            seen[name] = str(query["version"])
        if len(seen) == 200:
            break
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp, "tree")
        tree.mkdir()
        (tree / "requirements.txt").write_text(
            "".join(f"{n}=={v}\n" for n, v in seen.items()), encoding="utf-8"
        )
        policy = Path(tmp, "policy.yml")
        policy.write_text("version: 1\nscanners: [pip-audit]\nwaivers: null\n")
        started = time.perf_counter()
        run = subprocess.run(
            [str(BIN / "compliance"), "scan", str(tree), "--policy", str(policy),
             "--db", str(Path(tmp, "s.sqlite")), "--advisory-db", str(db), "--json"],
            capture_output=True, text=True,
            env={**os.environ, "COMPLIANCE_CACHE_DIR": str(cache)},
        )  # fmt: skip
        wall = time.perf_counter() - started
        findings = subprocess.run(
            [str(BIN / "compliance"), "findings", "--db", str(Path(tmp, "s.sqlite")), "--json"],
            capture_output=True, text=True,
        )  # fmt: skip
        count = len(json.loads(findings.stdout)) if findings.returncode == 0 else -1
    print(
        f"compliance scan, {len(seen)} pinned packages via the mirror: {wall:.2f} s wall, "
        f"exit {run.returncode}, {count} findings"
    )
    if run.returncode == 2:
        print("  " + run.stderr.strip().splitlines()[0])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--phase-open":
        phase_open(sys.argv[2], sys.argv[3])
        return
    db = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DB
    if not (db / "vulns").is_dir():
        raise SystemExit(f"no advisory database at {db} (expected {db}/vulns); pass its path")
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp, "cache")
        cold = run_phase(db, cache)
        warm = run_phase(db, cache)
        print(f"database: {db.resolve()} ({cold['records']:.0f} records, "
              f"{cold['packages']:.0f} packages)")  # fmt: skip
        for label, r in (("cold (build index)", cold), ("indexed (cached)", warm)):
            print(
                f"start-up {label}: open {r['open_s']:.3f} s + first query "
                f"{r['first_query_s'] * 1000:.1f} ms (imports {r['import_s']:.2f} s), "
                f"peak RSS {r['peak_mib']:.0f} MiB"
            )
        seconds, proc, port = serve_startup(db, cache)
        try:
            print(f"`compliance advisories serve` to first answer (indexed): {seconds:.2f} s")
            queries = sample_queries(db)
            for _ in range(2):  # warm the per-package matcher cache, as a long-lived mirror is
                measure_qps(port, queries, 1)
            for threads in (1, 4):
                qps = measure_qps(port, queries, threads)
                print(f"queries/s, {len(queries)} /v1/query over keep-alive, "
                      f"{threads} client thread(s): {qps:.0f}")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        scan_200(db, cache, queries)


if __name__ == "__main__":
    main()
