"""The stable JSON shapes of `compliance findings --json` and `compliance scans --json`.

Scripts depend on these keys: add keys freely, never rename or remove one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from compliance.store.models import FindingRecord, ScanRecord


def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def finding_json(record: FindingRecord) -> dict[str, Any]:
    return {
        "fingerprint": record.fingerprint,
        "scan_id": record.scan_id,
        "scanner": record.scanner,
        "rule_id": record.rule_id,
        "severity": record.severity,
        "confidence": record.confidence,
        "title": record.title,
        "message": record.message,
        "path": record.path,
        "line": record.start_line,
        "end_line": record.end_line,
        "host": record.host,
        "package": record.package,
        "version": record.version,
        "fix_versions": list(record.fix_versions or []),
        "evidence": record.evidence,
        "references": list(record.references or []),
        "remediation": record.remediation,
        "status": record.status,
        "inline_suppressed": bool(record.inline_suppressed or record.status == "suppressed"),
        "blocking": record.blocking,
        "note": record.note,
        "first_seen_at": _iso(record.first_seen_at),
        "due_date": _iso(record.due_date),
        "tool_severity": record.tool_severity,
        "weakness": record.weakness,
        "also": list(record.also or []),
    }


def scan_json(record: ScanRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind,
        "target": record.target,
        "status": record.status,
        "verdict": record.verdict,
        "exit_code": record.exit_code,
        "started_at": _iso(record.started_at),
        "finished_at": _iso(record.finished_at),
        "git_commit": record.git_commit,
        "git_branch": record.git_branch,
        "policy_digest": record.policy_digest,
        "tree_dirty": record.tree_dirty,
        "scan_root": record.scan_root,
        "scanners": list(record.scanners) if record.scanners is not None else None,
        "baseline": (record.summary or {}).get("baseline"),
        "tool_versions": dict(record.tool_versions or {}),
        "coverage": dict(record.coverage or {}),
        "reasons": list(record.reasons or []),
        "errors": list(record.errors or []),
        "counts": dict((record.summary or {}).get("counts", {})),
        "repository_config": (record.summary or {}).get("repository_config"),
        "runtime": dict((record.summary or {}).get("runtime") or {}),
        "scan_group": record.scan_group,
        "shard": f"{record.shard_index}/{record.shard_count}" if record.shard_index else None,
    }
