"""Reference strings (CWE-78, CVE-…, GHSA-…, CIS 5.2.8, PCI-DSS 2.2, URLs) → kind, id, link.

Every output format links references the same way, and only to real, stable pages: a
control id without a public per-control page (CIS, PCI-DSS) stays plain text rather than
pointing at a guessed URL. Links are only ever http(s): a `javascript:` reference from a
hostile tool output is text, never a link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlsplit


@dataclass(frozen=True)
class Reference:
    kind: str  # cwe | cve | ghsa | osv | cis | pci-dss | url | other
    id: str
    url: str | None

    @property
    def label(self) -> str:
        return self.id


_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cwe", re.compile(r"^CWE[-: ]?(\d{1,5})$", re.I)),
    ("cve", re.compile(r"^(CVE-\d{4}-\d{4,})$", re.I)),
    ("ghsa", re.compile(r"^(GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})$", re.I)),
    ("osv", re.compile(r"^((?:PYSEC|OSV|RUSTSEC|GO|PSF)-[\w.-]+)$", re.I)),
    ("cis", re.compile(r"^CIS[-: ]+(.+)$", re.I)),
    ("pci-dss", re.compile(r"^PCI[- ]?DSS[-: ]+(.+)$", re.I)),
)

FRAMEWORK_NAMES = {"cis": "CIS", "pci-dss": "PCI-DSS"}


def safe_url(value: str) -> str | None:
    """The URL itself when it is an absolute http(s) URL with a host, else None."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(c.isspace() or c in "<>\"'`" for c in value.strip()):
        return None
    return value.strip()


@lru_cache(maxsize=65536)
def parse_reference(value: str) -> Reference:
    text = value.strip()
    url = safe_url(text)
    if url is not None:
        return Reference("url", text, url)
    for kind, pattern in _PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        ident = match.group(1)
        if kind == "cwe":
            return Reference(
                kind, f"CWE-{ident}", f"https://cwe.mitre.org/data/definitions/{ident}.html"
            )
        if kind == "cve":
            ident = ident.upper()
            return Reference(kind, ident, f"https://nvd.nist.gov/vuln/detail/{ident}")
        if kind == "ghsa":
            ident = "GHSA" + ident[4:].lower()
            return Reference(kind, ident, f"https://github.com/advisories/{ident}")
        if kind == "osv":
            return Reference(kind, ident, f"https://osv.dev/vulnerability/{quote(ident)}")
        return Reference(kind, f"{FRAMEWORK_NAMES[kind]} {ident.strip()}", None)
    return Reference("other", text, None)


def parse_references(values: list[str] | tuple[str, ...] | None) -> list[Reference]:
    seen: set[str] = set()
    result = []
    for value in values or ():
        ref = parse_reference(str(value))
        if ref.id and ref.id not in seen:
            seen.add(ref.id)
            result.append(ref)
    return result


def cwe_ids(values: list[str] | tuple[str, ...] | None) -> list[str]:
    """The numbers of the CWE references ('78', not 'CWE-78')."""
    return [r.id.split("-", 1)[1] for r in parse_references(values) if r.kind == "cwe"]


def frameworks(values: list[str] | tuple[str, ...] | None) -> dict[str, str]:
    return dict(_frameworks(tuple(values or ())))


@lru_cache(maxsize=4096)
def _frameworks(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Framework name → control id for the control references (CIS 5.2.8 → {'CIS': '5.2.8'})."""
    result = {}
    for ref in parse_references(values):
        if ref.kind in FRAMEWORK_NAMES:
            name, _, control = ref.id.partition(" ")
            result[name] = control
    return tuple(result.items())
