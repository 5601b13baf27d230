"""What every renderer reads: one stored scan and its context, loaded once from the store.

Renderers never run a scanner and never re-judge: they show what the gate decided and the
store kept. "New" and "fixed" come from the store too: new means absent from the previous
complete scan of the same target, fixed is what the store's lifecycle marked fixed by this
scan (the store only does so when the scanner that found it completed).
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from compliance.findings import Severity
from compliance.gate import Status, Verdict
from compliance.policy.waivers import WaiverEntry
from compliance.render.rows import FindingStream, StoredFinding, load_fixed, load_new_fingerprints
from compliance.store import Store
from compliance.store.models import FindingRecord, HostCheckRecord, ScanRecord

TREND_SCANS = 30


def tool_version() -> str:
    try:
        return version("compliance")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


@dataclass(frozen=True)
class TrendPoint:
    scan_id: int
    started_at: datetime
    verdict: str | None
    status: str
    open_by_severity: dict[str, int]
    blocking: int


@dataclass(frozen=True)
class WaiverView:
    """A waiver as the report shows it; `state` is active, expired (debt) or unused."""

    what: str
    reason: str
    approver: str
    expires: str
    state: str
    source: str = ""
    findings: int = 0


@dataclass
class ReportData:
    scan: ScanRecord
    findings: FindingStream
    """Reported findings only (at or above the policy's report.min_severity, or blocking),
    worst first, read from the store on each iteration: 100k of them do not fit the memory
    budget several times over, so formats write as they read."""
    host_checks: list[HostCheckRecord]
    previous: ScanRecord | None
    new_fingerprints: frozenset[str]
    fixed: list[StoredFinding]
    """Findings this scan showed fixed, as last seen, with status 'fixed'."""
    trend: list[TrendPoint]
    waivers: list[WaiverView]
    no_history: str | None = None
    """Set when the database holds no earlier scan of this target: why there is no trend,
    nothing fixed and no "new" (see `no_history_note`)."""
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    version: str = field(default_factory=tool_version)

    @property
    def scan_id(self) -> int:
        assert self.scan.id is not None
        return self.scan.id

    def is_new(self, record: StoredFinding) -> bool:
        return record.fingerprint in self.new_fingerprints


def load_report(store: Store, scan_ref: str | int) -> ReportData:
    """Everything about one stored scan that any output format needs."""
    scan = store.resolve_scan(str(scan_ref))
    assert scan.id is not None
    findings = FindingStream(store, scan.id)
    history = _history(store, scan)
    previous = next((s for s in history if s.id != scan.id and s.status == "complete"), None)
    new = load_new_fingerprints(store, scan.id, previous.id if previous else None)
    fixed = load_fixed(store, scan.id, scan.target)
    return ReportData(
        scan=scan,
        findings=findings,
        host_checks=store.host_checks(scan.id),
        previous=previous,
        new_fingerprints=new,
        fixed=fixed,
        trend=_trend(store, history[:TREND_SCANS]),
        waivers=stored_waivers(scan, findings.noted()),
        no_history=no_history_note(store, len(history) - 1),
    )


def _history(store: Store, scan: ScanRecord) -> list[ScanRecord]:
    """This scan and the earlier scans of its target, newest first."""
    assert scan.id is not None
    return [
        s
        for s in store.scans(limit=500, target=scan.target)
        if (s.id or 0) <= scan.id
        # the slice before this one of a sharded audit covered other hosts: not "previous"
        and (s.shard_index, s.shard_count) == (scan.shard_index, scan.shard_count)
    ]


SINGLE_PIPELINE = "no history: single-pipeline database"


def history_note(store: Store, scan_id: int) -> str | None:
    """`no_history_note` for a stored scan: what the summary printed after a scan says."""
    return no_history_note(store, len(_history(store, store.resolve_scan(str(scan_id)))) - 1)


def no_history_note(store: Store, earlier_scans: int) -> str | None:
    """None when the database holds earlier scans of the target; else one line saying why
    there is no trend, nothing fixed and nothing new, so a report never draws a one-point
    trend as if it were history. In CI with SQLite that is the per-job database of the
    shipped template: it holds this pipeline's scan only, and the line says how to keep
    history (docs/ci-history.md). Decided when the report is rendered, from `$CI`."""
    if earlier_scans > 0:
        return None
    if os.environ.get("CI") and store.engine.dialect.name == "sqlite":
        return (
            f"{SINGLE_PIPELINE} (this job's SQLite file holds only this pipeline's scan; "
            "for trend, fixed and SLA tracking set COMPLIANCE_DB to a PostgreSQL URL in a "
            "masked, protected CI/CD variable: docs/ci-history.md)"
        )
    return "no history: the first scan of this target in this database"


def _trend(store: Store, scans: Sequence[ScanRecord]) -> list[TrendPoint]:
    """Open findings by severity for each scan, oldest first, in one grouped query."""
    ids = [s.id for s in scans if s.id is not None]
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if ids:
        with Session(store.engine) as session:
            query = (
                select(FindingRecord.scan_id, FindingRecord.severity, func.count())
                .where(col(FindingRecord.scan_id).in_(ids))
                .where(FindingRecord.status == Status.OPEN.value)
                .group_by(col(FindingRecord.scan_id), col(FindingRecord.severity))
            )
            for scan_id, severity, count in session.exec(query).all():
                counts[scan_id][severity] = count
    points = []
    for s in reversed(scans):
        assert s.id is not None
        summary_counts = (s.summary or {}).get("counts", {})
        points.append(
            TrendPoint(
                scan_id=s.id,
                started_at=s.started_at,
                verdict=s.verdict,
                status=s.status,
                open_by_severity={sev.label: counts[s.id].get(sev.label, 0) for sev in Severity},
                blocking=int(summary_counts.get("blocking", 0)),
            )
        )
    return points


# --- waivers ------------------------------------------------------------------------------


def waiver_summary(
    entries: Sequence[WaiverEntry], verdict: Verdict, target: str, today: date | None = None
) -> list[dict[str, Any]]:
    """The waivers a scan applied, for `ScanOutcome.summary["waivers"]`.

    The store keeps findings and verdicts but not the waiver file, which changes over time;
    storing this list with the scan lets a report show, months later, who approved what.
    """
    today = today or date.today()
    unused = {id(e) for e in verdict.unused_waivers}
    waived = [d.finding for d in verdict.decisions if d.status is Status.WAIVED]
    expired_hits = [d.finding for d in verdict.decisions if "waiver expired" in d.note]
    rows = []
    for entry in entries:
        w = entry.waiver
        expired = w.expired(today)
        pool = expired_hits if expired else waived
        state = "expired" if expired else "unused" if id(entry) in unused else "active"
        rows.append(
            {
                "what": w.fingerprint or f"{w.rule}{' on ' + w.path if w.path else ''}",
                "reason": w.reason,
                "approver": w.approver,
                "expires": w.expires.isoformat(),
                "state": state,
                "source": entry.source,
                "findings": sum(1 for f in pool if w.matches(f, target)),
            }
        )
    return rows


_WAIVED = re.compile(
    r"^waived: (?P<reason>.*) \(approved by (?P<approver>.*) until (?P<exp>[\d-]+)\)$"
)
_EXPIRED = re.compile(r"waiver expired (?P<exp>[\d-]+) \((?P<source>[^)]*)\)")


def stored_waivers(scan: ScanRecord, findings: Iterable[StoredFinding]) -> list[WaiverView]:
    """Waivers as stored with the scan; for scans stored without that list, rebuilt from the
    gate's notes on the findings they waived (unused waivers cannot be recovered then)."""
    stored = (scan.summary or {}).get("waivers")
    if isinstance(stored, list):
        return [
            WaiverView(
                what=str(w.get("what", "")),
                reason=str(w.get("reason", "")),
                approver=str(w.get("approver", "")),
                expires=str(w.get("expires", "")),
                state=str(w.get("state", "active")),
                source=str(w.get("source", "")),
                findings=int(w.get("findings", 0)),
            )
            for w in stored
            if isinstance(w, dict)
        ]
    active: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    expired: Counter[tuple[str, str]] = Counter()
    for f in findings:
        if not f.note or (f.status != Status.WAIVED.value and "waiver expired" not in f.note):
            continue
        match = _WAIVED.match(f.note)
        if f.status == Status.WAIVED.value and match:
            active[(match["reason"], match["approver"], match["exp"])][f.rule_id] += 1
        for hit in _EXPIRED.finditer(f.note):
            expired[(hit["exp"], hit["source"])] += 1
    views = [
        WaiverView(
            what=", ".join(sorted(rules)),
            reason=reason,
            approver=approver,
            expires=expires,
            state="active",
            findings=sum(rules.values()),
        )
        for (reason, approver, expires), rules in active.items()
    ]
    views += [
        WaiverView(
            what="(see waiver file)",
            reason="",
            approver="",
            expires=expires,
            state="expired",
            source=source,
            findings=n,
        )
        for (expires, source), n in expired.items()
    ]
    return views
