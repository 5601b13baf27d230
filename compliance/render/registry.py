"""Output formats by name: a new format is one file in this package and one line here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from compliance.render import (
    codequality,
    gitlab_dependency_scanning,
    gitlab_sast,
    html,
    json_report,
    junit,
    sarif,
)
from compliance.render.data import ReportData
from compliance.render.options import RenderError, RenderOptions


@dataclass(frozen=True)
class Format:
    name: str
    filename: str
    """Default file name under reports/ (GitLab's conventional names where it has them)."""
    render: Callable[[ReportData, RenderOptions], str]
    description: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("html", "compliance-report.html", html.render, "self-contained HTML report"),
        Format("json", "compliance-report.json", json_report.render, "stable JSON"),
        Format("sarif", "compliance.sarif", sarif.render, "SARIF 2.1.0"),
        Format("gitlab-sast", "gl-sast-report.json", gitlab_sast.render, "GitLab SAST report"),
        Format(
            "gitlab-dependency-scanning",
            "gl-dependency-scanning-report.json",
            gitlab_dependency_scanning.render,
            "GitLab dependency scanning report",
        ),
        Format(
            "codequality",
            "gl-code-quality-report.json",
            codequality.render,
            "GitLab Code Quality",
        ),
        Format("junit", "compliance-junit.xml", junit.render, "JUnit XML"),
    )
}


def get_format(name: str) -> Format:
    if name not in FORMATS:
        raise RenderError(f"unknown report format {name!r}; use one of: {', '.join(FORMATS)}")
    return FORMATS[name]
