"""The rules every governed waiver follows: a real reason, two people, a bounded lifetime.

One set of rules for both doors a waiver comes in by: `compliance waive` refuses to write a
waiver that breaks them, and the gate does not apply one that breaks them when it reads the
repository's own waiver file (which the merge request under review can edit at will).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

from compliance.policy.waivers import Waiver


def governance_problems(waiver: Waiver, *, max_days: int, today: date) -> list[str]:
    """Why `waiver` may not apply, one short sentence each; empty when it may.

    Its lifetime is counted from `created` (from today when it has none). A `created` date
    in the future is refused: it would stretch the lifetime past the maximum.
    """
    problems = []
    if len(waiver.reason.strip()) < 3:
        problems.append("its reason is empty: say why the finding is acceptable")
    if not waiver.approver.strip():
        problems.append("its approver is empty")
    if waiver.created is not None and waiver.created > today:
        problems.append(f"created {waiver.created.isoformat()} is in the future")
    start = waiver.created if waiver.created is not None and waiver.created <= today else today
    if waiver.expires > start + timedelta(days=max_days):
        since = f"its created date {start.isoformat()}" if waiver.created else "today"
        problems.append(
            f"expires {waiver.expires.isoformat()}, {(waiver.expires - start).days} days after "
            f"{since}: more than the policy allows (waivers_max_days: {max_days}); "
            "shorten it, and renew it when it ends"
        )
    if waiver.requested_by and same_person(waiver.approver, [waiver.requested_by]):
        problems.append(
            f"its approver {waiver.approver!r} is also who requested it (requested_by): "
            "a waiver needs a second person to approve it"
        )
    return problems


def new_waiver_problems(
    waiver: Waiver, *, max_days: int, today: date, requester: Collection[str]
) -> list[str]:
    """`governance_problems`, plus what only a new waiver can be refused for: an expiry
    already past, and an approver who is the person asking (any name they are known by)."""
    problems = []
    if waiver.expires < today:
        problems.append(f"it expires {waiver.expires.isoformat()}, which is in the past")
    problems.extend(governance_problems(waiver, max_days=max_days, today=today))
    said = waiver.requested_by is not None and same_person(waiver.approver, [waiver.requested_by])
    if not said and same_person(waiver.approver, requester):
        problems.append(
            f"its approver {waiver.approver!r} is the requester ({', '.join(sorted(requester))}):"
            " a waiver needs a second person to approve it"
        )
    return problems


def same_person(approver: str, names: Collection[str]) -> bool:
    """True when `approver` is one of `names`, ignoring case, or the local part of one that
    is an e-mail address (`alice` approving for alice@example.com)."""
    wanted = approver.strip().casefold()
    for name in names:
        known = name.strip().casefold()
        if wanted and (wanted == known or ("@" in known and wanted == known.split("@", 1)[0])):
            return True
    return False
