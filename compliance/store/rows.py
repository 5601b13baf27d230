"""The rows a finished scan writes, one named type per row kind, for every backend.

`finish_scan` writes up to 100k findings, as many lifecycle rows and thousands of host
checks through `BulkWriter` (executemany on SQLite, COPY on PostgreSQL). Rows are
`NamedTuple`s: built by field name (no positional tuple whose sixth value is silently the
wrong column after an edit) yet still plain tuples to the driver, with no per-row dict.
The column list handed to the writer is the row type's own `_fields`, so names and values
cannot drift apart; a test checks every field is a column of its table.

Values are in storage form (`BulkWriter.storage`): timestamps, booleans and JSON lists as
the driver takes them, converted once per distinct value.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class FindingRow(NamedTuple):
    """One finding as seen by one scan (table `finding`)."""

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
    references: Any
    remediation: str
    fix_versions: Any
    status: str
    blocking: Any
    reported: Any
    note: str
    due_date: Any
    first_seen_at: Any
    inline_suppressed: Any
    tool_severity: str | None
    weakness: str | None
    also: Any


class HostCheckWrite(NamedTuple):
    """One check on one host in one scan (table `host_check`)."""

    scan_id: int
    host: str
    check_id: str
    title: str
    status: str
    severity: str
    expected: str
    observed: str
    references: Any
    remediation: str
    policy: str


class LifecycleSighting(NamedTuple):
    """What every sighting of an identity writes (table `finding_lifecycle`): on a known
    identity an update by row id (`BulkWriter.update_by_id`, rows `(id, *sighting)`), on a
    new one the tail of the inserted row (`LIFECYCLE_NEW`)."""

    last_seen_at: Any
    last_seen_scan_id: int
    fixed_at: Any
    fixed_scan_id: int | None
    severity: str
    title: str
    location: str
    """`Location.display()`, for people only: nothing compares it (`host` is matched)."""
    host: str | None
    state: str
    due_date: Any


class LifecycleIdentity(NamedTuple):
    """What an identity seen for the first time on a target adds before its sighting."""

    target: str
    fingerprint: str
    scanner: str
    rule_id: str
    first_seen_at: Any
    first_seen_scan_id: int


LIFECYCLE_NEW = LifecycleIdentity._fields + LifecycleSighting._fields
"""Columns of an inserted lifecycle row: `identity + sighting`, one flat tuple."""


ROW_TABLES: dict[type[tuple[Any, ...]], str] = {
    FindingRow: "finding",
    HostCheckWrite: "host_check",
    LifecycleSighting: "finding_lifecycle",
    LifecycleIdentity: "finding_lifecycle",
}
"""Each row kind's table, for the test that keeps the fields and the columns in step."""
