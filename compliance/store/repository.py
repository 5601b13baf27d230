"""Reading and writing scans. A scan row is committed first as `incomplete`; findings, the
verdict and lifecycle updates land together in one final transaction, so a process killed
half-way leaves an incomplete scan behind, never a clean pass."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, delete, func, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from compliance.gate import Decision, Verdict
from compliance.store.engine import WRITE, StoreError, open_engine
from compliance.store.migrate import current_revision
from compliance.store.models import (
    FindingRecord,
    HostCheckRecord,
    LifecycleRecord,
    ScanRecord,
)

T = TypeVar("T")
BULK = 5000  # rows per executemany: bounded memory, few round trips


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

    def row(self, scan_id: int) -> dict[str, Any]:
        return {
            "scan_id": scan_id,
            "host": self.host,
            "check_id": self.check_id,
            "title": self.title,
            "status": self.status,
            "severity": self.severity,
            "expected": self.expected,
            "observed": self.observed,
            "references": list(self.references),
            "remediation": self.remediation,
            "policy": self.policy,
        }


@dataclass
class ScanOutcome:
    """Everything a finished scan writes in its final transaction."""

    verdict: Verdict
    tool_versions: dict[str, str] = field(default_factory=dict)
    coverage: dict[str, Any] = field(default_factory=dict)
    completed_scanners: Sequence[str] = ()
    host_checks: Sequence[HostCheckRow | HostCheckRecord] = ()
    summary: dict[str, Any] = field(default_factory=dict)
    covered_locations: frozenset[str] | None = None
    """What this scan looked at, when it covered only part of the target (a host audit's
    hosts: a --limit or a --shard). Only findings at these locations can be marked fixed: a
    host another shard audits is not fixed because this shard did not see it."""


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
        with self._session() as session:
            rows = session.exec(
                select(LifecycleRecord).where(LifecycleRecord.target == target)
            ).all()
            return {r.fingerprint: r.first_seen_at for r in rows if r.fingerprint in wanted}

    def finish_scan(self, scan_id: int, outcome: ScanOutcome) -> None:
        verdict = outcome.verdict
        now = utcnow()
        with self._write_session() as session:
            scan = session.get(ScanRecord, scan_id)
            if scan is None:
                raise StoreError(f"scan {scan_id} vanished from the database before it finished")
            _serialise_per_target(session, scan.target)
            first_seen = self._update_lifecycle(session, scan, outcome, now)
            rows = [_finding_row(scan_id, d, first_seen) for d in verdict.decisions]
            for chunk in _chunks(rows, BULK):
                session.connection().execute(_table(FindingRecord).insert(), chunk)
            checks = [_host_check_row(check, scan_id) for check in outcome.host_checks]
            for chunk in _chunks(checks, BULK):
                session.connection().execute(_table(HostCheckRecord).insert(), chunk)
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
        self, session: Session, scan: ScanRecord, outcome: ScanOutcome, now: datetime
    ) -> dict[str, datetime]:
        """Bulk upsert of lifecycle rows: 100k findings must not mean 100k ORM objects."""
        assert scan.id is not None
        existing = {
            fp: (row_id, first_seen, fixed_at, scanner, location)
            for row_id, fp, first_seen, fixed_at, scanner, location in session.execute(
                sa_select(
                    col(LifecycleRecord.id),
                    col(LifecycleRecord.fingerprint),
                    col(LifecycleRecord.first_seen_at),
                    col(LifecycleRecord.fixed_at),
                    col(LifecycleRecord.scanner),
                    col(LifecycleRecord.location),
                ).where(col(LifecycleRecord.target) == scan.target)
            ).all()
        }
        first_seen = {fp: values[1] for fp, values in existing.items()}
        inserts: dict[str, dict[str, Any]] = {}
        updates: dict[str, dict[str, Any]] = {}
        for d in outcome.verdict.decisions:
            f = d.finding
            state = d.status.value if d.status.value in ("waived", "suppressed") else "open"
            values = {
                "last_seen_at": now,
                "last_seen_scan_id": scan.id,
                "fixed_at": None,
                "fixed_scan_id": None,
                "severity": f.severity.label,
                "title": f.title[:500],
                "location": f.location.display()[:500],
                "state": state,
                "due_date": d.due_date,
            }
            if f.fingerprint in existing:
                updates[f.fingerprint] = {"row_id": existing[f.fingerprint][0], **values}
            else:
                inserts[f.fingerprint] = {
                    "target": scan.target,
                    "fingerprint": f.fingerprint,
                    "scanner": f.scanner,
                    "rule_id": f.rule_id,
                    "first_seen_at": now,
                    "first_seen_scan_id": scan.id,
                    **values,
                }
                first_seen[f.fingerprint] = now
        table = _table(LifecycleRecord)
        by_id = table.update().where(table.c.id == bindparam("row_id"))
        connection = session.connection()
        for chunk in _chunks(list(inserts.values()), BULK):
            connection.execute(table.insert(), chunk)
        for chunk in _chunks(list(updates.values()), BULK):
            connection.execute(by_id, chunk)
        # Fixed means: absent from a complete scan of the same target by the same scanner.
        if not outcome.verdict.errors:
            completed = set(outcome.completed_scanners)
            covered = outcome.covered_locations
            fixed_ids = [
                row_id
                for fp, (row_id, _, fixed_at, scanner, location) in existing.items()
                if fp not in updates
                and scanner in completed
                and fixed_at is None
                and (covered is None or location in covered)
            ]
            for id_chunk in _chunks(fixed_ids, BULK):
                session.execute(
                    update(LifecycleRecord)
                    .where(col(LifecycleRecord.id).in_(id_chunk))
                    .values(fixed_at=now, fixed_scan_id=scan.id, state="fixed")
                )
        return first_seen

    def prune(self, keep_days: int) -> dict[str, int]:
        """Delete scans older than `keep_days`, except each target's newest complete scan.

        Lifecycle rows of findings still open are kept whatever their age, so first-seen
        dates and remediation deadlines survive; only long-fixed identities go.
        """
        cutoff = utcnow() - timedelta(days=keep_days)
        with self._write_session() as session:
            newest = {
                target: scan_id
                for target, scan_id in session.exec(
                    select(ScanRecord.target, func.max(ScanRecord.id))
                    .where(ScanRecord.status == "complete")
                    .group_by(ScanRecord.target)
                ).all()
            }
            old = [
                scan_id
                for scan_id, target in session.exec(
                    select(ScanRecord.id, ScanRecord.target).where(
                        col(ScanRecord.started_at) < cutoff
                    )
                ).all()
                if scan_id is not None and newest.get(target) != scan_id
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

    def complete_scan_at(self, target: str, commit: str) -> int | None:
        """The newest complete scan of `target` at `commit`, usable as a baseline."""
        with self._session() as session:
            query = (
                select(ScanRecord.id)
                .where(
                    ScanRecord.target == target,
                    ScanRecord.git_commit == commit,
                    ScanRecord.status == "complete",
                )
                .order_by(col(ScanRecord.id).desc())
                .limit(1)
            )
            return session.exec(query).first()

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


def _host_check_row(check: HostCheckRow | HostCheckRecord, scan_id: int) -> dict[str, Any]:
    if isinstance(check, HostCheckRow):
        return check.row(scan_id)
    return {**check.model_dump(exclude={"id"}), "scan_id": scan_id}


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


def _finding_row(
    scan_id: int, decision: Decision, first_seen: dict[str, datetime]
) -> dict[str, Any]:
    f = decision.finding
    loc = f.location
    return dict(
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
        references=list(f.references),
        remediation=f.remediation,
        fix_versions=list(f.fix_versions),
        status=decision.status.value,
        blocking=decision.blocking,
        reported=decision.reported,
        note=decision.note,
        due_date=decision.due_date,
        first_seen_at=first_seen.get(f.fingerprint),
    )


def _error_dict(error: Any, level: str) -> dict[str, Any]:
    return {
        "level": level,
        "source": error.source,
        "kind": error.kind,
        "reason": error.reason,
        "path": error.path,
        "hint": error.hint,
    }
