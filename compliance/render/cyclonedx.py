"""`cyclonedx`: a CycloneDX 1.6 JSON SBOM of every dependency found, with its advisories.

Built with the maintained cyclonedx-python-lib model and serialiser (the library pip-audit
uses for its own CycloneDX output), so the document follows the schema the library ships
and tests validate against. Each component carries its purl, version, the manifest it was
found in and whether it is direct or transitive (and what pulls it in); each advisory
names the components it affects and the lowest version fixing all of a package's
advisories (PCI DSS 4.0 6.3.2: an inventory of bespoke and third-party components)."""

from __future__ import annotations

from typing import IO

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.vulnerability import (
    BomTarget,
    Vulnerability,
    VulnerabilityRating,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from compliance.render.common import utc
from compliance.render.data import ReportData
from compliance.render.dependencies import dependency_rows
from compliance.render.options import RenderOptions

SEVERITY = {
    "critical": VulnerabilitySeverity.CRITICAL,
    "high": VulnerabilitySeverity.HIGH,
    "medium": VulnerabilitySeverity.MEDIUM,
    "low": VulnerabilitySeverity.LOW,
    "info": VulnerabilitySeverity.INFO,
}


def write(report: ReportData, options: RenderOptions, out: IO[str]) -> None:
    bom = Bom()
    bom.metadata.timestamp = utc(report.scan.started_at)
    root = Component(
        name=report.scan.target or "scanned tree",
        type=ComponentType.APPLICATION,
        bom_ref=BomRef("scanned-tree"),
    )
    bom.metadata.component = root
    direct: list[Component] = []
    advisories: dict[str, Vulnerability] = {}
    for row in dependency_rows(report):
        properties = [
            Property(name="compliance:manifest", value=row.manifest),
            Property(name="compliance:dependency", value="direct" if row.direct else "transitive"),
        ]
        if row.via:
            properties.append(Property(name="compliance:pulled-in-by", value=", ".join(row.via)))
        if row.fix:
            properties.append(Property(name="compliance:fixed-in", value=row.fix))
        component = Component(
            name=row.name,
            version=row.version,
            type=ComponentType.LIBRARY,
            purl=PackageURL(type="pypi", name=row.name, version=row.version),
            bom_ref=BomRef(row.ref),
            properties=properties,
        )
        if row.direct:
            direct.append(component)
        bom.components.add(component)
        for f in row.advisories:
            vuln = advisories.get(f.rule_id)
            if vuln is None:
                vuln = Vulnerability(
                    bom_ref=BomRef(f"advisory:{f.rule_id}"),
                    id=f.rule_id,
                    source=VulnerabilitySource(name="OSV"),
                    description=f.title,
                    detail=f.message,
                    recommendation=f.remediation,
                    ratings=[VulnerabilityRating(severity=SEVERITY.get(f.severity))],
                    properties=[Property(name="compliance:alias", value=a) for a in f.references],
                )
                advisories[f.rule_id] = vuln
                bom.vulnerabilities.add(vuln)
            vuln.affects.add(BomTarget(ref=row.ref))
    bom.register_dependency(root, direct)
    out.write(JsonV1Dot6(bom).output_as_string(indent=2))
    out.write("\n")
