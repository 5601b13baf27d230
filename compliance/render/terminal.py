"""The short human summary printed after a scan: counts, what blocks and where, the verdict.

One `SummaryParts` is built from the verdict; it is shown either as plain lines (a pipe, a
file, a CI log: one fact per line, stable for scripts) or, on a terminal, with the scanners
and blocking findings as tables that fit the terminal's width, in colour unless NO_COLOR.

Every text is passed through `escape.terminal_safe`: file names, rule ids, titles, notes
and reasons come from the scanned tree or the store, and a newline or escape sequence in one
of them must not print a line of its own (a forged "verdict: PASS"). The rich view builds
`Text` objects from those strings and never parses markup, so `[bold]` in a file name is
printed as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from compliance.findings import Finding, Severity
from compliance.gate import Decision, Outcome, Status, Verdict
from compliance.render.escape import terminal_safe
from compliance.render.repository_config import repository_config_lines
from compliance.scanners.interface import ScannerResult

MAX_LISTED = 50
VERDICT_STYLE = {Outcome.PASS: "bold green", Outcome.FAIL: "bold red", Outcome.ERROR: "bold red"}
SEVERITY_STYLE = {"CRITICAL": "bold red", "HIGH": "red", "MEDIUM": "yellow", "LOW": "cyan"}


@dataclass
class SummaryParts:
    """The summary's facts, already made terminal-safe, before any layout."""

    title: str
    before: list[str] = field(default_factory=list)  # baseline
    scanners: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    scanner_notes: dict[int, list[str]] = field(default_factory=dict)  # by scanner row
    counts: list[str] = field(default_factory=list)
    blocking: list[tuple[str, str, str, str]] = field(default_factory=list)
    blocking_details: dict[int, list[str]] = field(default_factory=dict)  # by blocking row
    more_blocking: str = ""
    after: list[str] = field(default_factory=list)
    verdict: str = ""
    outcome: Outcome = Outcome.PASS
    reasons: list[str] = field(default_factory=list)


def summary_parts(
    verdict: Verdict,
    results: Sequence[ScannerResult],
    scan_id: int,
    target: str,
    baseline: str | None = None,
    max_listed: int = MAX_LISTED,
) -> SummaryParts:
    """`baseline`: which baseline judged the scan (diff-aware mode), e.g. 'scan 12 (…)'."""
    safe = terminal_safe
    parts = SummaryParts(title=safe(f"scan {scan_id} of {target}"), outcome=verdict.outcome)
    if baseline:
        parts.before.append(safe(f"baseline: {baseline}"))
    for r in results:
        parts.scanners.append(
            (
                safe(r.scanner),
                safe(r.version or ""),
                f"{r.files_scanned}/{r.files_requested}",
                str(len(r.findings)),
                "ok" if r.complete else "INCOMPLETE",
            )
        )
        notes = [r.runtime] if r.runtime else []
        notes += [note.one_line() for note in r.not_scanned]
        notes += [manifest.one_line() for manifest in r.manifests]
        if notes:
            parts.scanner_notes[len(parts.scanners) - 1] = [safe(note) for note in notes]
    counted = [d for d in verdict.decisions if d.status is Status.OPEN]
    by_sev = {s: sum(1 for d in counted if d.finding.severity is s) for s in Severity}
    parts.counts.append(
        "open findings: "
        + ", ".join(f"{by_sev[s]} {s.label}" for s in sorted(Severity, reverse=True))
    )
    others = [
        f"{verdict.counts.get(st.value, 0)} {st.value}"
        for st in (Status.WAIVED, Status.SUPPRESSED, Status.PREEXISTING)
        if verdict.counts.get(st.value)
    ]
    if others:
        parts.counts.append("not counted: " + ", ".join(others))
    blocking = sorted(verdict.blocking, key=lambda d: -d.finding.severity)
    for d in blocking[:max_listed]:
        f = d.finding
        note = f" ({d.note})" if d.note else ""
        parts.blocking.append(
            (
                f.severity.label.upper(),
                safe(f.location.display()),
                safe(f"{f.scanner} {f.rule_id}"),
                safe(f"{f.title}{note}"),
            )
        )
        details = []
        if f.location.package and f.remediation:  # the lowest version fixing them all
            details.append(f.remediation)
        if f.location.host is not None:
            details.append(_observed_line(f))
        if details:
            parts.blocking_details[len(parts.blocking) - 1] = [safe(x) for x in details]
    if len(blocking) > max_listed:
        parts.more_blocking = (
            f"… and {len(blocking) - max_listed} more (compliance findings --scan {scan_id})"
        )
    after = [_new_suppression_line(d) for d in verdict.new_suppressions]
    overdue = [d for d in verdict.decisions if d.overdue and not d.blocking]
    if overdue:
        after.append(f"overdue (past their remediation date): {len(overdue)}")
    after.extend(repository_config_lines(results))
    after.extend(f"warning (downgraded by policy): {w.one_line()}" for w in verdict.warnings)
    after.extend(
        f"expired waiver: {e.waiver.describe()} [{e.source}]" for e in verdict.expired_waivers
    )
    after.extend(
        f"unused waiver (matched nothing; remove it?): {e.waiver.describe()} [{e.source}]"
        for e in verdict.unused_waivers
    )
    parts.after = [safe(line) for line in after]
    label = {Outcome.PASS: "PASS", Outcome.FAIL: "FAIL", Outcome.ERROR: "ERROR"}[verdict.outcome]
    parts.verdict = f"verdict: {label} (exit {verdict.exit_code})"
    parts.reasons = [safe(reason) for reason in verdict.reasons]
    return parts


