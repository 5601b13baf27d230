"""The short human summary printed after a scan: counts, what blocks and where, the verdict."""

from __future__ import annotations

from collections.abc import Sequence

from compliance.findings import Severity
from compliance.gate import Outcome, Status, Verdict
from compliance.render.repository_config import repository_config_lines
from compliance.scanners.interface import ScannerResult

MAX_LISTED = 50


def summary(
    verdict: Verdict, results: Sequence[ScannerResult], scan_id: int, target: str
) -> list[str]:
    lines = [f"scan {scan_id} of {target}"]
    for r in results:
        version = f" {r.version}" if r.version else ""
        state = "ok" if r.complete else "INCOMPLETE"
        lines.append(
            f"  {r.scanner}{version}: {r.files_scanned}/{r.files_requested} files, "
            f"{len(r.findings)} findings, {state}"
        )
    counted = [d for d in verdict.decisions if d.status is Status.OPEN]
    by_sev = {s: sum(1 for d in counted if d.finding.severity is s) for s in Severity}
    lines.append(
        "  open findings: "
        + ", ".join(f"{by_sev[s]} {s.label}" for s in sorted(Severity, reverse=True))
    )
    others = [
        f"{verdict.counts.get(st.value, 0)} {st.value}"
        for st in (Status.WAIVED, Status.SUPPRESSED, Status.PREEXISTING)
        if verdict.counts.get(st.value)
    ]
    if others:
        lines.append("  not counted: " + ", ".join(others))
    blocking = sorted(verdict.blocking, key=lambda d: -d.finding.severity)
    if blocking:
        lines.append("blocking:")
        for d in blocking[:MAX_LISTED]:
            f = d.finding
            note = f" ({d.note})" if d.note else ""
            lines.append(
                f"  {f.severity.label.upper():8} {f.location.display()}  {f.scanner} {f.rule_id}: "
                f"{f.title}{note}"
            )
        if len(blocking) > MAX_LISTED:
            lines.append(
                f"  … and {len(blocking) - MAX_LISTED} more (compliance findings --scan {scan_id})"
            )
    overdue = [d for d in verdict.decisions if d.overdue and not d.blocking]
    if overdue:
        lines.append(f"overdue (past their remediation date): {len(overdue)}")
    lines.extend(repository_config_lines(results))
    for w in verdict.warnings:
        lines.append(f"warning (downgraded by policy): {w.one_line()}")
    for e in verdict.expired_waivers:
        lines.append(f"expired waiver: {e.waiver.describe()} [{e.source}]")
    for e in verdict.unused_waivers:
        lines.append(
            f"unused waiver (matched nothing; remove it?): {e.waiver.describe()} [{e.source}]"
        )
    label = {Outcome.PASS: "PASS", Outcome.FAIL: "FAIL", Outcome.ERROR: "ERROR"}[verdict.outcome]
    lines.append(f"verdict: {label} (exit {verdict.exit_code})")
    lines.extend(f"  {reason}" for reason in verdict.reasons)
    return lines
