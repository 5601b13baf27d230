"""Reading and writing scans. A scan row is committed first as `incomplete`; findings, the
verdict and lifecycle updates land together in one final transaction, so a process killed
half-way leaves an incomplete scan behind, never a clean pass."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from compliance.gate import Decision, Verdict
from compliance.store.engine import StoreError, open_engine
from compliance.store.models import (
    FindingRecord,
    HostCheckRecord,
    LifecycleRecord,
    ScanRecord,
)


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


@dataclass
class ScanOutcome:
    """Everything a finished scan writes in its final transaction."""

    verdict: Verdict
    tool_versions: dict[str, str] = field(default_factory=dict)
    coverage: dict[str, Any] = field(default_factory=dict)
    completed_scanners: Sequence[str] = ()
    host_checks: Sequence[HostCheckRecord] = ()
    summary: dict[str, Any] = field(default_factory=dict)


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
            git_commit=meta.git_commit,
            git_branch=meta.git_branch,
            policy_path=meta.policy_path,
            policy_digest=meta.policy_digest,
            started_at=utcnow(),
            status="incomplete",
            pid=os.getpid(),
            hostname=socket.gethostname(),
        )
        with self._session() as session:
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
        with self._session() as session:
            scan = session.get(ScanRecord, scan_id)
            if scan is None:
                raise StoreError(f"scan {scan_id} vanished from the database before it finished")
            first_seen = self._update_lifecycle(session, scan, outcome, now)
            for decision in verdict.decisions:
                session.add(_finding_record(scan_id, decision, first_seen))
            for check in outcome.host_checks:
                check.scan_id = scan_id
                session.add(check)
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
        with self._session() as session:
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
        assert scan.id is not None
        rows = {
            r.fingerprint: r
            for r in session.exec(
                select(LifecycleRecord).where(LifecycleRecord.target == scan.target)
            ).all()
        }
        seen: set[str] = set()
        for d in outcome.verdict.decisions:
            f = d.finding
            seen.add(f.fingerprint)
            row = rows.get(f.fingerprint)
            if row is None:
                row = LifecycleRecord(
                    target=scan.target,
                    fingerprint=f.fingerprint,
                    scanner=f.scanner,
                    rule_id=f.rule_id,
                    severity=f.severity.label,
                    first_seen_at=now,
                    first_seen_scan_id=scan.id,
                    last_seen_at=now,
                    last_seen_scan_id=scan.id,
                )
                rows[f.fingerprint] = row
            row.last_seen_at = now
            row.last_seen_scan_id = scan.id
            row.fixed_at = None
            row.fixed_scan_id = None
            row.severity = f.severity.label
            row.title = f.title[:500]
            row.location = f.location.display()[:500]
            row.state = d.status.value if d.status.value in ("waived", "suppressed") else "open"
            row.due_date = d.due_date
            session.add(row)
        # Fixed means: absent from a complete scan of the same target by the same scanner.
        if not outcome.verdict.errors:
            completed = set(outcome.completed_scanners)
            for fingerprint, row in rows.items():
                if fingerprint not in seen and row.scanner in completed and row.fixed_at is None:
                    row.fixed_at = now
                    row.fixed_scan_id = scan.id
                    row.state = "fixed"
                    session.add(row)
        return {fp: row.first_seen_at for fp, row in rows.items()}

    # --- reading -------------------------------------------------------------------------

    def scans(self, limit: int = 50, target: str | None = None) -> list[ScanRecord]:
        with self._session() as session:
            query = select(ScanRecord).order_by(col(ScanRecord.id).desc()).limit(limit)
            if target is not None:
                query = query.where(ScanRecord.target == target)
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
        with self._session() as session:
            fixed = session.exec(
                select(LifecycleRecord).where(LifecycleRecord.fixed_scan_id == scan_id)
            ).all()
            result = []
            for row in fixed:
                last = session.exec(
                    select(FindingRecord).where(
                        FindingRecord.scan_id == row.last_seen_scan_id,
                        FindingRecord.fingerprint == row.fingerprint,
                    )
                ).first()
                if last is not None:
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

    def lifecycle(self, target: str) -> list[LifecycleRecord]:
        with self._session() as session:
            query = select(LifecycleRecord).where(LifecycleRecord.target == target)
            return list(session.exec(query).all())

    def _session(self) -> Session:
        return _GuardedSession(self.engine)


class _GuardedSession(Session):
    """A session whose database errors become StoreError with a message for the operator."""

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        super().__exit__(exc_type, exc, tb)
        if isinstance(exc, SQLAlchemyError):
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise StoreError(f"database error: {reason}") from exc


def _finding_record(
    scan_id: int, decision: Decision, first_seen: dict[str, datetime]
) -> FindingRecord:
    f = decision.finding
    loc = f.location
    return FindingRecord(
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
