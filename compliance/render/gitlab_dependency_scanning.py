"""`gitlab-dependency-scanning`: gl-dependency-scanning-report.json (vulnerable packages)."""

from __future__ import annotations

from typing import IO, Any

from compliance.render.common import is_dependency, repo_path
from compliance.render.data import ReportData
from compliance.render.gitlab_common import write_gitlab_report
from compliance.render.options import RenderOptions
from compliance.render.rows import StoredFinding

DEFAULT_MANIFEST = "requirements.txt"
"""Used when a dependency finding was stored without the manifest it came from."""


def write(report: ReportData, options: RenderOptions, out: IO[str]) -> None:
    write_gitlab_report(
        report,
        options,
        out,
        scan_type="dependency_scanning",
        schema_file="dependency-scanning-report-format.json",
        wanted=is_dependency,
        vulnerability=_vulnerability,
    )


def _vulnerability(report: ReportData, f: StoredFinding, base: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    if "solution" not in result and f.fix_versions:
        result["solution"] = f"Upgrade {f.package} to {' or '.join(f.fix_versions)}."
    result["location"] = {
        "file": repo_path(f.path, report.scan) or DEFAULT_MANIFEST,
        "dependency": {"package": {"name": f.package or "?"}, "version": f.version or ""},
    }
    return result
