"""Regressions since the previous run of the same target: what a drift alert reports.

Only what got worse: new open findings, hosts newly unreachable, waivers that expired
since. Nothing changed → nothing to say, so alert channels stay quiet and trusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compliance.store import Store
from compliance.store.models import FindingRecord, ScanRecord


@dataclass
class Drift:
    scan: ScanRecord
    previous: ScanRecord | None
    new_failures: list[FindingRecord] = field(default_factory=list)
    newly_unreachable: list[str] = field(default_factory=list)
    expired_waivers: list[FindingRecord] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.new_failures or self.newly_unreachable or self.expired_waivers)


def drift_since_previous(store: Store, scan_id: int) -> Drift:
    scan = store.resolve_scan(str(scan_id))
    previous = store.previous_scan(scan)
    current = store.findings(scan_id)
    before = store.findings(previous.id) if previous is not None and previous.id else []
    was_open = {f.fingerprint for f in before if f.status == "open"}
    was_waived = {f.fingerprint for f in before if f.status == "waived"}
    drift = Drift(scan, previous)
    drift.new_failures = [
        f for f in current if f.status == "open" and f.blocking and f.fingerprint not in was_open
    ]
    drift.expired_waivers = [
        f for f in current if f.status == "open" and f.fingerprint in was_waived
    ]
    unreachable_before = _unreachable(previous) if previous is not None else set()
    drift.newly_unreachable = sorted(_unreachable(scan) - unreachable_before)
    return drift


def _unreachable(scan: ScanRecord) -> set[str]:
    return {str(e.get("source")) for e in scan.errors or [] if e.get("kind") == "hosts.unreachable"}


def message(drift: Drift, limit: int = 20) -> str:
    """A Slack/Mattermost-friendly text (mrkdwn), bounded so a flood stays readable."""
    scan = drift.scan
    head = (
        f"*compliance*: regressions in {scan.kind} scan {scan.id} of `{scan.target}` "
        f"(verdict {scan.verdict}"
        + (f", previous scan {drift.previous.id}" if drift.previous else ", first scan")
        + ")"
    )
    lines = [head]
    if drift.new_failures:
        lines.append(f"*{len(drift.new_failures)} new blocking finding(s):*")
        for f in drift.new_failures[:limit]:
            where = f.host or (f"{f.path}:{f.start_line}" if f.path else f.package) or "?"
            lines.append(f"• {f.severity.upper()} {where} {f.scanner} {f.rule_id}: {f.title}")
        if len(drift.new_failures) > limit:
            lines.append(f"• … and {len(drift.new_failures) - limit} more")
    if drift.newly_unreachable:
        lines.append("*Hosts newly unreachable:* " + ", ".join(drift.newly_unreachable[:limit]))
    if drift.expired_waivers:
        lines.append(f"*{len(drift.expired_waivers)} waiver(s) expired*, findings count again:")
        for f in drift.expired_waivers[:limit]:
            lines.append(f"• {f.rule_id} {f.host or f.path or f.package}: {f.title}")
    return "\n".join(lines)
