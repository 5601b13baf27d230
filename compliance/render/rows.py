"""Stored findings as light, read-only rows, streamed from the store.

A report of 100k findings must not build 100k ORM objects (seconds and hundreds of MB):
renderers read plain slotted rows with the same fields as `FindingRecord`, straight from a
SELECT. `FindingStream` reads them a chunk at a time (a server-side cursor on PostgreSQL),
so a format that writes as it reads holds one chunk, not the whole scan. Fixed findings
come from one join instead of one query per finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import JSON, String, Table, func, or_, select, type_coerce

from compliance.store import Store
from compliance.store.models import FindingRecord, LifecycleRecord


@dataclass(slots=True)
class StoredFinding:
    """One row of the `finding` table (the same names as `FindingRecord`'s fields)."""

    id: int | None
    scan_id: int
    fingerprint: str
    scanner: str
    rule_id: str
    severity: str
    severity_rank: int
    confidence: str | None
    title: str
    message: str
    path: str | None
    start_line: int | None
    end_line: int | None
    package: str | None
    version: str | None
    host: str | None
    evidence: str
    references: list[str]
    remediation: str
    fix_versions: list[str]
    status: str
    blocking: bool
    reported: bool
    note: str
    due_date: date | None
    first_seen_at: datetime | None
    inline_suppressed: bool | None
    tool_severity: str | None
    weakness: str | None
    also: list[dict[str, Any]] | None

    def __post_init__(self) -> None:
        if self.references is None:
            self.references = []
        if self.fix_versions is None:
            self.fix_versions = []

    def as_record(self) -> FindingRecord:
        """For helpers typed on the ORM class (records.finding_json): same attribute names."""
        return cast(FindingRecord, self)


FINDING = cast(Table, FindingRecord.__table__)  # type: ignore[attr-defined]
CHUNK = 500  # bound parameters per IN (…): well under SQLite's and PostgreSQL's limits
STREAM_ROWS = 2000  # rows fetched per round trip when streaming a scan's findings
LIFECYCLE = cast(Table, LifecycleRecord.__table__)  # type: ignore[attr-defined]


if tuple(c.name for c in FINDING.columns) != tuple(f.name for f in fields(StoredFinding)):
    raise ImportError("StoredFinding no longer matches the finding table; update render/rows.py")


def _row(row: Any) -> StoredFinding:
    return StoredFinding(*row)  # same column order, checked above


# The JSON columns (references, fix_versions) are read as text and decoded here, through a
# cache: at 100k findings a few hundred distinct lists repeat, and decoding each row's copy
# was a third of the time spent reading a scan. PostgreSQL's driver hands back lists.
_JSON_AT = [i for i, c in enumerate(FINDING.columns) if isinstance(c.type, JSON)]
_STREAM_COLUMNS = [
    type_coerce(c, String) if isinstance(c.type, JSON) else c for c in FINDING.columns
]


@lru_cache(maxsize=8192)
def _decode(text: str) -> tuple[Any, ...]:
    value = json.loads(text)
    return tuple(value) if isinstance(value, list) else ()


def _stream_row(row: Any) -> StoredFinding:
    values = list(row)
    for i in _JSON_AT:
        raw = values[i]
        values[i] = list(_decode(raw)) if isinstance(raw, str) else list(raw or ())
    return StoredFinding(*values)


class FindingStream:
    """A scan's findings, worst first, read from the store each time it is iterated.

    Iterating twice reads twice: a renderer that needs everything at once (the HTML page
    sorts and interns all rows) makes its own list; the others write as they read.
    `reported_only` keeps what the report shows: findings at or above the policy's
    report.min_severity, and every blocking one.
    """

    def __init__(
        self,
        store: Store,
        scan_id: int | Sequence[int],
        *,
        reported_only: bool = True,
        noted_only: bool = False,
    ):
        self.store = store
        # several ids: the shards of a scan group, read as one fleet
        self.scan_ids = [scan_id] if isinstance(scan_id, int) else list(scan_id)
        self.reported_only = reported_only
        self.noted_only = noted_only

    def noted(self) -> FindingStream:
        """Only the findings the gate left a note on (waived, waiver expired, overdue …)."""
        return FindingStream(
            self.store, self.scan_ids, reported_only=self.reported_only, noted_only=True
        )

    def _where(self) -> list[Any]:
        conditions: list[Any] = [FINDING.c.scan_id.in_(self.scan_ids)]
        if self.reported_only:
            conditions.append(or_(FINDING.c.reported, FINDING.c.blocking))
        if self.noted_only:
            conditions.append(FINDING.c.note != "")
        return conditions

    def __iter__(self) -> Iterator[StoredFinding]:
        query = (
            select(*_STREAM_COLUMNS)
            .where(*self._where())
            .order_by(FINDING.c.severity_rank.desc(), FINDING.c.scan_id, FINDING.c.id)
        )
        with self.store.engine.connect() as connection:
            rows = connection.execution_options(yield_per=STREAM_ROWS).execute(query)
            for row in rows:
                yield _stream_row(row)

    def __len__(self) -> int:
        query = select(func.count()).select_from(FINDING).where(*self._where())
        with self.store.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())


def load_new_fingerprints(store: Store, scan_id: int, previous_id: int | None) -> frozenset[str]:
    """Fingerprints of `scan_id` absent from `previous_id` (all of them without one), computed
    by the database so neither scan's 100k identities have to be held here."""
    query = select(FINDING.c.fingerprint).where(FINDING.c.scan_id == scan_id)
    if previous_id is not None:
        before = select(FINDING.c.fingerprint).where(FINDING.c.scan_id == previous_id)
        query = query.except_(before)  # type: ignore[assignment]
    with store.engine.connect() as connection:
        return frozenset(connection.execute(query).scalars())


def load_fixed(store: Store, scan_id: int, target: str) -> list[StoredFinding]:
    """Findings this scan showed fixed, as last seen, with status 'fixed'.

    Two indexed steps (which identities, then their last sightings per scan) rather than
    a join SQLite plans badly or a query per finding."""
    wanted = (
        select(LIFECYCLE.c.fingerprint, LIFECYCLE.c.last_seen_scan_id)
        .where(LIFECYCLE.c.target == target)
        .where(LIFECYCLE.c.fixed_scan_id == scan_id)
    )
    by_scan: dict[int, set[str]] = {}
    result: dict[str, StoredFinding] = {}
    with store.engine.connect() as connection:
        for fp, last_scan in connection.execute(wanted):
            by_scan.setdefault(last_scan, set()).add(fp)
        for last_scan, fingerprints in by_scan.items():
            ordered = sorted(fingerprints)
            for start in range(0, len(ordered), CHUNK):
                chunk = ordered[start : start + CHUNK]
                query = select(FINDING).where(
                    FINDING.c.scan_id == last_scan, FINDING.c.fingerprint.in_(chunk)
                )
                for row in connection.execute(query):
                    item = _row(row)
                    if item.fingerprint not in result:
                        item.status, item.blocking = "fixed", False
                        item.note = f"fixed in scan {scan_id}"
                        result[item.fingerprint] = item
    return sorted(result.values(), key=lambda f: (-f.severity_rank, f.id or 0))
