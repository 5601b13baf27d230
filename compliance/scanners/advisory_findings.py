"""Advisory answers → findings, whichever engine answered (pip-audit or the index).

An answer is pip-audit's: per pinned (name, version), the advisories that apply (`Vuln`:
its primary id, aliases, fix versions, description), and the full OSV records of those ids
and aliases. Both engines (pip_audit.py runs pip-audit, index_audit.py matches the advisory
index in-process) produce that shape and this module alone turns it into `Finding`s, so a
finding, its severity, fix versions and fingerprint cannot depend on the engine. The cached
form of an answer (AuditCache) is written and read back here too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from compliance.advisories.matching import affects_checker, fixed_versions
from compliance.advisories.severity import record_severity
from compliance.findings import Finding, Location, Severity, bound_text, fingerprint
from compliance.manifests.interface import Dependency

SCANNER = "pip-audit"
MESSAGE_LIMIT = 1500
ENVIRONMENT = "<environment>"


@dataclass(frozen=True)
class Vuln:
    id: str
    fix_versions: tuple[str, ...]
    aliases: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Audited:
    """What pip-audit said about one run: vulns per (name, version), and what it skipped."""

    vulns: dict[tuple[str, str], list[Vuln]]
    skipped: list[tuple[str, str]]  # (name, reason)


def answer_json(results: list[Audited], records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """pip-audit's answers and the records read for them, as JSON for AuditCache."""
    return {
        "vulns": [
            [name, version, [asdict(v) for v in vulns]]
            for r in results
            for (name, version), vulns in r.vulns.items()
        ],
        "records": records,
    }


def usable(answer: dict[str, Any] | None) -> tuple[Audited, dict[str, dict[str, Any]]] | None:
    """A cached answer, read back; one that does not read is a miss (pip-audit runs)."""
    if answer is None:
        return None
    try:
        return audited_from(answer), {str(k): dict(v) for k, v in answer["records"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def audited_from(answer: dict[str, Any]) -> Audited:
    vulns = {
        (str(name), str(version)): [
            Vuln(
                id=str(v["id"]),
                fix_versions=tuple(v["fix_versions"]),
                aliases=tuple(v["aliases"]),
                description=str(v["description"]),
            )
            for v in items
        ]
        for name, version, items in answer["vulns"]
    }
    return Audited(vulns, [])


def lowest_fix(
    pin: Dependency, vulns: Sequence[Vuln], records: Sequence[list[dict[str, Any]]]
) -> str | None:
    """The lowest version above the pinned one that fixes every advisory of the package;
    None when one has no fix. Candidates are the advisories' fixed versions; one is checked
    against each advisory's ranges where its record was read (a range may reopen above a
    fix), else only against that advisory's own fixed versions."""
    if not vulns:
        return None
    current = _version_key(pin.version or "0")
    per_vuln: list[tuple[list[str], list[Callable[[str], bool]]]] = []
    for vuln, known in zip(vulns, records, strict=True):
        fixes = set(vuln.fix_versions)
        for record in known:
            fixes.update(fixed_versions(record, pin.name))
        above = sorted((f for f in fixes if _version_key(f) > current), key=_version_key)
        if not above:
            return None
        per_vuln.append((above, [affects_checker(r, pin.name) for r in known]))
    candidates = sorted({f for above, _ in per_vuln for f in above}, key=_version_key)
    for candidate in candidates:
        key = _version_key(candidate)
        if all(
            not any(affects(candidate) for affects in checks)
            if checks
            else key >= _version_key(above[0])
            for above, checks in per_vuln
        ):
            return candidate
    return None


def finding(
    pin: Dependency,
    vuln: Vuln,
    records: list[dict[str, Any]],
    unknown: Severity,
    best: str | None,
) -> Finding:
    """One advisory on one pin. `records`: the OSV records of its id and aliases we could read
    (pip-audit merges aliased records and names them by PYSEC/CVE id first). `best`: the
    lowest version fixing all the package's advisories (lowest_fix)."""
    rated = [s for s in (record_severity(r) for r in records) if s is not None]
    severity = max(rated) if rated else None
    fixes = set(vuln.fix_versions)
    for record in records:
        fixes.update(fixed_versions(record, pin.name))
    fix_list = tuple(sorted(fixes, key=_version_key))
    path = None if pin.path == ENVIRONMENT else pin.path
    upgrade = [f for f in fix_list if _version_key(f) > _version_key(pin.version or "0")]
    summary = next((str(r["summary"]).strip() for r in records if r.get("summary")), "")
    source = "from the advisory" if severity is not None else "unknown, policy default"
    via = f"; pulled in by {', '.join(pin.via)}" if pin.via else ""
    kind = "direct" if pin.direct else "transitive"
    if best is not None:
        remediation = f"upgrade {pin.name} to {best} or later (fixes all its known advisories)"
    elif upgrade:
        remediation = f"upgrade {pin.name} to {upgrade[0]} or later (other advisories stay open)"
    else:
        remediation = "no fixed version is known: remove, replace or isolate the dependency"
    return Finding(
        scanner=SCANNER,
        rule_id=vuln.id,
        severity=severity if severity is not None else unknown,
        title=_title(summary or vuln.description) or f"{vuln.id} in {pin.name} {pin.version}",
        message=bound_text(vuln.description or summary or vuln.id, MESSAGE_LIMIT),
        location=Location(path=path, package=pin.name, version=pin.version),
        # the manifest is part of the identity: a pin moved from dev to production is new
        fingerprint=fingerprint(SCANNER, pin.path, pin.name, vuln.id),
        evidence=(
            f"{pin.name}=={pin.version} in {pin.path} ({kind}{via}); "
            f"fixed in: {', '.join(fix_list) if fix_list else 'no fixed version known'}; "
            f"fixes all: {best or 'none known'}; severity: {source}"
        ),
        references=vuln.aliases,
        remediation=remediation,
        fix_versions=fix_list,
    )


def _title(text: str, limit: int = 120) -> str:
    """The first sentence of an advisory's text, cut at a word: a title, not a paragraph."""
    first = " ".join(text.split()).split(". ")[0].rstrip(".")
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0] + " …"


def _version_key(text: str) -> tuple[int, Version | str]:
    try:
        return (0, Version(text))
    except InvalidVersion:
        return (1, text)
