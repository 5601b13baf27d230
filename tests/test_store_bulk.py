"""The bulk write path stores exactly what SQLAlchemy's own insert would.

`finish_scan` hands rows to the driver (executemany on SQLite, COPY on PostgreSQL) with
values converted once per distinct value; a SQLAlchemy or driver upgrade that changed how
a datetime, a date, a boolean or a JSON list is stored would make old and new rows
disagree (first-seen joins, date filters). Each row is written again through the ORM and
the two are compared as the database holds them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from compliance.findings import Finding, Location, Severity
from compliance.gate import GateInput, judge
from compliance.policy import Policy
from compliance.store import ScanMeta, ScanOutcome, Store, StoreError
from compliance.store.models import FindingRecord, HostCheckRecord, LifecycleRecord
from compliance.store.repository import HostCheckRow
from compliance.store.rows import LIFECYCLE_NEW, ROW_TABLES, FindingRow, HostCheckWrite


def varied(n: int) -> list[Finding]:
    severities = list(Severity)
    locations = [
        Location(path="src/é.py", start_line=3, end_line=9),
        Location(package="requests", version="2.0.0"),
        Location(host="web-1"),
    ]
    return [
        Finding(
            scanner=("bandit", "pip-audit", "host")[i % 3],
            rule_id=f"R{i}",
            severity=severities[i % 5],
            title=f'title "{i}" ☃',
            message="line one\nline two\ttab \\ backslash",
            location=locations[i % 3],
            fingerprint=f"fp-{i}",
            evidence="x" * i,
            references=tuple(f"CWE-{j}" for j in range(i % 3)),
            confidence=severities[i % 5] if i % 2 else None,
            suppressed=i == 4,
            fix_versions=("2.31.0", "3.0") if i % 3 == 1 else (),
        )
        for i in range(n)
    ]


def raw(store: Store, table: str, where: str, value: Any, skip: set[str]) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        result = connection.execute(
            text(f"SELECT * FROM {table} WHERE {where} = :v ORDER BY id"),
            {"v": value},
        )
        columns = list(result.keys())
        keys = [k for k in columns if k not in skip]
        return sorted((tuple(row._mapping[k] for k in keys) for row in result), key=repr)


def orm_copy(store: Store, model: type[SQLModel], rows: list[Any], **change: Any) -> None:
    with Session(store.engine) as session:
        session.add_all(model.model_validate(r.model_dump(exclude={"id"}) | change) for r in rows)
        session.commit()


def test_bulk_rows_match_the_orm_insert(store_url):
    store = Store.open(store_url)
    findings = varied(12)
    scan_id = store.begin_scan(ScanMeta(kind="code", target="t"))
    verdict = judge(GateInput(findings=findings, policy=Policy(), target="t", today=date.today()))
    checks = [
        HostCheckRow(host="web-1", check_id="ssh", status="fail", references=("CIS 5.2", "é")),
        HostCheckRow(host="web-2", check_id="ssh", status="pass"),
    ]
    store.finish_scan(
        scan_id,
        ScanOutcome(verdict=verdict, completed_scanners=["bandit"], host_checks=checks),
    )
    copy_id = store.begin_scan(ScanMeta(kind="code", target="copy"))
    with Session(store.engine) as session:
        lifecycle = list(session.exec(select(LifecycleRecord)).all())
        host_checks = list(session.exec(select(HostCheckRecord)).all())
        session.expunge_all()
    orm_copy(store, FindingRecord, store.findings(scan_id), scan_id=copy_id)
    orm_copy(store, LifecycleRecord, lifecycle, target="copy")
    orm_copy(store, HostCheckRecord, host_checks, scan_id=copy_id)

    for table, where, a, b, skip in (
        ("finding", "scan_id", scan_id, copy_id, {"id", "scan_id"}),
        ("finding_lifecycle", "target", "t", "copy", {"id", "target"}),
        ("host_check", "scan_id", scan_id, copy_id, {"id", "scan_id"}),
    ):
        bulk = raw(store, table, where, a, skip)
        assert bulk, table
        assert bulk == raw(store, table, where, b, skip), table
    # and the values read back are what the gate decided
    stored = {f.fingerprint: f for f in store.findings(scan_id)}
    assert stored["fp-1"].fix_versions == ["2.31.0", "3.0"] and stored["fp-2"].references == [
        "CWE-0",
        "CWE-1",
    ]
    assert {d.finding.fingerprint: d.due_date for d in verdict.decisions} == {
        fp: f.due_date for fp, f in stored.items()
    }
    assert all(f.first_seen_at is not None for f in stored.values())


def test_a_row_the_database_refuses_rolls_back_the_whole_scan(store_url):
    """A finding without a message (a scanner bug) breaks NOT NULL half-way through the
    bulk write: the error names the table, nothing of the scan is kept, and the scan stays
    `incomplete`, never a pass."""
    store = Store.open(store_url)
    broken = [*varied(3), replace(varied(1)[0], fingerprint="no-message", message=None)]  # type: ignore[arg-type]
    scan_id = store.begin_scan(ScanMeta(kind="code", target="t"))
    verdict = judge(GateInput(findings=broken, policy=Policy(), target="t", today=date.today()))
    with pytest.raises(StoreError, match="database error while writing finding rows"):
        store.finish_scan(scan_id, ScanOutcome(verdict=verdict, completed_scanners=["bandit"]))
    (scan,) = store.scans()
    assert scan.status == "incomplete" and scan.verdict is None
    assert store.findings(scan_id) == [] and store.lifecycle("t") == []


def test_every_row_kind_names_exactly_its_tables_columns():
    """The bulk rows are built by field name and written under their own field names: a
    field that is not a column, or a column (other than the id) no row writes, fails here
    rather than as a misplaced value in a stored finding."""
    tables = {t.name: t for t in SQLModel.metadata.tables.values()}
    for row_type, table in ROW_TABLES.items():
        assert set(row_type._fields) <= set(tables[table].c.keys()), row_type.__name__
    for columns, table in [
        (FindingRow._fields, "finding"),
        (HostCheckWrite._fields, "host_check"),
        (LIFECYCLE_NEW, "finding_lifecycle"),
    ]:
        assert sorted(columns) == sorted(set(tables[table].c.keys()) - {"id"}), table
