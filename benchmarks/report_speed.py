"""Report speed: 100k synthetic findings over 200 hosts, from store to a loaded page.

Prints ingest time; for every output format its render time (load from the store, write
the file), file size and peak RSS; the time until headless Chromium has loaded the HTML
report and drawn its table, a search over all findings in the page, and Chromium's memory.
Each phase and each format runs in its own process so its peak RSS is its own.

    .venv/bin/python benchmarks/report_speed.py [--findings 100000] [--hosts 200]

Targets (issue 6): render ≤ 10 s, file ≤ 40 MB, loaded in Chromium ≤ 3 s, peak RSS ≤ 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compliance.findings import Finding, Location, Severity, fingerprint  # noqa: E402
from compliance.gate import GateInput, judge  # noqa: E402
from compliance.policy import Policy  # noqa: E402
from compliance.render.registry import FORMATS  # noqa: E402
from compliance.store import ScanMeta, ScanOutcome, Store  # noqa: E402
from compliance.store.models import HostCheckRecord  # noqa: E402

CONTROLS = 40
TARGETS = {"render_s": 10.0, "html_mb": 40.0, "loaded_s": 3.0, "peak_rss_mb": 500.0}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic(n: int, hosts: int, salt: str) -> list[Finding]:
    """Vulnerable packages and failed controls spread over `hosts` hosts, and code findings
    (a third each), so every format has its share: gitlab-sast takes only code."""
    severities = list(Severity)
    result = []
    for i in range(n):
        host = f"host-{i % hosts:03d}.dc1.example.internal"
        kind = i % 3
        if kind == 0:
            pkg = f"lib{i % 500}"
            location = Location(host=host, package=pkg, version=f"1.{i % 30}.{i % 7}")
            refs: tuple[str, ...] = (f"CVE-2024-{10000 + i % 5000}", "CWE-400")
            rule = f"PYSEC-2024-{i % 900}"
            evidence = f"{pkg}==1.{i % 30}.{i % 7}; fixed in 1.{i % 30 + 1}.0"
        elif kind == 1:
            location = Location(host=host)
            rule = f"cis.{i % CONTROLS}"
            refs = (f"CIS 5.2.{i % CONTROLS}", "PCI-DSS 2.2.4")
            evidence = f"observed: PermitRootLogin yes (line {i % 120} of /etc/ssh/sshd_config)"
        else:
            path = f"srv/app{i % 40}/module_{i % 700}.py"
            location = Location(path=path, start_line=i % 400 + 1)  # code: no host
            rule = f"B{600 + i % 50}"
            refs = ("CWE-78", "https://bandit.readthedocs.io/en/latest/plugins/index.html")
            evidence = f"subprocess.call(cmd_{i}, shell=True)"
        result.append(
            Finding(
                scanner=("pip-audit", "host", "bandit")[kind],
                rule_id=rule,
                severity=severities[i % 5],
                title=f"{rule} on {('package', 'control', 'code')[kind]} {i % 300}",
                message="A synthetic finding with a message of typical length for a report.",
                location=location,
                fingerprint=fingerprint(salt if i % 100 == 0 else "", str(i)),
                evidence=evidence,
                references=refs,
                remediation="Upgrade, reconfigure or rewrite as the rule's documentation says.",
            )
        )
    return result


def host_checks(hosts: int) -> list[HostCheckRecord]:
    statuses = ["pass"] * 6 + ["fail", "fail", "not-applicable", "error"]
    return [
        HostCheckRecord(
            scan_id=0,
            host=f"host-{h:03d}.dc1.example.internal",
            check_id=f"cis.{c}",
            title=f"control {c}",
            status=statuses[(h * 7 + c * 3) % len(statuses)],
            severity="high",
            expected="PermitRootLogin no",
            observed="PermitRootLogin yes" if (h + c) % 3 == 0 else "PermitRootLogin no",
            references=[f"CIS 5.2.{c}", "PCI-DSS 2.2.4"],
            remediation="Set it in /etc/ssh/sshd_config and reload sshd.",
        )
        for h in range(hosts)
        for c in range(CONTROLS)
    ]


def record(store: Store, findings: list[Finding], hosts: int) -> tuple[int, float]:
    start = time.perf_counter()
    scan_id = store.begin_scan(ScanMeta(kind="hosts", target="fleet/bench"))
    verdict = judge(
        GateInput(
            findings=findings,
            policy=Policy(),
            target="fleet/bench",
            first_seen=store.first_seen("fleet/bench", (f.fingerprint for f in findings)),
            today=date.today(),
        )
    )
    store.finish_scan(
        scan_id,
        ScanOutcome(
            verdict=verdict,
            completed_scanners=["pip-audit", "host", "bandit"],
            host_checks=host_checks(hosts),
            tool_versions={"bandit": "1.8", "pip-audit": "2.9"},
        ),
    )
    return scan_id, time.perf_counter() - start


def phase_ingest(db: str, n: int, hosts: int) -> dict[str, float]:
    store = Store.open(db)
    previous = synthetic(n, hosts, salt="old")
    record(store, previous, hosts)
    del previous
    findings = synthetic(n, hosts, salt="new")
    scan_id, seconds = record(store, findings, hosts)
    return {"scan_id": scan_id, "ingest_s": seconds, "peak_rss_mb": peak_rss_mb()}


def phase_render(db: str, scan_id: int, fmt: str, out: str) -> dict[str, float]:
    """One format, as `compliance report` writes it: context loaded from the store, then
    the format streams the findings into a temporary file renamed into place."""
    from functools import partial

    from compliance.render.data import load_report
    from compliance.render.options import RenderOptions
    from compliance.render.outputs import write_atomically
    from compliance.render.registry import FORMATS

    store = Store.open(db)
    figures: dict[str, float] = {}
    start = time.perf_counter()
    report = load_report(store, scan_id)
    figures["load_s"] = time.perf_counter() - start
    t = time.perf_counter()
    write_atomically(Path(out), partial(FORMATS[fmt].write, report, RenderOptions()))
    figures["write_s"] = time.perf_counter() - t
    figures["render_s"] = time.perf_counter() - start
    figures["mb"] = Path(out).stat().st_size / 1e6
    figures["peak_rss_mb"] = peak_rss_mb()
    return figures


def chromium_rss_mb(pgid: int) -> tuple[float, float]:
    """Peak RSS (VmHWM) of Chromium's renderer, and summed over all its processes (an
    overcount: shared pages are counted once per process)."""
    total = renderer = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) != pgid:
                continue
            cmdline = (proc / "cmdline").read_bytes()
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    kb = int(line.split()[1])
                    total += kb
                    if b"--type=renderer" in cmdline:
                        renderer = max(renderer, kb)
        except (OSError, ProcessLookupError):
            continue
    return renderer / 1024, total / 1024


def phase_browser(html: str) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "tests"))
    from cdp import Browser, find_chromium  # type: ignore[import-not-found]

    binary = find_chromium()
    if binary is None:
        return {"error": 1.0}
    with Browser(binary) as browser:
        start = time.perf_counter()
        browser.open(Path(html))
        loaded = time.perf_counter() - start
        browser.wait_until("document.body.dataset.ready === '1'", timeout=60)
        ready = time.perf_counter() - start
        problems = browser.problems()
        search_ms = browser.eval(
            """new Promise(resolve => {
              const q = document.getElementById('q'), count = document.getElementById('count');
              const t = performance.now();
              new MutationObserver(() => resolve(performance.now() - t - 120))
                .observe(count, {childList: true, characterData: true, subtree: true});
              q.value = 'module_42';
              q.dispatchEvent(new Event('input'));
            })"""
        )
        shown = browser.eval("document.getElementById('count').textContent")
        marks = browser.eval(
            """(() => {
              const m = {};
              performance.getEntriesByType('mark').forEach(e => { m[e.name] = e.startTime; });
              const nav = performance.getEntriesByType('navigation')[0];
              m.domInteractive = nav.domInteractive;
              m.loadEventEnd = nav.loadEventEnd;
              return m;
            })()"""
        )
        sort_start = time.perf_counter()
        browser.eval("document.querySelector('th[data-sort=where]').click()")
        sort_s = time.perf_counter() - sort_start
        assert browser._proc is not None
        renderer_rss, all_rss = chromium_rss_mb(browser._proc.pid)
    return {
        "loaded_s": loaded,
        "ready_s": ready,
        "search_ms": search_ms,
        "sort_s": sort_s,
        "renderer_peak_rss_mb": renderer_rss,
        "chromium_peak_rss_mb": all_rss,
        "console_problems": float(len(problems)),
        "search_result": shown,  # type: ignore[dict-item]
        "marks": marks,  # type: ignore[dict-item]
    }


def child(*args: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        sys.exit(f"phase {args[0]} failed:\n{proc.stderr}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--phase", choices=["ingest", "render", "browser"])
    parser.add_argument("--db")
    parser.add_argument("--scan", type=int)
    parser.add_argument("--format", default="html")
    parser.add_argument("--html")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.phase == "ingest":
        print(json.dumps(phase_ingest(args.db, args.findings, args.hosts)))
        return
    if args.phase == "render":
        print(json.dumps(phase_render(args.db, args.scan, args.format, args.out)))
        return
    if args.phase == "browser":
        print(json.dumps(phase_browser(args.html)))
        return

    with tempfile.TemporaryDirectory(prefix="report-bench-") as folder:
        db = str(Path(folder) / "bench.db")
        html = str(Path(folder) / "report.html")
        print(f"{args.findings} findings over {args.hosts} hosts, {CONTROLS} controls per host")
        ingest = child(
            "--phase",
            "ingest",
            "--db",
            db,
            "--findings",
            str(args.findings),
            "--hosts",
            str(args.hosts),
        )
        print(
            f"ingest (gate + store, second of two scans): {ingest['ingest_s']:.2f} s, "
            f"peak RSS {ingest['peak_rss_mb']:.0f} MB"
        )
        print(
            f"each format in its own process (targets: render ≤ {TARGETS['render_s']:.0f} s, "
            f"HTML ≤ {TARGETS['html_mb']:.0f} MB, peak RSS ≤ {TARGETS['peak_rss_mb']:.0f} MB):"
        )
        heads = ("load s", "write s", "total s", "MB", "RSS MB")
        print(f"  {'format':28} " + " ".join(f"{h:>8}" for h in heads))
        for name, fmt in FORMATS.items():
            out = html if name == "html" else str(Path(folder) / fmt.filename)
            scan = str(int(ingest["scan_id"]))
            r = child(
                "--phase", "render", "--db", db, "--scan", scan, "--format", name, "--out", out
            )
            over = r["render_s"] > TARGETS["render_s"] or r["peak_rss_mb"] > TARGETS["peak_rss_mb"]
            print(
                f"  {name:28} {r['load_s']:8.2f} {r['write_s']:8.2f} {r['render_s']:8.2f} "
                f"{r['mb']:8.1f} {r['peak_rss_mb']:8.0f}" + ("  OVER TARGET" if over else "")
            )
            if name != "html":
                Path(out).unlink()
        browser = child("--phase", "browser", "--html", html)
        if "error" in browser:
            print("chromium not installed: browser figures skipped")
            return
        print(
            f"Chromium: load event {browser['loaded_s']:.2f} s, table drawn "
            f"{browser['ready_s']:.2f} s (target ≤ {TARGETS['loaded_s']:.0f} s); "
            f"search over all rows ≈ {browser['search_ms']:.0f} ms "
            f"({browser['search_result']}); sort by location {browser['sort_s']:.2f} s; "
            f"Chromium peak RSS: renderer {browser['renderer_peak_rss_mb']:.0f} MB, "
            f"all processes summed {browser['chromium_peak_rss_mb']:.0f} MB; "
            f"console problems {browser['console_problems']:.0f}"
        )
        marks = browser["marks"]
        names = ("report-script-start", "report-data-parsed", "report-table-drawn", "loadEventEnd")
        print(
            "  in the page, ms after navigation: "
            + ", ".join(f"{k} {marks[k]:.0f}" for k in names if k in marks)  # type: ignore[index]
        )


if __name__ == "__main__":
    main()
