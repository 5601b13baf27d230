"""`sarif`: SARIF 2.1.0, one run per scanner, for GitHub code scanning and SARIF viewers.

Identity across runs is our own fingerprint (`partialFingerprints`), which survives lines
inserted above a finding; waived and inline-suppressed findings are kept as SARIF
`suppressions`, so a viewer shows them as accepted rather than losing them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import IO, Any

from compliance.findings import Severity
from compliance.render.common import repo_path, severity_of
from compliance.render.data import ReportData
from compliance.render.jsonstream import Spool, write_json
from compliance.render.options import RenderOptions
from compliance.render.references import cwe_ids, parse_references
from compliance.render.rows import StoredFinding

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
FINGERPRINT_KEY = "complianceFingerprint/v1"
INFORMATION_URI = "https://github.com/compliance-gate/compliance"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub maps security-severity to its own scale: >= 9 critical, >= 7 high, >= 4 medium.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def write(report: ReportData, options: RenderOptions, out: IO[str]) -> None:
    write_json(out, sarif_log(report))


@dataclass
class _RunResults:
    """One scanner's results, spooled as they are read, and the rules they use so far."""

    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    rule_index: dict[str, int] = field(default_factory=dict)
    results: Spool = field(default_factory=Spool)


def sarif_log(report: ReportData) -> dict[str, Any]:
    """The log, in one pass over the findings: each run's rules must precede its results in
    the file, and only the whole pass knows them, so results wait in a spool."""
    runs: dict[str, _RunResults] = defaultdict(_RunResults)
    for f in report.findings:
        run = runs[f.scanner]
        if f.rule_id not in run.rules:
            run.rule_index[f.rule_id] = len(run.rules)
            run.rules[f.rule_id] = _rule(f)
        else:
            _raise_rule_severity(run.rules[f.rule_id], f)
        run.results.append(_result(report, f, run.rule_index[f.rule_id]))
    versions = dict(report.scan.tool_versions or {})
    errors: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in report.scan.errors or []:
        errors[str(e.get("source") or "compliance")].append(e)
    names = sorted(set(runs) | set(versions) | set(errors)) or ["compliance"]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            _run(report, name, runs[name], versions.get(name), errors.get(name, []))
            for name in names
        ],
    }


def _run(
    report: ReportData,
    scanner: str,
    found: _RunResults,
    version: str | None,
    errors: list[dict[str, Any]],
) -> dict[str, Any]:
    driver: dict[str, Any] = {
        "name": scanner,
        "informationUri": INFORMATION_URI,
        "rules": list(found.rules.values()),
    }
    if version:
        driver["version"] = version
    failed = [e for e in errors if e.get("level") == "error"]
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "automationDetails": {"id": f"compliance/{report.scan.kind}/{report.scan_id}"},
        "invocations": [
            {
                "executionSuccessful": not failed,
                "toolExecutionNotifications": [
                    {
                        "level": "error" if e.get("level") == "error" else "warning",
                        "message": {"text": _error_text(e)},
                    }
                    for e in errors
                ],
            }
        ],
        "results": found.results,
    }
    if report.scan.git_commit:
        # versionControlProvenance needs the repository URI, which the store does not keep.
        run["properties"] = {
            "gitCommit": report.scan.git_commit,
            "gitBranch": report.scan.git_branch,
            "target": report.scan.target,
        }
    return run


def _error_text(error: dict[str, Any]) -> str:
    where = f" in {error['path']}" if error.get("path") else ""
    hint = f" ({error['hint']})" if error.get("hint") else ""
    return f"{error.get('source', '?')}: {error.get('reason', '')}{where}{hint}"


def _rule(f: StoredFinding) -> dict[str, Any]:
    severity = severity_of(f.severity)
    refs = parse_references(f.references)
    links = [r.url for r in refs if r.url]
    help_text = f.remediation or f"{f.title}. See the references for how to fix it."
    if links:
        help_text += "\nReferences: " + ", ".join(links)
    rule: dict[str, Any] = {
        "id": f.rule_id,
        "name": f.rule_id,
        "shortDescription": {"text": f.title or f.rule_id},
        "fullDescription": {"text": f.message or f.title or f.rule_id},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": _LEVEL[severity]},
        "properties": {
            "tags": ["security", *(f"external/cwe/cwe-{n}" for n in cwe_ids(f.references))],
            "security-severity": _SECURITY_SEVERITY[severity],
            "severity": severity.label,
        },
    }
    docs = [r.url for r in refs if r.kind == "url" and r.url]  # the tool's own rule page first
    if docs or links:
        rule["helpUri"] = (docs or links)[0]
    return rule


def _raise_rule_severity(rule: dict[str, Any], f: StoredFinding) -> None:
    """A rule's level is its worst finding's: the same rule id may carry several severities."""
    severity = severity_of(f.severity)
    if severity > severity_of(rule["properties"]["severity"]):
        rule["defaultConfiguration"]["level"] = _LEVEL[severity]
        rule["properties"]["security-severity"] = _SECURITY_SEVERITY[severity]
        rule["properties"]["severity"] = severity.label


def _result(report: ReportData, f: StoredFinding, index: int) -> dict[str, Any]:
    severity = severity_of(f.severity)
    text = f.title if not f.message or f.message == f.title else f"{f.title}: {f.message}"
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index,
        "level": _LEVEL[severity],
        "message": {"text": text or f.rule_id},
        "locations": [_location(report, f)],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {
            "severity": severity.label,
            "status": f.status,
            "blocking": f.blocking,
        },
    }
    if f.note:
        result["properties"]["note"] = f.note
    if f.tool_severity:  # the tool's own word; `severity` is the gate's (weakness table)
        result["properties"]["tool-severity"] = f.tool_severity
    if f.weakness:
        result["properties"]["weakness"] = f.weakness
    if f.also:  # the same flaw as other tools reported it (one result, not two)
        result["properties"]["also"] = [
            f"{m.get('scanner')} {m.get('rule_id')}" for m in f.also if isinstance(m, dict)
        ]
    if report.previous is not None:
        result["baselineState"] = "new" if report.is_new(f) else "unchanged"
    if f.status == "waived":
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": f.note or "waived"}
        ]
    elif f.status == "suppressed":
        result["suppressions"] = [
            {"kind": "inSource", "status": "accepted", "justification": f.note or "suppressed"}
        ]
    return result


def _location(report: ReportData, f: StoredFinding) -> dict[str, Any]:
    location: dict[str, Any] = {}
    path = repo_path(f.path, report.scan)
    if path:
        physical: dict[str, Any] = {"artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"}}
        if f.start_line:
            region: dict[str, Any] = {"startLine": f.start_line}
            if f.end_line and f.end_line >= f.start_line:
                region["endLine"] = f.end_line
            if f.evidence and not f.package:
                region["snippet"] = {"text": f.evidence}
            physical["region"] = region
        location["physicalLocation"] = physical
    logical = []
    if f.package:
        name = f"{f.package}=={f.version}" if f.version else f.package
        logical.append({"name": f.package, "fullyQualifiedName": name, "kind": "package"})
    if f.host:
        logical.append({"name": f.host, "kind": "host"})
    if logical:
        location["logicalLocations"] = logical
    if not location:
        location["message"] = {"text": "no location recorded"}
    return location
