"""The index engine: pinned packages matched against a local advisory index in-process.

With `--advisory-db DIR` the pip-audit engine starts the loopback mirror and a pip-audit
process that asks it one HTTP request per package: ~2 s for a 300-package lock, most of
it pip-audit's start-up and the round trips. The answer is a function of the pins and the
index, so here the same index answers the same questions directly (`AdvisoryIndex.records`,
the matching behind the mirror's `POST /v1/query`), and the result is shaped the way
pip-audit shapes what the mirror serves it (pip_audit/_service/osv.py, _audit.py 2.10):

- the primary id is the first of [id, *aliases] ordered PYSEC, then CVE, then the rest;
- results that share an id or alias are merged (PYSEC ones first, the rest folded into
  the first result they alias, keeping its fix versions and description);
- fix versions are the `fixed` events of the first ECOSYSTEM range of the last affected
  entry naming the package (the findings add every fixed version of every record read,
  advisory_findings.finding, so no fix is lost whichever entry this picks);
- the description is the summary, else the details, else "N/A", on one line.

Where pip-audit would drop an answer the index gives, this engine keeps it (fail closed):
a record whose `schema_version` is not 1.x is still reported. A pin whose version PEP 440
cannot read is not guessed at: it is skipped, which the scanner reports as an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from packaging.utils import canonicalize_name

from compliance.advisories.matching import PYPI, parse_version
from compliance.manifests.interface import Dependency
from compliance.scanners.advisory_findings import Audited, Vuln

ENGINE_VERSION = "index-1"
"""Reported as the scanner's version, and part of the answer cache's key: bump it when
what this module answers for the same index changes."""


class Index(Protocol):
    """What the engine reads of an AdvisoryIndex (a protocol: tests pass their own)."""

    def records(self, name: str, version: str) -> list[dict[str, Any]]: ...

    def get(self, record_id: str) -> str | None: ...


def audit(index: Index, pins: Iterable[Dependency]) -> tuple[Audited, dict[str, dict[str, Any]]]:
    """Every pin's advisories (keyed as pip-audit reports them: canonical name, normal
    version) and the full records of every id and alias they name."""
    vulns: dict[tuple[str, str], list[Vuln]] = {}
    skipped: list[tuple[str, str]] = []
    bodies: dict[str, dict[str, Any]] = {}
    for pin in pins:
        name = canonicalize_name(pin.name)
        parsed = parse_version(pin.version or "")
        if parsed is None:
            skipped.append((name, f"version {pin.version!r} is not a PEP 440 version"))
            continue
        records = index.records(name, str(parsed))
        for record in records:
            bodies.setdefault(str(record["id"]), record)
        vulns[(name, str(parsed))] = merged([result(r, name) for r in records])
    wanted = {i for found in vulns.values() for v in found for i in (v.id, *v.aliases)}
    return Audited(vulns, skipped), records_of(index, wanted, bodies)


def result(record: Mapping[str, Any], name: str) -> Vuln:
    """One matched record as pip-audit's OSV service reads it."""
    ids = sorted([str(record["id"]), *map(str, record.get("aliases") or ())], key=_id_order)
    description = record.get("summary")
    if description is None:
        description = record.get("details")
    if description is None:
        description = "N/A"
    return Vuln(
        id=ids[0],
        fix_versions=_fix_versions(record, name),
        aliases=tuple(sorted(set(ids[1:]))),
        description=str(description).replace("\n", " "),
    )


def merged(results: list[Vuln]) -> list[Vuln]:
    """pip-audit's de-duplication: results sharing an id or alias become one."""
    unique: list[Vuln] = []
    seen: set[str] = set()
    for vuln in [v for v in results if v.id.startswith("PYSEC")]:
        seen.update((vuln.id, *vuln.aliases))
        unique.append(vuln)
    for vuln in results:
        names = {vuln.id, *vuln.aliases}
        if seen & names:
            at = next(i for i, p in enumerate(unique) if {p.id, *p.aliases} & names)
            previous = unique[at]
            aliases = set(previous.aliases) | (set(vuln.aliases) - {previous.id})
            unique[at] = Vuln(
                previous.id, previous.fix_versions, tuple(sorted(aliases)), previous.description
            )
            continue
        seen.update(names)
        unique.append(vuln)
    return unique


def records_of(
    index: Index, ids: Iterable[str], known: Mapping[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The full records of `ids` (an alias that is no record, e.g. a CVE id, is left out)."""
    found: dict[str, dict[str, Any]] = {}
    for record_id in sorted(set(ids)):
        record = known.get(record_id)
        if record is None:
            body = index.get(record_id)
            data = json.loads(body) if body else None
            record = data if isinstance(data, dict) else None
        if record is not None:
            found[record_id] = record
    return found


def _fix_versions(record: Mapping[str, Any], name: str) -> tuple[str, ...]:
    fixes: list[str] = []
    for affected in record.get("affected") or ():
        package = affected.get("package") or {}
        if package.get("name") != name or package.get("ecosystem") != PYPI:
            continue
        for ranges in affected.get("ranges") or ():
            if ranges.get("type") == "ECOSYSTEM":
                fixes = [str(e["fixed"]) for e in ranges.get("events") or () if "fixed" in e]
                break
    parsed = [v for v in (parse_version(f) for f in fixes) if v is not None]
    return tuple(str(v) for v in sorted(parsed))


def _id_order(record_id: str) -> int:
    if record_id.startswith("PYSEC"):
        return 1
    if record_id.startswith("CVE"):
        return 2
    return 3
