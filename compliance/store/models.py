"""Tables. One row per scan, per finding seen in a scan, per finding identity over time
(lifecycle), and per host check result.

Datetimes are timezone-aware UTC everywhere: mixing aware and naive values is the classic
way to get a lifecycle off by hours.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class ScanRecord(SQLModel, table=True):
    __tablename__ = "scan"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)  # code | hosts
    target: str = Field(index=True)
    scan_group: str | None = Field(default=None, index=True)
    # `audit --shard I/N`: this scan covered slice I (1-based) of N; None when not sharded
    shard_index: int | None = None
    shard_count: int | None = None
    git_commit: str | None = None
    git_branch: str | None = None
    tool_versions: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON))
    policy_path: str | None = None
    policy_digest: str | None = None
    # What a baseline must share (see store/baseline_match.py). None: unknown (a scan stored
    # before revision 0003, or of a tree outside git): never a baseline.
    tree_dirty: bool | None = None  # uncommitted or untracked-not-ignored files under the root
    scan_root: str | None = None  # the scanned root inside the repository, POSIX, '.' = top
    scanners: list[str] | None = Field(default=None, sa_column=Column(JSON))  # sorted names
    started_at: datetime
    finished_at: datetime | None = None
    # incomplete until the final transaction commits: a killed scan stays incomplete
    status: str = Field(default="incomplete", index=True)  # incomplete|complete|errored|interrupted
    verdict: str | None = None  # pass | fail | error
    exit_code: int | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    coverage: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    pid: int | None = None
    hostname: str | None = None


class FindingRecord(SQLModel, table=True):
    __tablename__ = "finding"
    # the last sighting of an identity in a scan: fixed findings, lifecycle joins
    __table_args__ = (Index("ix_finding_scan_fingerprint", "scan_id", "fingerprint"),)
    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scan.id")  # indexed with fingerprint
    fingerprint: str = Field(index=True)
    scanner: str
    rule_id: str
    severity: str
    severity_rank: int
    confidence: str | None = None
    title: str
    message: str = ""
    path: str | None = None
    start_line: int | None = None
    end_line: int | None = None
    package: str | None = None
    version: str | None = None
    host: str | None = None
    evidence: str = ""
    references: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    remediation: str = ""
    fix_versions: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    # open | waived | suppressed | preexisting | below-threshold
    status: str = "open"
    blocking: bool = False
    reported: bool = True  # at or above the policy's report.min_severity (or blocking)
    note: str = ""  # why the gate treated it so (waiver id, expired waiver, overdue …)
    due_date: date | None = None
    first_seen_at: datetime | None = None
    # the source suppressed it (`# nosec`, `# nosemgrep`), whatever status the gate gave it;
    # None: stored before revision 0003 (then status 'suppressed' says it)
    inline_suppressed: bool | None = None
    # the tool's own severity word (`severity` is the gate's, from weakness.py); None before 0005
    tool_severity: str | None = None
    weakness: str | None = None  # "CWE-n class" from the weakness table
    # other tools' findings of the same flaw: [{scanner, rule_id, fingerprint, tool_severity}]
    also: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True))
    )


class LifecycleRecord(SQLModel, table=True):
    """One finding identity over time, per target: when it appeared, was last seen, got fixed."""

    __tablename__ = "finding_lifecycle"
    __table_args__ = (UniqueConstraint("target", "fingerprint"),)
    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(index=True)
    fingerprint: str = Field(index=True)
    scanner: str
    rule_id: str
    severity: str
    title: str = ""
    location: str = ""  # Location.display(), for people: never compared (see `host`)
    host: str | None = None  # a host finding's host: what a partial audit's coverage matches
    first_seen_at: datetime
    first_seen_scan_id: int
    last_seen_at: datetime
    last_seen_scan_id: int
    fixed_at: datetime | None = None
    fixed_scan_id: int | None = None
    state: str = "open"  # open | fixed | waived | suppressed
    due_date: date | None = None


class HostCheckRecord(SQLModel, table=True):
    """Every check on every host, pass or not, so a report can explain each verdict."""

    __tablename__ = "host_check"
    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scan.id", index=True)
    host: str
    check_id: str
    title: str = ""
    status: str  # pass | fail | not-applicable | error | not-run
    severity: str = "medium"
    expected: str = ""
    observed: str = ""
    references: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    remediation: str = ""
    policy: str = ""
