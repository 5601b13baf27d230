"""`gitlab-sast`: gl-sast-report.json for GitLab's security widgets (code findings)."""

from __future__ import annotations

from typing import IO, Any

from compliance.render.common import is_code, repo_path
from compliance.render.data import ReportData
from compliance.render.gitlab_common import write_gitlab_report
from compliance.render.options import RenderOptions
from compliance.render.rows import StoredFinding


def write(report: ReportData, options: RenderOptions, out: IO[str]) -> None:
    write_gitlab_report(
        report,
        options,
        out,
        scan_type="sast",
        schema_file="sast-report-format.json",
        wanted=is_code,
        vulnerability=_vulnerability,
    )


def _vulnerability(report: ReportData, f: StoredFinding, base: dict[str, Any]) -> dict[str, Any]:
    location: dict[str, Any] = {"file": repo_path(f.path, report.scan) or ""}
    if f.start_line:
        location["start_line"] = f.start_line
        location["end_line"] = max(f.end_line or f.start_line, f.start_line)
    # GitLab follows a vulnerability across pipelines by its tracking signatures; ours
    # ignores line moves, so a finding pushed down by new code is not "new" in the MR.
    tracking_item: dict[str, Any] = {
        **location,
        "signatures": [{"algorithm": "hash", "value": f.fingerprint}],
    }
    return {
        **base,
        "location": location,
        "tracking": {"type": "source", "items": [tracking_item]},
    }
