"""`json`: our own report format, documented in docs/reports.md and stable.

Keys are only ever added, never renamed or removed; `format_version` changes only when
that promise has to be broken. Findings and scans reuse the shapes of `compliance findings
--json` and `compliance scans --json` (records.py), so one parser reads all three.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import IO, Any

from compliance.hosts.score import scores
from compliance.render.common import iso_z
from compliance.render.data import ReportData
from compliance.render.jsonstream import Array, write_json
from compliance.render.options import RenderOptions
from compliance.render.records import finding_json, scan_json
from compliance.store.models import HostCheckRecord

FORMAT_VERSION = 1


def host_check_json(record: HostCheckRecord) -> dict[str, Any]:
    return {
        "host": record.host,
        "check_id": record.check_id,
        "title": record.title,
        "status": record.status,
        "severity": record.severity,
        "expected": record.expected,
        "observed": record.observed,
        "references": list(record.references or []),
        "remediation": record.remediation,
        "policy": record.policy,
    }


def report_json(report: ReportData) -> dict[str, Any]:
    """The document, with the findings as an `Array` read from the store while written."""
    return {
        "format": "compliance-report",
        "format_version": FORMAT_VERSION,
        "generated_at": iso_z(report.generated_at),
        "tool": {"name": "compliance", "version": report.version},
        "scan": scan_json(report.scan),
        "previous_scan_id": report.previous.id if report.previous else None,
        "findings": Array(
            {**finding_json(f.as_record()), "new": report.is_new(f)} for f in report.findings
        ),
        "host_checks": [host_check_json(c) for c in report.host_checks],
        # Wazuh-style: passed / (passed + failed) x 100, per host, policy and framework
        "scores": scores(report.host_checks).as_dict() if report.host_checks else None,
        "fixed": [finding_json(f.as_record()) for f in report.fixed],
        "waivers": [asdict(w) for w in report.waivers],
        "trend": [
            {
                "scan_id": p.scan_id,
                "started_at": iso_z(p.started_at),
                "verdict": p.verdict,
                "status": p.status,
                "open_by_severity": p.open_by_severity,
                "blocking": p.blocking,
            }
            for p in report.trend
        ],
        "no_history": report.no_history,
    }


def write(report: ReportData, options: RenderOptions, out: IO[str]) -> None:
    write_json(out, report_json(report))
