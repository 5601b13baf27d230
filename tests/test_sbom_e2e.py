"""The dependency inventory end to end: a real scan (real pip-audit, the mirror on
loopback) writes a CycloneDX SBOM that the schema cyclonedx-python-lib ships accepts, and
an HTML report whose dependency section names component, version, advisories and fix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.osv_records import write_pypa_layout
from tests.test_manifests_e2e import write_files
from tests.test_pip_audit_e2e import scan

pytestmark = pytest.mark.e2e

TREE = {
    "app/pyproject.toml": '[project]\nname = "app"\nversion = "1"\n'
    'dependencies = ["web-framework>=1"]\n',
    "app/poetry.lock": '[[package]]\nname = "web-framework"\nversion = "1.0"\n'
    '[package.dependencies]\ndemo-pkg = "*"\n'
    '[[package]]\nname = "demo-pkg"\nversion = "1.2"\n',
    "tools/requirements-dev.txt": "versions-only==1.0\nclean-pkg==1.0\n",
}


def test_sbom_and_html_dependency_section(tmp_path: Path) -> None:
    db = write_pypa_layout(tmp_path / "advisories")
    tree = write_files(tmp_path / "tree", TREE)
    sbom, html = tmp_path / "sbom.cdx.json", tmp_path / "report.html"
    run, _ = scan(
        tmp_path, tree, "--advisory-db", str(db),
        "--output", f"cyclonedx:{sbom}", "--output", f"html:{html}",
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert "upgrade demo-pkg to 1.5 or later (fixes all its known advisories)" in run.stdout
    text = sbom.read_text(encoding="utf-8")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.6"
    components = {
        (c["name"], c.get("version"), _prop(c, "compliance:manifest")): c for c in doc["components"]
    }
    assert set(components) == {
        ("web-framework", "1.0", "app/poetry.lock"),
        ("demo-pkg", "1.2", "app/poetry.lock"),
        ("web-framework", None, "app/pyproject.toml"),
        ("versions-only", "1.0", "tools/requirements-dev.txt"),
        ("clean-pkg", "1.0", "tools/requirements-dev.txt"),
    }
    demo = components[("demo-pkg", "1.2", "app/poetry.lock")]
    assert demo["purl"] == "pkg:pypi/demo-pkg@1.2"
    assert _prop(demo, "compliance:dependency") == "transitive"
    assert _prop(demo, "compliance:pulled-in-by") == "web-framework"
    assert _prop(demo, "compliance:fixed-in") == "1.5"
    web = components[("web-framework", "1.0", "app/poetry.lock")]
    assert _prop(web, "compliance:dependency") == "direct"
    affected = {v["id"]: {a["ref"] for a in v["affects"]} for v in doc["vulnerabilities"]}
    assert affected == {
        "PYSEC-9000-1": {demo["bom-ref"]},
        "PYSEC-9000-3": {
            components[("versions-only", "1.0", "tools/requirements-dev.txt")]["bom-ref"]
        },
    }
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.read_text(encoding="utf-8")))
    assert "Dependencies (5, 2 with advisories)" in page
    assert (
        "demo-pkg 1.2 app/poetry.lock transitive (via web-framework) critical PYSEC-9000-1 1.5"
        in page
    )
    assert (
        "versions-only 1.0 tools/requirements-dev.txt direct low PYSEC-9000-3 "
        "no fixed version known" in page
    )


def _prop(component: dict[str, object], name: str) -> str | None:
    props = component.get("properties") or []
    assert isinstance(props, list)
    return next((p["value"] for p in props if p["name"] == name), None)
