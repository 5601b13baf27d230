"""Small OSV records written for the dependency tests (no data is copied from anywhere).

Each record exercises one matching rule: several unsorted introduced/fixed pairs, a
withdrawn record, a versions-only record, a name needing PEP 503 canonicalisation,
`3.2` against `3.2.0`, `last_affected`, and CVSS / `database_specific` severities.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import yaml
from packaging.version import Version

RECORDS: list[dict[str, Any]] = [
    {
        "id": "PYSEC-9000-1",
        "summary": "Several ranges, listed out of order",
        "details": "demo-pkg is vulnerable in 1.0-1.5, 2.0-2.3 and from 3.0 on.",
        "aliases": ["CVE-9000-0001", "GHSA-aaaa-bbbb-cccc"],
        "modified": "2024-01-01T00:00:00Z",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [
            {
                "package": {"name": "demo-pkg", "ecosystem": "PyPI"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [
                            {"introduced": "2.0"},
                            {"fixed": "2.3"},
                            {"introduced": "3.0"},
                            {"introduced": "1.0"},
                            {"fixed": "1.5"},
                        ],
                    },
                    {
                        "type": "GIT",
                        "repo": "https://example.invalid/demo",
                        "events": [{"introduced": "0"}, {"fixed": "deadbeef"}],
                    },
                ],
            }
        ],
    },
    {
        "id": "PYSEC-9000-2",
        "summary": "Withdrawn: must never match",
        "withdrawn": "2024-02-01T00:00:00Z",
        "modified": "2024-02-01T00:00:00Z",
        "affected": [
            {
                "package": {"name": "demo-pkg", "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
            }
        ],
    },
    {
        "id": "PYSEC-9000-3",
        "details": "Only explicit versions are listed. No fix is known.",
        "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {"package": {"name": "versions-only", "ecosystem": "PyPI"}, "versions": ["1.0", "1.1"]}
        ],
    },
    {
        "id": "GHSA-9000-weird-name",
        "summary": "A name that needs canonicalising, and 3.2 against 3.2.0",
        "aliases": ["CVE-9000-0003"],
        "modified": "2024-01-01T00:00:00Z",
        "database_specific": {"severity": "MODERATE"},
        "affected": [
            {
                "package": {"name": "Weird_Name.Pkg", "ecosystem": "PyPI"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.2.0"}]}
                ],
                "versions": ["3.1.0"],
            }
        ],
    },
    {
        "id": "PYSEC-9000-4",
        "details": "Affected up to and including 1.4 (last_affected); 3.2 listed explicitly.",
        "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"name": "last-pkg", "ecosystem": "PyPI"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "1.0"}, {"last_affected": "1.4"}],
                    }
                ],
                "versions": ["3.2"],
            }
        ],
    },
    {
        "id": "NPM-9000-1",
        "summary": "Another ecosystem: never a PyPI match",
        "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"name": "demo-pkg", "ecosystem": "npm"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
            }
        ],
    },
]


def write_pypa_layout(root: Path, records: list[dict[str, Any]] = RECORDS) -> Path:
    """vulns/<package>/<ID>.yaml as in the PyPA database (one record as JSON, to mix formats)."""
    vulns = root / "vulns"
    for i, record in enumerate(records):
        folder = vulns / record["affected"][0]["package"]["name"].lower()
        folder.mkdir(parents=True, exist_ok=True)
        if i == 2:
            (folder / f"{record['id']}.json").write_text(json.dumps(record), encoding="utf-8")
        else:
            (folder / f"{record['id']}.yaml").write_text(
                yaml.safe_dump(record, sort_keys=False), encoding="utf-8"
            )
    (vulns / ".id-allocator").write_text("not a record\n", encoding="utf-8")
    return vulns


def write_osv_zip(path: Path, records: list[dict[str, Any]] = RECORDS) -> Path:
    """osv.dev's ecosystem export: one <ID>.json per record at the zip's root."""
    with zipfile.ZipFile(path, "w") as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return path


# --- an independent matcher: brute force, written without compliance.advisories -----------


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _affected_by_range(version: Version, events: list[dict[str, str]]) -> bool:
    """The latest event reached at `version` decides; at a tie a fix beats an introduction."""
    best: tuple[tuple[int, Version], int, bool] | None = None
    for event in events:
        ((kind, text),) = event.items()
        if kind == "introduced":
            position = (0, Version("0")) if text == "0" else (1, Version(text))
            reached, rank, affected = text == "0" or Version(text) <= version, 0, True
        elif kind in ("fixed", "last_affected"):
            bound = Version(text)
            reached = bound <= version if kind == "fixed" else bound < version
            position, rank, affected = (1, bound), 1, False
        else:
            continue
        if reached and (best is None or (position, rank) > (best[0], best[1])):
            best = (position, rank, affected)
    return best is not None and best[2]


def brute_force(records: list[dict[str, Any]], name: str, version: str) -> set[str]:
    """Ids of the records affecting name==version, by the OSV rules, the slow obvious way."""
    wanted, v = _name(name), Version(version)
    hits = set()
    for record in records:
        if record.get("withdrawn"):
            continue
        for affected in record.get("affected", []):
            package = affected["package"]
            if package["ecosystem"] != "PyPI" or _name(package["name"]) != wanted:
                continue
            listed = any(Version(x) == v for x in affected.get("versions", []))
            ranged = any(
                _affected_by_range(v, r["events"])
                for r in affected.get("ranges", [])
                if r["type"] == "ECOSYSTEM"
            )
            if listed or ranged:
                hits.add(record["id"])
    return hits
