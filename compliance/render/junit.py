"""`junit`: JUnit XML, which GitLab shows in the merge request's test summary.

One testcase per rule that found something and per scanner run (so a clean or failed run
is visible too), one per host and check for host audits, and one for the gate's verdict.
A blocking finding or a failed host check is a <failure>; a scanner or check that could
not run is an <error>; n/a checks are <skipped>.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from typing import IO, Any

from compliance.hosts.score import scores
from compliance.render.common import iso_z, location_text
from compliance.render.data import ReportData
from compliance.render.options import RenderOptions
from compliance.render.rows import StoredFinding
from compliance.store.models import HostCheckRecord

MAX_LISTED = 200
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    """XML 1.0 cannot carry most control characters, even escaped: drop them."""
    return _XML_INVALID.sub("\ufffd", value)


class _Suite:
    def __init__(self, parent: ET.Element, name: str, timestamp: str):
        self.element = ET.SubElement(parent, "testsuite", name=_text(name), timestamp=timestamp)
        self.counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def case(self, classname: str, name: str) -> ET.Element:
        self.counts["tests"] += 1
        return ET.SubElement(self.element, "testcase", classname=_text(classname), name=_text(name))

    def outcome(self, case: ET.Element, tag: str, message: str, body: str = "") -> None:
        key = {"failure": "failures", "error": "errors", "skipped": "skipped"}[tag]
        self.counts[key] += 1
        child = ET.SubElement(case, tag, message=_text(message[:1000]))
        if tag != "skipped":
            child.set("type", tag)
        if body:
            child.text = _text(body)

    def close(self) -> dict[str, int]:
        for key, value in self.counts.items():
            self.element.set(key, str(value))
        return self.counts


def write(report: ReportData, options: RenderOptions, out: IO[str]) -> None:
    root = ET.Element(
        "testsuites", name=f"compliance scan {report.scan_id} of {report.scan.target}"
    )
    stamp = iso_z(report.scan.started_at)
    suites = [_gate_suite(root, report, stamp)]
    suites += _scanner_suites(root, report, stamp)
    if report.host_checks:
        suites.append(_host_suite(root, report.host_checks, stamp))
    totals = {
        key: sum(s[key] for s in suites) for key in ("tests", "failures", "errors", "skipped")
    }
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    ET.ElementTree(root).write(out, encoding="unicode")
    out.write("\n")


def _gate_suite(root: ET.Element, report: ReportData, stamp: str) -> dict[str, int]:
    suite = _Suite(root, "gate", stamp)
    case = suite.case("compliance.gate", f"verdict for {report.scan.target}")
    reasons = "\n".join(report.scan.reasons or [])
    if report.scan.verdict == "fail":
        suite.outcome(case, "failure", "the policy is violated", reasons)
    elif report.scan.verdict != "pass":
        suite.outcome(
            case, "error", f"the gate could not decide (scan {report.scan.status})", reasons
        )
    return suite.close()


@dataclass
class _Listing:
    """The first MAX_LISTED findings of a kind as text lines, and how many there were: a
    testcase lists that many, so the rest need not be kept while the findings stream by."""

    lines: list[str] = field(default_factory=list)
    total: int = 0

    def add(self, f: StoredFinding) -> None:
        self.total += 1
        if len(self.lines) < MAX_LISTED:
            self.lines.append(_line(f))

    def text(self) -> str:
        more = [f"… and {self.total - MAX_LISTED} more"] if self.total > MAX_LISTED else []
        return "\n".join(self.lines + more)


@dataclass
class _RuleCase:
    title: str
    blocking: _Listing = field(default_factory=_Listing)
    others: _Listing = field(default_factory=_Listing)


def _scanner_suites(root: ET.Element, report: ReportData, stamp: str) -> list[dict[str, int]]:
    by_scanner: dict[str, dict[str, _RuleCase]] = defaultdict(dict)
    for f in report.findings:
        if f.host and f.scanner == "host" and report.host_checks:
            continue  # host checks have their own suite with every result
        rule = by_scanner[f.scanner].setdefault(f.rule_id, _RuleCase(f.title))
        (rule.blocking if f.blocking else rule.others).add(f)
    errors: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in report.scan.errors or []:
        errors[str(e.get("source") or "compliance")].append(e)
    names = sorted(set(by_scanner) | set(report.scan.tool_versions or {}) | set(errors))
    result = []
    for name in names:
        suite = _Suite(root, name, stamp)
        run = suite.case(name, f"{name} ran to completion")
        failed = [e for e in errors.get(name, []) if e.get("level") == "error"]
        if failed:
            suite.outcome(
                run,
                "error",
                str(failed[0].get("reason", "error")),
                "\n".join(_error(e) for e in failed),
            )
        for rule_id, found in sorted(by_scanner.get(name, {}).items()):
            case = suite.case(name, f"{rule_id}: {found.title}")
            if found.blocking.total:
                suite.outcome(
                    case,
                    "failure",
                    f"{found.blocking.total} blocking finding(s) of {rule_id}",
                    found.blocking.text(),
                )
            if found.others.total:
                ET.SubElement(case, "system-out").text = _text(found.others.text())
        result.append(suite.close())
    return result


def _host_suite(root: ET.Element, checks: list[HostCheckRecord], stamp: str) -> dict[str, int]:
    suite = _Suite(root, "hosts", stamp)
    for c in sorted(checks, key=lambda c: (c.host, c.check_id)):
        case = suite.case(f"hosts.{c.host}", f"{c.check_id}: {c.title}" if c.title else c.check_id)
        detail = f"expected: {c.expected}\nobserved: {c.observed}"
        if c.remediation:
            detail += f"\nremediation: {c.remediation}"
        if c.status == "fail":
            suite.outcome(case, "failure", f"{c.host} fails {c.check_id} ({c.severity})", detail)
        elif c.status in ("error", "not-run"):
            suite.outcome(case, "error", f"{c.check_id} could not be checked on {c.host}", detail)
        elif c.status != "pass":
            suite.outcome(case, "skipped", f"{c.status}: {c.observed}"[:1000])
    # Wazuh-style scores as suite properties (JUnit puts <properties> before the cases)
    found = scores(checks)
    properties = ET.Element("properties")
    for host, score in sorted(found.hosts.items()):
        ET.SubElement(properties, "property", name=_text(f"score.host.{host}"), value=score.text())
    for policy, by_host in sorted(found.policies.items()):
        for host, score in sorted(by_host.items()):
            name = _text(f"score.policy.{policy}.{host}")
            ET.SubElement(properties, "property", name=name, value=score.text())
    if len(properties):
        suite.element.insert(0, properties)
    return suite.close()


def _line(f: StoredFinding) -> str:
    return (
        f"{f.severity.upper():8} {location_text(f)} [{f.status}] {f.title}"
        + (f" ({f.note})" if f.note else "")
        + (f"\n    {f.evidence.strip()}" if f.evidence else "")
    )


def _error(e: dict[str, Any]) -> str:
    hint = f" ({e['hint']})" if e.get("hint") else ""
    return f"{e.get('source')}: {e.get('reason')}{hint}"