def summary(
    verdict: Verdict,
    results: Sequence[ScannerResult],
    scan_id: int,
    target: str,
    baseline: str | None = None,
) -> list[str]:
    """The summary as plain lines (what a pipe or CI log gets)."""
    return plain_lines(summary_parts(verdict, results, scan_id, target, baseline))


def plain_lines(parts: SummaryParts, header: bool = True) -> list[str]:
    lines = [parts.title] if header else []
    lines.extend(f"  {line}" for line in parts.before)
    for i, (name, version, files, found, state) in enumerate(parts.scanners):
        named = f"{name} {version}" if version else name
        lines.append(f"  {named}: {files} files, {found} findings, {state}")
        lines.extend(f"    {note}" for note in parts.scanner_notes.get(i, []))
    lines.extend(f"  {line}" for line in parts.counts)
    if parts.blocking:
        lines.append("blocking:")
        for i, (sev, where, rule, title) in enumerate(parts.blocking):
            lines.append(f"  {sev:8} {where}  {rule}: {title}")
            lines.extend(f"           {detail}" for detail in parts.blocking_details.get(i, []))
        if parts.more_blocking:
            lines.append(f"  {parts.more_blocking}")
    lines.extend(parts.after)
    lines.append(parts.verdict)
    lines.extend(f"  {reason}" for reason in parts.reasons)
    return lines


def styled_lines(lines: Sequence[str], outcome: Outcome | None = None) -> list[Text]:
    """Plain lines with colour on the verdict and severities (shown only where colour is on)."""
    out = []
    for line in lines:
        text = Text(line)
        if outcome is not None and line.startswith("verdict: "):
            text.stylize(VERDICT_STYLE[outcome])
        for word, style in SEVERITY_STYLE.items():
            if line.startswith(f"  {word} "):
                text.stylize(style, 2, 2 + len(word))
        out.append(text)
    return out


def summary_view(parts: SummaryParts, header: bool = True) -> list[RenderableType]:
    """The terminal layout: scanners and blocking findings as tables fitting the width."""
    items: list[RenderableType] = []
    if header:
        items.append(Text(parts.title, style="bold"))
    items.extend(Text(f"  {line}") for line in parts.before)
    if parts.scanners:
        table = Table(box=None, padding=(0, 1), pad_edge=True, show_edge=False)
        for column, justify in (
            ("scanner", "left"),
            ("version", "left"),
            ("files", "right"),
            ("findings", "right"),
            ("state", "left"),
        ):
            table.add_column(column, justify=justify, style="dim" if column == "version" else "")  # type: ignore[arg-type]
        for row in parts.scanners:
            state = Text(row[4], style="green" if row[4] == "ok" else "bold red")
            table.add_row(*(Text(cell) for cell in row[:4]), state)
        items.append(table)
        # below the table, not in a cell: a long note would widen every row of it
        for i, row in enumerate(parts.scanners):
            items.extend(
                Text(f"    {row[0]}: {note}", style="yellow")
                for note in parts.scanner_notes.get(i, [])
            )
    items.extend(Text(f"  {line}") for line in parts.counts)
    if parts.blocking:
        table = Table(title=None, box=None, padding=(0, 1), show_edge=False, expand=False)
        table.add_column("blocking", no_wrap=True)
        table.add_column("where", overflow="fold", ratio=2)
        table.add_column("rule", overflow="fold")
        table.add_column("title", overflow="fold", ratio=3)
        for i, (sev, where, rule, title) in enumerate(parts.blocking):
            table.add_row(
                Text(sev, style=SEVERITY_STYLE.get(sev, "")), Text(where), Text(rule), Text(title)
            )
            for detail in parts.blocking_details.get(i, []):
                table.add_row("", "", "", Text(detail, style="dim"))
        items.append(table)
        if parts.more_blocking:
            items.append(Text(f"  {parts.more_blocking}"))
    items.extend(Text(line) for line in parts.after)
    items.append(Text(parts.verdict, style=VERDICT_STYLE[parts.outcome]))
    items.extend(Text(f"  {reason}") for reason in parts.reasons)
    return items


def _observed_line(f: Finding) -> str:
    """A failed host check: what the host showed beside what the policy expects."""
    observed = f.evidence.strip().split("\n", 1)[0] or "(nothing)"
    expected = f.message.split("\n", 1)[0].removeprefix("expected: ")
    return f"observed: {_cut(observed)}   expected: {_cut(expected)}"


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
