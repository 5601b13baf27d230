"""Reading and writing scans. A scan row is committed first as `incomplete`; findings, the
verdict and lifecycle updates land together in one final transaction, so a process killed
half-way leaves an incomplete scan behind, never a clean pass."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Table, delete, func, or_, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from compliance.findings import Finding
from compliance.gate import Verdict
from compliance.store.baseline_match import BaselineKey, baseline_mismatch
from compliance.store.bulk import BulkWriter, Row, loader, stored
from compliance.store.engine import WRITE, StoreError, open_engine
from compliance.store.migrate import current_revision
from compliance.store.models import (
    FindingRecord,
    HostCheckRecord,
    LifecycleRecord,
    ScanRecord,
)
from compliance.store.rows import (
    LIFECYCLE_NEW,
    FindingRow,
    HostCheckWrite,
    LifecycleIdentity,
    LifecycleSighting,
)

T = TypeVar("T")
BULK = 5000  # ids per IN (…) list


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ScanMeta:
    kind: str
    target: str
    git_commit: str | None = None
    git_branch: str | None = None
    policy_path: str | None = None
    policy_digest: str | None = None
    scan_group: str | None = None
    shard_index: int | None = None
    shard_count: int | None = None
    tree_dirty: bool | None = None  # None: unknown (not a git tree): never a baseline
    scan_root: str | None = None  # the scanned root inside the repository, '.' for the top
    scanners: Sequence[str] | None = None  # the scanners asked to run


@dataclass(frozen=True)
class HostCheckRow:
    """One check on one host, as stored (read back as `HostCheckRecord`).

    Plain values, written with one bulk insert: building 6,800 ORM objects for 100 hosts and
    flushing them one by one took ~4 s, longer than auditing the hosts.
    """

    host: str
    check_id: str
    status: str
    title: str = ""
    severity: str = "medium"
    expected: str = ""
    observed: str = ""
    references: tuple[str, ...] = ()
    remediation: str = ""
    policy: str = ""


@dataclass
class ScanOutcome:
    """Everything a finished scan writes in its final transaction."""

    verdict: Verdict
    tool_versions: dict[str, str] = field(default_factory=dict)
    coverage: dict[str, Any] = field(default_factory=dict)
    completed_scanners: Sequence[str] = ()
    host_checks: Sequence[HostCheckRow | HostCheckRecord] = ()
    summary: dict[str, Any] = field(default_factory=dict)
    covered_hosts: frozenset[str] | None = None
    """The hosts this scan looked at, when it covered only part of the target (a host
    audit's --hosts or --shard). Only findings on these hosts (`Location.host`, stored as
    `finding_lifecycle.host`) can be marked fixed: a host another shard audits is not fixed
    because this shard did not see it."""


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def open(cls, db: str | None) -> Store:
        return cls(open_engine(db))

    def begin_scan(self, meta: ScanMeta) -> int:
        record = ScanRecord(
            kind=meta.kind,
            target=meta.target,
            scan_group=meta.scan_group,
            shard_index=meta.shard_index,
            shard_count=meta.shard_count,
            git_commit=meta.git_commit,
            git_branch=meta.git_branch,
            policy_path=meta.policy_path,
            policy_digest=meta.policy_digest,
            tree_dirty=meta.tree_dirty,
            scan_root=meta.scan_root,
            scanners=sorted(set(meta.scanners)) if meta.scanners is not None else None,
            started_at=utcnow(),
            status="incomplete",
            pid=os.getpid(),
            hostname=socket.gethostname(),
        )
        with self._write_session() as session:
            session.add(record)
            session.commit()
            session.refresh(record)
            assert record.id is not None
            return record.id

    def first_seen(self, target: str, fingerprints: Iterable[str]) -> dict[str, datetime]:
        wanted = set(fingerprints)
        if not wanted:
            return {}
        c = _table(LifecycleRecord).c
        with self._session() as session:
            load = loader(c.first_seen_at, session.get_bind().dialect)
            rows = session.execute(
                sa_select(c.fingerprint, stored(c.first_seen_at)).where(c.target == target)
            ).all()  # one fetchall: per-row fetches cost ~10 µs each on psycopg
            return {fp: load(first) for fp, first in rows if fp in wanted}

    def finish_scan(self, scan_id: int, outcome: ScanOutcome) -> None:
        verdict = outcome.verdict
        now = utcnow()
        with self._write_session() as session:
            scan = session.get(ScanRecord, scan_id)
            if scan is None:
                raise StoreError(f"scan {scan_id} vanished from the database before it finished")
            _serialise_per_target(session, scan.target)
            writer = BulkWriter(session.connection())
            first_seen = self._update_lifecycle(session, writer, scan, outcome, now)
            table = _table(FindingRecord)
            writer.insert(
                table,
                FindingRow._fields,
                _finding_rows(writer, table, scan_id, verdict, first_seen),
            )
            del first_seen
            checks = _table(HostCheckRecord)
            writer.insert(
                checks,
                HostCheckWrite._fields,
                _host_check_rows(writer, checks, scan_id, outcome.host_checks),
            )
            scan.finished_at = now
            scan.status = "errored" if verdict.errors else "complete"
            scan.verdict = verdict.outcome.value
            scan.exit_code = verdict.exit_code
            scan.reasons = list(verdict.reasons)
            scan.errors = [_error_dict(e, "error") for e in verdict.errors] + [
                _error_dict(e, "warning") for e in verdict.warnings
            ]
            scan.tool_versions = dict(outcome.tool_versions)
            scan.coverage = dict(outcome.coverage)
            scan.summary = {**outcome.summary, "counts": dict(verdict.counts)}
            session.add(scan)
            session.commit()

    def mark_interrupted(self, scan_id: int, reason: str) -> None:
        with self._write_session() as session:
            scan = session.get(ScanRecord, scan_id)
            if scan is not None and scan.status == "incomplete":
                scan.status = "interrupted"
                scan.verdict = "error"
                scan.exit_code = 2
                scan.finished_at = utcnow()
                scan.reasons = [reason]
                session.add(scan)
                session.commit()

    def _update_lifecycle(
        self,
        session: Session,
        writer: BulkWriter,
        scan: ScanRecord,
        outcome: ScanOutcome,
        now: datetime,
    ) -> dict[str, Any]:
        """Bulk upsert of lifecycle rows: 100k findings must not mean 100k ORM objects.

        Returns each fingerprint's first-seen time *in storage form* (as the driver returns
        and takes it), for the finding rows: no parsing and re-formatting 100k timestamps."""
        assert scan.id is not None
        table = _table(LifecycleRecord)
        c = table.c
        existing = {
            fp: (row_id, first_seen, unfixed, scanner, host)
            for row_id, fp, first_seen, unfixed, scanner, host in session.execute(
                sa_select(
                    c.id,
                    c.fingerprint,
                    stored(c.first_seen_at),
                    c.fixed_at.is_(None),
                    c.scanner,
                    c.host,
                ).where(c.target == scan.target)
            ).all()
        }
        first_seen: dict[str, Any] = {fp: values[1] for fp, values in existing.items()}
        moment = writer.storage(table, "last_seen_at")(now)
        due = writer.storage(table, "due_date")
        inserts: dict[str, Row] = {}
        updates: dict[str, Row] = {}
        for d in outcome.verdict.decisions:
            f = d.finding
            sighting = LifecycleSighting(
                last_seen_at=moment,
                last_seen_scan_id=scan.id,
                fixed_at=None,
                fixed_scan_id=None,
                severity=f.severity.label,
                title=f.title[:500],
                location=f.location.display()[:500],
                host=f.location.host,
                state=d.status.value if d.status.value in ("waived", "suppressed") else "open",
                due_date=due(d.due_date),
            )
            # the other tools' findings of one flaw (weakness.merge_flaws) are still seen
            for m in f.also:
                merged = existing.get(m.fingerprint)
                if merged is not None:
                    updates[m.fingerprint] = (merged[0], *sighting)
            known = existing.get(f.fingerprint)
            if known is not None:
                updates[f.fingerprint] = (known[0], *sighting)
            else:
                identity = LifecycleIdentity(
                    target=scan.target,
                    fingerprint=f.fingerprint,
                    scanner=f.scanner,
                    rule_id=f.rule_id,
                    first_seen_at=moment,
                    first_seen_scan_id=scan.id,
                )
                inserts[f.fingerprint] = identity + sighting
                first_seen[f.fingerprint] = moment
        writer.insert(table, LIFECYCLE_NEW, inserts.values())
        del inserts
        writer.update_by_id(table, LifecycleSighting._fields, updates.values())
        # Fixed means: absent from a complete scan of the same target by the same scanner.
        if not outcome.verdict.errors:
            completed = set(outcome.completed_scanners)
            covered = outcome.covered_hosts
            fixed_ids = [
                row_id
                for fp, (row_id, _, unfixed, scanner, host) in existing.items()
                if fp not in updates
                and scanner in completed
                and unfixed
                and (covered is None or host in covered)
            ]
            for id_chunk in _chunks(fixed_ids, BULK):
                session.execute(
                    update(LifecycleRecord)
                    .where(col(LifecycleRecord.id).in_(id_chunk))
                    .values(fixed_at=now, fixed_scan_id=scan.id, state="fixed")
                )
        return first_seen

    def prune(self, keep_days: int, keep_groups: Collection[str] = ()) -> dict[str, int]:
        """Delete scans older than `keep_days`, except each target's newest complete scan.

        Scan groups (sharded audits) go whole or not at all: a group is kept when any of its
        scans is recent, when it holds a target's newest complete scan, or when it is named
        in `keep_groups` (`scan_group.newest_complete_groups`: the newest group that is
        complete as a fleet). Deleting some shards of a group would turn its report into
        "shard missing".

        Lifecycle rows of findings still open are kept whatever their age, so first-seen
        dates and remediation deadlines survive; only long-fixed identities go.
        """
        cutoff = utcnow() - timedelta(days=keep_days)
        with self._write_session() as session:
            newest = set(
                session.exec(
                    select(func.max(ScanRecord.id))
                    .where(ScanRecord.status == "complete")
                    .group_by(ScanRecord.target)
                ).all()
            )
            kept = set(keep_groups)
            recent_or_newest = or_(
                col(ScanRecord.started_at) >= cutoff,
                col(ScanRecord.id).in_([i for i in newest if i is not None]),
            )
            kept.update(
                group
                for group in session.exec(
                    select(ScanRecord.scan_group).where(
                        col(ScanRecord.scan_group).is_not(None), recent_or_newest
                    )
                ).all()
                if group is not None
            )
            old = [
                scan_id
                for scan_id, group in session.exec(
                    select(ScanRecord.id, ScanRecord.scan_group).where(
                        col(ScanRecord.started_at) < cutoff
                    )
                ).all()
                if scan_id is not None and scan_id not in newest and group not in kept
            ]
            counts = {"scans": len(old), "findings": 0, "host_checks": 0, "fixed_history": 0}
            for chunk in _chunks(old, 500):
                counts["findings"] += _delete(session, FindingRecord, FindingRecord.scan_id, chunk)
                counts["host_checks"] += _delete(
                    session, HostCheckRecord, HostCheckRecord.scan_id, chunk
                )
                _delete(session, ScanRecord, ScanRecord.id, chunk)
            fixed = session.exec(
                select(LifecycleRecord.id).where(
                    LifecycleRecord.state == "fixed", col(LifecycleRecord.fixed_at) < cutoff
                )
            ).all()
            for chunk in _chunks([i for i in fixed if i is not None], 500):
                counts["fixed_history"] += _delete(
                    session, LifecycleRecord, LifecycleRecord.id, chunk
                )
            session.commit()
            return counts

    # --- reading -------------------------------------------------------------------------

    def scans(
        self, limit: int = 50, target: str | None = None, group: str | None = None
    ) -> list[ScanRecord]:
        with self._session() as session:
            query = select(ScanRecord).order_by(col(ScanRecord.id).desc()).limit(limit)
            if target is not None:
                query = query.where(ScanRecord.target == target)
            if group is not None:
                query = query.where(ScanRecord.scan_group == group)
            return list(session.exec(query).all())

    def group_scans(self, group: str) -> list[ScanRecord]:
        """Every scan stored in a scan group (all shards, retries included), oldest first."""
        with self._session() as session:
            query = (
                select(ScanRecord)
                .where(ScanRecord.scan_group == group)
                .order_by(col(ScanRecord.id))
            )
            return list(session.exec(query).all())

    def group_names(self) -> list[tuple[str, str]]:
        """(kind and target, group name) of every scan group, newest group first."""
        query = (
            sa_select(col(ScanRecord.kind), col(ScanRecord.target), col(ScanRecord.scan_group))
            .where(col(ScanRecord.scan_group).is_not(None))
            .group_by(col(ScanRecord.kind), col(ScanRecord.target), col(ScanRecord.scan_group))
            .order_by(func.max(ScanRecord.id).desc())
        )
        with self._session() as session:
            return [
                (f"{kind} {target}", group)
                for kind, target, group in session.execute(query).all()
                if group is not None
            ]

    def resolve_scan(self, ref: str) -> ScanRecord:
        """`latest`, or a scan id; StoreError names what exists when it does not."""
        with self._session() as session:
            if ref == "latest":
                scan = session.exec(
                    select(ScanRecord).order_by(col(ScanRecord.id).desc()).limit(1)
                ).first()
                if scan is None:
                    raise StoreError("the database holds no scans yet; run `compliance scan` first")
                return scan
            try:
                scan_id = int(ref)
            except ValueError:
                raise StoreError(f"--scan takes 'latest' or a scan id, not {ref!r}") from None
            found = session.get(ScanRecord, scan_id)
            if found is None:
                raise StoreError(f"no scan with id {scan_id}; `compliance scans` lists them")
            return found

    def latest_scans(self) -> list[ScanRecord]:
        """The newest finished-or-not scan of each (kind, target): what dashboards show."""
        with self._session() as session:
            newest = (
                sa_select(func.max(ScanRecord.id))
                .group_by(col(ScanRecord.kind), col(ScanRecord.target))
                .scalar_subquery()
            )
            query = select(ScanRecord).where(col(ScanRecord.id).in_(newest))
            return list(session.exec(query.order_by(col(ScanRecord.id))).all())

    def previous_scan(self, scan: ScanRecord) -> ScanRecord | None:
        """The run before `scan` of the same kind and target that got to a verdict."""
        with self._session() as session:
            query = (
                select(ScanRecord)
                .where(
                    ScanRecord.kind == scan.kind,
                    ScanRecord.target == scan.target,
                    # another shard of the same fleet covered other hosts: not "before"
                    ScanRecord.shard_index == scan.shard_index,
                    ScanRecord.shard_count == scan.shard_count,
                    col(ScanRecord.id) < (scan.id or 0),
                    col(ScanRecord.status).in_(["complete", "errored"]),
                )
                .order_by(col(ScanRecord.id).desc())
                .limit(1)
            )
            return session.exec(query).first()

    def findings(self, scan_id: int) -> list[FindingRecord]:
        with self._session() as session:
            query = (
                select(FindingRecord)
                .where(FindingRecord.scan_id == scan_id)
                .order_by(col(FindingRecord.severity_rank).desc(), col(FindingRecord.id))
            )
            return list(session.exec(query).all())

    def fingerprints(self, scan_id: int) -> frozenset[str]:
        with self._session() as session:
            query = select(FindingRecord.fingerprint).where(FindingRecord.scan_id == scan_id)
            return frozenset(session.exec(query).all())

    def fingerprints_starting(
        self, prefix: str, target: str | None = None, limit: int = 11
    ) -> list[str]:
        """Distinct stored fingerprints that begin with `prefix` (the short form
        `compliance findings` prints), at most `limit`, so a caller can tell unique from
        ambiguous; only findings of scans of `target` when given."""
        query = (
            select(FindingRecord.fingerprint)
            .where(col(FindingRecord.fingerprint).startswith(prefix, autoescape=True))
            .distinct()
            .order_by(col(FindingRecord.fingerprint))
            .limit(limit)
        )
        if target is not None:
            query = query.join(ScanRecord, col(ScanRecord.id) == col(FindingRecord.scan_id)).where(
                ScanRecord.target == target
            )
        with self._session() as session:
            return list(session.exec(query).all())

    def rule_paths(self, rule_id: str, target: str | None = None) -> list[str | None]:
        """Distinct paths of stored findings of `rule_id` (None for host and package
        findings): whether a rule waiver on a path glob would match anything."""
        query = select(FindingRecord.path).where(FindingRecord.rule_id == rule_id).distinct()
        if target is not None:
            query = query.join(ScanRecord, col(ScanRecord.id) == col(FindingRecord.scan_id)).where(
                ScanRecord.target == target
            )
        with self._session() as session:
            return list(session.exec(query).all())

    def baseline_sets(self, scan_id: int) -> tuple[frozenset[str], frozenset[str]]:
        """(every fingerprint, those suppressed inline) of a scan: what a baseline carries."""
        with self._session() as session:
            query = select(
                FindingRecord.fingerprint, FindingRecord.inline_suppressed, FindingRecord.status
            ).where(FindingRecord.scan_id == scan_id)
            rows = session.exec(query).all()
        # older rows have no inline_suppressed; their status says it
        suppressed = frozenset(fp for fp, inline, state in rows if inline or state == "suppressed")
        return frozenset(fp for fp, _, _ in rows), suppressed

    def complete_scan_at(self, key: BaselineKey, commit: str) -> int | None:
        """The newest scan at `commit` that may serve as a baseline for a scan like `key`:
        complete, from a clean tree, of the same target, root, policy and scanners
        (`baseline_mismatch`). None: compute the baseline afresh."""
        with self._session() as session:
            query = (
                select(ScanRecord)
                .where(
                    ScanRecord.target == key.target,
                    ScanRecord.git_commit == commit,
                    ScanRecord.status == "complete",
                    ScanRecord.tree_dirty == False,  # noqa: E712 - SQL, not a Python test
                    ScanRecord.scan_root == key.scan_root,
                    ScanRecord.policy_digest == key.policy_digest,
                )
                .order_by(col(ScanRecord.id).desc())
                .limit(20)  # the scanners (JSON) are compared here, not in SQL
            )
            for scan in session.exec(query).all():
                if baseline_mismatch(scan, key) is None:
                    return scan.id
            return None

    def fixed_in(self, scan_id: int) -> list[FindingRecord]:
        """Findings that this scan showed to be fixed, as last seen, with status 'fixed'."""
        # One join (the last sighting of each identity this scan fixed), not a query per
        # finding: a re-scan that fixes 10k findings must not mean 10k round trips.
        query = (
            select(FindingRecord)
            .join(
                LifecycleRecord,
                (col(FindingRecord.scan_id) == col(LifecycleRecord.last_seen_scan_id))
                & (col(FindingRecord.fingerprint) == col(LifecycleRecord.fingerprint)),
            )
            .where(LifecycleRecord.fixed_scan_id == scan_id)
            .order_by(col(FindingRecord.severity_rank).desc(), col(FindingRecord.id))
        )
        with self._session() as session:
            result: list[FindingRecord] = []
            seen: set[str] = set()
            for last in session.exec(query).all():
                if last.fingerprint in seen:  # a scan may list one identity twice
                    continue
                seen.add(last.fingerprint)
                session.expunge(last)
                last.status = "fixed"
                last.blocking = False
                last.note = f"fixed in scan {scan_id}"
                result.append(last)
            return result

    def host_checks(self, scan_id: int) -> list[HostCheckRecord]:
        with self._session() as session:
            query = select(HostCheckRecord).where(HostCheckRecord.scan_id == scan_id)
            return list(session.exec(query).all())

    def finding_counts(self, scan_ids: Sequence[int]) -> list[tuple[str, str, str, bool, int]]:
        """(scanner, severity, status, blocking, count) over these scans, counted by the
        database: a dashboard must not load 100k findings to count them."""
        query = (
            sa_select(
                col(FindingRecord.scanner),
                col(FindingRecord.severity),
                col(FindingRecord.status),
                col(FindingRecord.blocking),
                func.count(),
            )
            .where(col(FindingRecord.scan_id).in_(list(scan_ids)))
            .group_by(
                col(FindingRecord.scanner),
                col(FindingRecord.severity),
                col(FindingRecord.status),
                col(FindingRecord.blocking),
            )
        )
        with self._session() as session:
            return [
                (scanner, severity, status, bool(blocking), int(n))
                for scanner, severity, status, blocking, n in session.execute(query).all()
            ]

    def host_check_counts(self, scan_ids: Sequence[int]) -> list[tuple[str, str, int]]:
        """(host, status, count) over these scans, counted by the database."""
        query = (
            sa_select(col(HostCheckRecord.host), col(HostCheckRecord.status), func.count())
            .where(col(HostCheckRecord.scan_id).in_(list(scan_ids)))
            .group_by(col(HostCheckRecord.host), col(HostCheckRecord.status))
        )
        with self._session() as session:
            return [(host, status, int(n)) for host, status, n in session.execute(query).all()]

    def hosts_of(self, scan_ids: Sequence[int]) -> list[tuple[int, str]]:
        """(scan id, host) for every host these scans checked, without loading the checks."""
        pairs: list[tuple[int, str]] = []
        with self._session() as session:
            for chunk in _chunks(list(scan_ids), 500):
                query = (
                    select(HostCheckRecord.scan_id, HostCheckRecord.host)
                    .where(col(HostCheckRecord.scan_id).in_(chunk))
                    .distinct()
                )
                pairs += [(scan_id, host) for scan_id, host in session.exec(query).all()]
        return pairs

    def lifecycle(self, target: str) -> list[LifecycleRecord]:
        with self._session() as session:
            query = select(LifecycleRecord).where(LifecycleRecord.target == target)
            return list(session.exec(query).all())

    def schema_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return current_revision(connection)

    def _session(self) -> Session:
        return _GuardedSession(self.engine)

    def _write_session(self) -> Session:
        return _GuardedSession(self.engine.execution_options(**{WRITE: True}))


class _GuardedSession(Session):
    """A session whose database errors become StoreError with a message for the operator."""

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        super().__exit__(exc_type, exc, tb)
        if isinstance(exc, SQLAlchemyError):
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise StoreError(f"database error: {reason}") from exc


def _host_check_rows(
    writer: BulkWriter,
    table: Table,
    scan_id: int,
    checks: Iterable[HostCheckRow | HostCheckRecord],
) -> Iterator[Row]:
    """`HostCheckWrite` rows, from either shape of a host check."""
    references = writer.storage(table, "references")
    for check in checks:
        yield HostCheckWrite(
            scan_id=scan_id,
            host=check.host,
            check_id=check.check_id,
            title=check.title,
            status=check.status,
            severity=check.severity,
            expected=check.expected,
            observed=check.observed,
            references=references(tuple(check.references)),
            remediation=check.remediation,
            policy=check.policy,
        )


def _table(model: Any) -> Table:
    """Core table of a model: plain executemany, no per-row ORM work or RETURNING."""
    table: Table = model.__table__
    return table


def _chunks(items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _delete(session: Session, table: Any, column: Any, ids: list[int]) -> int:
    result = session.execute(delete(table).where(col(column).in_(ids)))
    return int(getattr(result, "rowcount", 0) or 0)


def _serialise_per_target(session: Session, target: str) -> None:
    """Two scans of one target finishing at once on PostgreSQL would both insert the same new
    lifecycle rows; a transaction-scoped advisory lock per target makes them take turns.
    (SQLite writers are serialised already by BEGIN IMMEDIATE.)"""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(target.encode()).digest()[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _finding_rows(
    writer: BulkWriter,
    table: Table,
    scan_id: int,
    verdict: Verdict,
    first_seen: dict[str, Any],
) -> Iterator[Row]:
    """`FindingRow`s, one at a time: the findings are not held twice."""
    references = writer.storage(table, "references")
    fix_versions = writer.storage(table, "fix_versions")
    boolean = writer.storage(table, "blocking")
    due = writer.storage(table, "due_date")
    also = writer.storage(table, "also")
    for decision in verdict.decisions:
        f = decision.finding
        loc = f.location
        yield FindingRow(
            scan_id=scan_id,
            fingerprint=f.fingerprint,
            scanner=f.scanner,
            rule_id=f.rule_id,
            severity=f.severity.label,
            severity_rank=int(f.severity),
            confidence=f.confidence.label if f.confidence is not None else None,
            title=f.title,
            message=f.message,
            path=loc.path,
            start_line=loc.start_line,
            end_line=loc.end_line,
            package=loc.package,
            version=loc.version,
            host=loc.host,
            evidence=f.evidence,
            references=references(tuple(f.references)),
            remediation=f.remediation,
            fix_versions=fix_versions(tuple(f.fix_versions)),
            status=decision.status.value,
            blocking=boolean(decision.blocking),
            reported=boolean(decision.reported),
            note=decision.note,
            due_date=due(decision.due_date),
            first_seen_at=first_seen.get(f.fingerprint),  # already in storage form
            inline_suppressed=boolean(f.suppressed),
            tool_severity=f.tool_severity or None,
            weakness=f.weakness or None,
            also=also([_member(m) for m in f.also]) if f.also else None,
        )


def _member(f: Finding) -> dict[str, Any]:
    """Another tool's finding of the same flaw, as kept with the merged one."""
    return {
        "scanner": f.scanner,
        "rule_id": f.rule_id,
        "fingerprint": f.fingerprint,
        "tool_severity": f.tool_severity,
        "title": f.title,
    }


def _error_dict(error: Any, level: str) -> dict[str, Any]:
    return {
        "level": level,
        "source": error.source,
        "kind": error.kind,
        "reason": error.reason,
        "path": error.path,
        "hint": error.hint,
    }
