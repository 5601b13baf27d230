"""What the GitLab SAST and dependency scanning reports share: the envelope, identifiers.

GitLab validates a report against the schema version the report names and silently drops
reports whose version it does not ship (GitLab 17 rejects 15.2.x): the version is an
option, 15.1.x by default. Timestamps carry no zone suffix because the schema's pattern
has none. Identifier URLs are only ones we know resolve (see references.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from compliance.findings import Severity
from compliance.render.common import gitlab_time, severity_of, stable_uuid
from compliance.render.data import ReportData
from compliance.render.jsonstream import Spool, write_json
from compliance.render.options import RenderOptions
from compliance.render.references import parse_reference, parse_references
from compliance.render.rows import StoredFinding

SCHEMA_BASE = "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw"
VENDOR = {"name": "compliance"}
INCLUDED_STATUSES = ("open", "preexisting")
"""Waived and inline-suppressed findings are left out: GitLab has no field to mark a
finding as accepted, so it would show them as open vulnerabilities in the merge request."""

_GITLAB_SEVERITY = {
    Severity.CRITICAL: "Critical",
    Severity.HIGH: "High",
    Severity.MEDIUM: "Medium",
    Severity.LOW: "Low",
    Severity.INFO: "Info",
}


def write_gitlab_report(
    report: ReportData,
    options: RenderOptions,
    out: IO[str],
    *,
    scan_type: str,
    schema_file: str,
    wanted: Callable[[StoredFinding], bool],
    vulnerability: Callable[[ReportData, StoredFinding, dict[str, Any]], dict[str, Any]],
) -> None:
    """One pass over the findings; the vulnerabilities wait in a spool because the `scan`
    object before them names every scanner that contributed."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    vulnerabilities = Spool()
    for f in report.findings:
        if not wanted(f):
            continue
        found.add(f.scanner)
        if f.status not in INCLUDED_STATUSES:
            continue
        occurrence = seen.get(f.fingerprint, 0)
        seen[f.fingerprint] = occurrence + 1
        base = {
            "id": stable_uuid(report.scan.target, f.fingerprint, str(occurrence)),
            "name": (f.title or f.rule_id)[:255],
            "description": (f.message or f.title or f.rule_id)[:1_000_000],
            "severity": _GITLAB_SEVERITY[severity_of(f.severity)],
            "identifiers": identifiers(f),
        }
        if f.remediation:
            base["solution"] = f.remediation[:7000]
        links = [{"url": r.url, "name": r.id} for r in parse_references(f.references) if r.url]
        if links:
            base["links"] = links
        vulnerabilities.append(vulnerability(report, f, base))
    scanners = sorted(found)
    errors = [e for e in report.scan.errors or [] if _error_applies(e, scanners)]
    version = options.gitlab_schema_version
    document = {
        "version": version,
        "schema": f"{SCHEMA_BASE}/v{version}/dist/{schema_file}",
        "scan": {
            "analyzer": {
                "id": "compliance",
                "name": "compliance",
                "version": report.version,
                "vendor": VENDOR,
            },
            "scanner": {
                "id": "compliance-" + "-".join(scanners) if scanners else "compliance",
                "name": "compliance" + (f" ({', '.join(scanners)})" if scanners else ""),
                "version": _versions(report, scanners),
                "vendor": VENDOR,
            },
            "type": scan_type,
            "start_time": gitlab_time(report.scan.started_at),
            "end_time": gitlab_time(report.scan.finished_at or report.scan.started_at),
            "status": "failure" if any(e.get("level") == "error" for e in errors) else "success",
            "messages": [
                {
                    "level": "fatal" if e.get("level") == "error" else "warn",
                    "value": f"{e.get('source', '?')}: {e.get('reason') or 'error'}",
                }
                for e in errors
            ],
        },
        "vulnerabilities": vulnerabilities,
    }
    write_json(out, document)


def identifiers(f: StoredFinding) -> list[dict[str, str]]:
    """The primary identifier is the tool's rule; then CWE, CVE, GHSA, OSV ids with links."""
    refs = parse_references(f.references)
    own = parse_reference(f.rule_id)  # an advisory id as rule (PYSEC-…, GHSA-…) has a page
    rule_url = own.url if own.kind != "other" else None
    rule_url = rule_url or next((r.url for r in refs if r.kind == "url" and r.url), None)
    primary: dict[str, str] = {
        "type": f"{f.scanner}_id",
        "name": f"{f.scanner} {f.rule_id}",
        "value": f.rule_id,
    }
    if rule_url:
        primary["url"] = rule_url
    result = [primary]
    # the same flaw as other tools reported it (weakness.merge_flaws): their rules too
    for m in f.also or []:
        if isinstance(m, dict) and m.get("scanner") and m.get("rule_id"):
            scanner, rule = str(m["scanner"]), str(m["rule_id"])
            result.append({"type": f"{scanner}_id", "name": f"{scanner} {rule}", "value": rule})
    for r in refs:
        if r.kind in ("cwe", "cve", "ghsa", "osv") and r.id != f.rule_id:
            value = r.id.split("-", 1)[1] if r.kind == "cwe" else r.id
            item = {"type": r.kind, "name": r.id, "value": value}
            if r.url:
                item["url"] = r.url
            result.append(item)
    return result


def _versions(report: ReportData, scanners: list[str]) -> str:
    versions = report.scan.tool_versions or {}
    parts = [f"{s} {versions[s]}" for s in scanners if versions.get(s)]
    return ", ".join(parts) or report.version


def _error_applies(error: dict[str, Any], scanners: list[str]) -> bool:
    source = str(error.get("source") or "")
    return source in scanners or source in ("scan", "compliance", "")
