"""The short human summary printed after a scan: counts, what blocks and where, the verdict.

Every line is passed through `escape.terminal_safe`: file names, rule ids, titles, notes and
reasons come from the scanned tree or the store, and a newline or escape sequence in one of
them must not print a line of its own (a forged "verdict: PASS")."""

from __future__ import annotations

from collections.abc import Sequence

from compliance.findings import Finding, Severity
from compliance.gate import Decision, Outcome, Status, Verdict
from compliance.render.escape import terminal_safe
from compliance.render.repository_config import repository_config_lines
from compliance.scanners.interface import ScannerResult

MAX_LISTED = 50


def summary(
    verdict: Verdict,
    results: Sequence[ScannerResult],
    scan_id: int,
    target: str,
    baseline: str | None = None,
) -> list[str]:
    """`baseline`: which baseline judged the scan (diff-aware mode), e.g. 'scan 12 (…)'."""
    lines = [f"scan {scan_id} of {target}"]
    if baseline:
        lines.append(f"  baseline: {baseline}")
    for r in results:
        version = f" {r.version}" if r.version else ""
        state = "ok" if r.complete else "INCOMPLETE"
        lines.append(
            f"  {r.scanner}{version}: {r.files_scanned}/{r.files_requested} files, "
            f"{len(r.findings)} findings, {state}"
        )
        if r.runtime:
            lines.append(f"    {r.runtime}")
        lines.extend(f"    {note.one_line()}" for note in r.not_scanned)
        lines.extend(f"    {manifest.one_line()}" for manifest in r.manifests)
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
            if f.location.package and f.remediation:  # the lowest version fixing them all
                lines.append(f"           {f.remediation}")
            if f.location.host is not None:
                lines.append(_observed_line(f))
        if len(blocking) > MAX_LISTED:
            lines.append(
                f"  … and {len(blocking) - MAX_LISTED} more (compliance findings --scan {scan_id})"
            )
    lines.extend(_new_suppression_line(d) for d in verdict.new_suppressions)
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
    return [terminal_safe(line) for line in lines]


def _observed_line(f: Finding) -> str:
    """A failed host check: what the host showed beside what the policy expects."""
    observed = f.evidence.strip().split("\n", 1)[0] or "(nothing)"
    expected = f.message.split("\n", 1)[0].removeprefix("expected: ")
    return f"           observed: {_cut(observed)}   expected: {_cut(expected)}"


def _cut(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _new_suppression_line(d: Decision) -> str:
    """One line per inline suppression this change adds, whatever became of its finding."""
    where = d.finding.location.display()
    why = f"{d.finding.scanner} {d.finding.rule_id}"
    if d.status is Status.OPEN:
        return f"new inline suppression at {where}: add a waiver or remove it ({why})"
    if d.status is Status.SUPPRESSED:
        return f"new inline suppression at {where} ({why}; allowed by policy)"
    return f"new inline suppression at {where} ({why}; {d.status.value}: {d.note})"
