"""`codequality`: GitLab Code Quality (free tier), the CodeClimate issue subset GitLab reads.

GitLab keys issues by `fingerprint` and drops duplicates, so each issue gets a unique one
(our fingerprint, suffixed if the same identity occurs twice). Paths are repo-relative or
GitLab cannot place them on the diff. Only findings with a file path fit this format.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from compliance.findings import Severity, fingerprint
from compliance.render.common import repo_path, severity_of
from compliance.render.data import ReportData
from compliance.render.jsonstream import Array, write_json
from compliance.render.options import RenderOptions

_SEVERITY = {
    Severity.CRITICAL: "blocker",
    Severity.HIGH: "critical",
    Severity.MEDIUM: "major",
    Severity.LOW: "minor",
    Severity.INFO: "info",
}


def write(report: ReportData, options: RenderOptions, out: IO[str]) -> None:
    write_json(out, Array(_issues(report)))


def _issues(report: ReportData) -> Iterator[dict[str, Any]]:
    used: set[str] = set()
    for f in report.findings:
        path = repo_path(f.path, report.scan)
        if not path or f.status in ("waived", "suppressed"):
            continue
        key = f.fingerprint
        n = 1
        while key in used:
            key = fingerprint(f.fingerprint, str(n))
            n += 1
        used.add(key)
        description = f"{f.scanner} {f.rule_id}: {f.title}"
        if f.package:
            description += f" ({f.package} {f.version or ''})".rstrip()
        yield {
            "type": "issue",
            "check_name": f"{f.scanner}/{f.rule_id}",
            "description": description,
            "categories": ["Security"],
            "severity": _SEVERITY[severity_of(f.severity)],
            "fingerprint": key,
            "location": {"path": path, "lines": {"begin": f.start_line or 1}},
        }
