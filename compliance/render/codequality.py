"""`codequality`: GitLab Code Quality (free tier), the CodeClimate issue subset GitLab reads.

GitLab keys issues by `fingerprint` and drops duplicates, so each issue gets a unique one
(our fingerprint, suffixed if the same identity occurs twice). Paths are repo-relative or
GitLab cannot place them on the diff. Only findings with a file path fit this format.
"""

from __future__ import annotations

from typing import Any

from compliance.findings import Severity, fingerprint
from compliance.render.common import dump_json, repo_path
from compliance.render.data import ReportData
from compliance.render.options import RenderOptions

_SEVERITY = {
    Severity.CRITICAL: "blocker",
    Severity.HIGH: "critical",
    Severity.MEDIUM: "major",
    Severity.LOW: "minor",
    Severity.INFO: "info",
}


def render(report: ReportData, options: RenderOptions) -> str:
    issues: list[dict[str, Any]] = []
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
        issues.append(
            {
                "type": "issue",
                "check_name": f"{f.scanner}/{f.rule_id}",
                "description": description,
                "categories": ["Security"],
                "severity": _SEVERITY[Severity.parse(f.severity)],
                "fingerprint": key,
                "location": {"path": path, "lines": {"begin": f.start_line or 1}},
            }
        )
    return dump_json(issues)
