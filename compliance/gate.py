"""The verdict: findings + policy + waivers + baseline + errors → pass, fail or error.

The gate reads nothing else: no scanner output, no database. That keeps it a pure function
that unit tests can pin down completely, and keeps "why did this block?" answerable from
the verdict's reasons alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from compliance.findings import Finding, Severity
from compliance.policy.model import HOST_SCANNER, Policy
from compliance.policy.waivers import WaiverEntry
from compliance.scanners.interface import ScanError
from compliance.weakness import members


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    ERROR = "error"

    @property
    def exit_code(self) -> int:
        return {Outcome.PASS: 0, Outcome.FAIL: 1, Outcome.ERROR: 2}[self]


class Status(StrEnum):
    OPEN = "open"
    WAIVED = "waived"
    SUPPRESSED = "suppressed"
    PREEXISTING = "preexisting"


@dataclass(frozen=True)
class Decision:
    finding: Finding
    status: Status
    blocking: bool
    reported: bool
    note: str = ""
    due_date: date | None = None
    overdue: bool = False
    new_suppression: bool = False
    """Suppressed inline (`# nosec`, `# nosemgrep`) where the baseline was not: an exception
    this change adds. Judged as open unless exceptions.new_inline_suppressions is allow."""


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reasons: tuple[str, ...]
    decisions: tuple[Decision, ...]
    errors: tuple[ScanError, ...] = ()
    warnings: tuple[ScanError, ...] = ()
    unused_waivers: tuple[WaiverEntry, ...] = ()
    expired_waivers: tuple[WaiverEntry, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    @property
    def blocking(self) -> list[Decision]:
        return [d for d in self.decisions if d.blocking]

    @property
    def new_suppressions(self) -> list[Decision]:
        return [d for d in self.decisions if d.new_suppression]


@dataclass(frozen=True)
class GateInput:
    findings: Sequence[Finding]
    policy: Policy
    target: str
    waivers: Sequence[WaiverEntry] = ()
    errors: Sequence[ScanError] = ()
    baseline: Collection[str] | None = None
    baseline_suppressed: Collection[str] = frozenset()
    """Fingerprints the baseline had suppressed inline: only those suppressions are old."""
    first_seen: Mapping[str, datetime] = field(default_factory=dict)
    today: date = field(default_factory=date.today)
    violations: Sequence[str] = ()
    """Policy rules broken by the findings taken together (a host scoring below
    `hosts.min_score`): each one blocks, and is a reason as written."""
    judged_by: str = ""
    """The blocking rule in force, said in words, to explain why open findings do not block
    (default: the gate's severity and confidence thresholds)."""


def judge(data: GateInput) -> Verdict:
    policy = data.policy
    used: set[int] = set()
    expired_matched: set[int] = set()
    decisions = [_decide(f, data, used, expired_matched) for f in data.findings]
    decisions = _apply_max_counts(decisions, policy)

    blocking_errors = tuple(e for e in data.errors if not policy.treats_as_warning(e.kind))
    warnings = tuple(e for e in data.errors if policy.treats_as_warning(e.kind))
    expired = tuple(entry for entry in data.waivers if entry.waiver.expired(data.today))
    unused = tuple(
        entry
        for i, entry in enumerate(data.waivers)
        if i not in used and i not in expired_matched and not entry.waiver.expired(data.today)
    )

    reasons: list[str] = [f"could not decide: {e.one_line()}" for e in blocking_errors]
    blocking = [d for d in decisions if d.blocking]
    if blocking:
        reasons.append(f"{len(blocking)} blocking finding(s): {_by_severity(blocking)}")
    reasons.extend(data.violations)
    unhidden = [d.finding.location.display() for d in blocking if d.new_suppression]
    if unhidden:
        more = f" and {len(unhidden) - 10} more" if len(unhidden) > 10 else ""
        reasons.append(
            f"{len(unhidden)} new inline suppression(s) do not hide their finding "
            f"(exceptions.new_inline_suppressions: block): {', '.join(unhidden[:10])}{more}; "
            "add a waiver or remove them"
        )
    reasons.extend(
        f"waiver expired on {e.waiver.expires.isoformat()} and no longer applies: "
        f"{e.waiver.describe()} [{e.source}]"
        for i, e in enumerate(data.waivers)
        if i in expired_matched
    )
    violated = bool(blocking or data.violations)
    outcome = Outcome.ERROR if blocking_errors else Outcome.FAIL if violated else Outcome.PASS
    # failed host checks that do not block: never "nothing violates the policy" while
    # checks failed; say how many and why they pass (code scans keep their wording)
    quiet = [
        d
        for d in decisions
        if d.status is Status.OPEN and not d.blocking and d.finding.scanner == HOST_SCANNER
    ]
    if quiet:
        why = data.judged_by or policy.hosts.describe()
        other = " other" if violated else ""
        reasons.append(
            f"{len(quiet)}{other} open finding(s) ({_by_severity(quiet)}) do not block: {why}"
        )
    if outcome is Outcome.PASS:
        reasons.insert(
            0,
            "everything asked was scanned and nothing blocks"
            if quiet
            else "everything asked was scanned and nothing violates the policy",
        )
    counts = Counter(d.status.value for d in decisions)
    counts["blocking"] = len(blocking)
    counts["violations"] = len(data.violations)
    counts["overdue"] = sum(1 for d in decisions if d.overdue)
    return Verdict(
        outcome=outcome,
        reasons=tuple(reasons),
        decisions=tuple(decisions),
        errors=blocking_errors,
        warnings=warnings,
        unused_waivers=unused,
        expired_waivers=expired,
        counts=dict(counts),
    )


def _by_severity(decisions: Sequence[Decision]) -> str:
    """'2 critical, 1 low': counts, most severe first."""
    counted = Counter(d.finding.severity for d in decisions)
    return ", ".join(f"{counted[s]} {s.label}" for s in sorted(counted, reverse=True))


def _decide(
    finding: Finding, data: GateInput, used: set[int], expired_matched: set[int]
) -> Decision:
    policy = data.policy
    reported = finding.severity >= policy.report.min_severity
    due = _due_date(finding, data)
    overdue = due is not None and due < data.today
    unhidden = ""  # why a suppression does not hide this finding
    new_suppression = False
    if finding.suppressed:
        new_suppression = data.baseline is not None and not any(
            m.fingerprint in data.baseline_suppressed for m in members(finding)
        )
        if not new_suppression:
            return Decision(finding, Status.SUPPRESSED, False, reported, "suppressed inline", due)
        if policy.exceptions.new_inline_suppressions == "allow":
            return Decision(
                finding,
                Status.SUPPRESSED,
                False,
                reported,
                "new inline suppression, allowed by exceptions.new_inline_suppressions",
                due,
                new_suppression=True,
            )
        unhidden = (
            f"new inline suppression at {finding.location.display()}: add a waiver or remove it"
        )
    note = ""
    for i, entry in enumerate(data.waivers):
        # one flaw two tools reported: a waiver of either tool's finding applies
        if not any(entry.waiver.matches(m, data.target) for m in members(finding)):
            continue
        if entry.waiver.expired(data.today):
            expired_matched.add(i)
            note = f"waiver expired {entry.waiver.expires.isoformat()} ({entry.source})"
            continue
        used.add(i)
        return Decision(
            finding,
            Status.WAIVED,
            False,
            reported,
            f"waived: {entry.waiver.reason} "
            f"(approved by {entry.waiver.approver} until {entry.waiver.expires.isoformat()})",
            due,
            new_suppression=new_suppression,
        )
    if data.baseline is not None and any(m.fingerprint in data.baseline for m in members(finding)):
        return Decision(
            finding,
            Status.PREEXISTING,
            False,
            reported,
            "in the baseline",
            due,
            overdue,
            new_suppression=new_suppression,
        )
    # one flaw that several tools reported blocks when any of their findings would alone,
    # each under its own scanner's threshold (hosts: hosts.fail_on)
    blocks = any(
        (threshold := policy.blocking_threshold(m.scanner)) is not None
        and m.severity >= threshold
        and (m.confidence is None or m.confidence >= policy.min_confidence(m.scanner))
        for m in members(finding)
    )
    if overdue:
        note = f"{note}; " if note else ""
        note += f"overdue since {due.isoformat() if due else '?'}"
        blocks = blocks or policy.gate.overdue == "fail"
    unfixable = finding.location.package is not None and not finding.fix_versions
    if blocks and unfixable and policy.dependencies.only_fixable:
        blocks = False
        note = f"{note}; " if note else ""
        note += "no fixed version yet (dependencies.only_fixable)"
    note = "; ".join(part for part in (unhidden, note) if part)
    return Decision(
        finding,
        Status.OPEN,
        blocks,
        reported or blocks,
        note,
        due,
        overdue,
        new_suppression=new_suppression,
    )


def _due_date(finding: Finding, data: GateInput) -> date | None:
    days = data.policy.sla_days.get(finding.severity)
    if days is None:
        return None
    sightings = [
        data.first_seen[m.fingerprint] for m in members(finding) if m.fingerprint in data.first_seen
    ]
    seen = min(sightings) if sightings else None
    start = seen.date() if seen else data.today
    return start + timedelta(days=days)


def _apply_max_counts(decisions: list[Decision], policy: Policy) -> list[Decision]:
    """`max_counts: {medium: 10}`: more than ten open medium findings block, all of them."""
    limits = policy.gate.max_counts
    if not limits:
        return decisions
    open_counts = Counter(d.finding.severity for d in decisions if d.status is Status.OPEN)
    over = {s for s, limit in limits.items() if open_counts[s] > limit}
    result = []
    for d in decisions:
        if d.status is Status.OPEN and not d.blocking and d.finding.severity in over:
            s = d.finding.severity
            note = f"more than {limits[s]} open {s.label} findings ({open_counts[s]})"
            if d.new_suppression:
                note = f"{d.note}; {note}"
            d = replace(d, blocking=True, reported=True, note=note)
        result.append(d)
    return result


def severity_counts(decisions: Sequence[Decision]) -> dict[Severity, int]:
    counts = dict.fromkeys(Severity, 0)
    for d in decisions:
        counts[d.finding.severity] += 1
    return counts
