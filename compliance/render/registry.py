"""Output formats by name: a new format is one file in this package and one line here."""

from __future__ import annotations

import importlib
import io
from dataclasses import dataclass
from typing import IO

from compliance.render.data import ReportData
from compliance.render.options import RenderError, RenderOptions


@dataclass(frozen=True)
class Format:
    name: str
    filename: str
    """Default file name under reports/ (GitLab's conventional names where it has them)."""
    module: str
    """The module under compliance.render whose `write` renders it. Imported when a report
    is written, not when the CLI starts: the CycloneDX library and jinja2 cost ~0.2 s that
    a scan asking for no such report must not pay."""
    description: str

    def write(self, report: ReportData, options: RenderOptions, out: IO[str]) -> None:
        """Writes the report as it reads the findings: 100k of them never sit in memory as
        one document (the HTML page excepted, see html.py)."""
        module = importlib.import_module(f"compliance.render.{self.module}")
        module.write(report, options, out)

    def render(self, report: ReportData, options: RenderOptions) -> str:
        """The whole report as a string: for tests and small scans."""
        buffer = io.StringIO()
        self.write(report, options, buffer)
        return buffer.getvalue()


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("html", "compliance-report.html", "html", "self-contained HTML report"),
        Format("json", "compliance-report.json", "json_report", "stable JSON"),
        Format("sarif", "compliance.sarif", "sarif", "SARIF 2.1.0"),
        Format("gitlab-sast", "gl-sast-report.json", "gitlab_sast", "GitLab SAST report"),
        Format(
            "gitlab-dependency-scanning",
            "gl-dependency-scanning-report.json",
            "gitlab_dependency_scanning",
            "GitLab dependency scanning report",
        ),
        Format("codequality", "gl-code-quality-report.json", "codequality", "GitLab Code Quality"),
        Format("junit", "compliance-junit.xml", "junit", "JUnit XML"),
        Format("cyclonedx", "sbom.cdx.json", "cyclonedx", "CycloneDX 1.6 JSON SBOM"),
    )
}


def get_format(name: str) -> Format:
    if name not in FORMATS:
        raise RenderError(f"unknown report format {name!r}; use one of: {', '.join(FORMATS)}")
    return FORMATS[name]
