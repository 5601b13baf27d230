"""The scan's dependency inventory as the SBOM and the HTML report show it.

The pip-audit scanner stores every component it found (manifest, direct or transitive,
what pulls it in, the advisories that apply, the lowest version fixing them all) in the
scan's summary; the advisories' own text and severity are the stored findings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from compliance.render.data import ReportData
from compliance.render.rows import StoredFinding


@dataclass(frozen=True)
class DependencyRow:
    name: str
    version: str | None
    purl: str
    manifest: str
    direct: bool
    via: tuple[str, ...]
    fix: str | None
    advisories: tuple[StoredFinding, ...] = field(default=())

    @property
    def ref(self) -> str:
        """Unique per component and manifest: one package pinned in two files is two rows."""
        return f"{self.purl}?manifest={self.manifest}"


def dependency_rows(
    report: ReportData, findings: Iterable[StoredFinding] | None = None
) -> list[DependencyRow]:
    """Every stored component with the stored advisory findings on it, by manifest, name.
    `findings`: the scan's findings when the caller has read them already."""
    summary: dict[str, Any] = (report.scan.summary or {}).get("dependencies") or {}
    by_pin: dict[tuple[str, str, str], list[StoredFinding]] = {}
    for f in report.findings if findings is None else findings:
        if f.scanner == "pip-audit" and f.package:
            by_pin.setdefault((f.package, f.version or "", f.path or ""), []).append(f)
    rows = []
    for c in summary.get("components") or []:
        key = (str(c["name"]), str(c.get("version") or ""), str(c["manifest"]))
        rows.append(
            DependencyRow(
                name=key[0],
                version=c.get("version"),
                purl=str(c["purl"]),
                manifest=key[2],
                direct=bool(c.get("direct")),
                via=tuple(c.get("via") or ()),
                fix=c.get("fix"),
                advisories=tuple(by_pin.get(key, ())),
            )
        )
    return sorted(rows, key=lambda r: (r.manifest, r.name, r.version or ""))
