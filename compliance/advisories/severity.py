"""An advisory's severity on the gate's one scale, from what the OSV record says.

CVSS vectors (v2, v3.x, v4) are scored with the `cvss` library, never guessed from the
vector's text; GitHub's `database_specific.severity` words are mapped in one table. When a
record says several things, the highest wins. When it says nothing (most PYSEC records),
the answer is None and the caller applies the policy's `unknown_severity`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from compliance.findings import Severity

WORDS = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "moderate": Severity.MEDIUM,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "none": Severity.INFO,
}


def from_score(score: float) -> Severity:
    """CVSS qualitative bands (the same for v3 and v4)."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return Severity.INFO


def cvss_score(kind: str, vector: str) -> float | None:
    try:
        if kind == "CVSS_V4":
            return float(CVSS4(vector).base_score)
        if kind == "CVSS_V3":
            return float(CVSS3(vector).base_score)
        if kind == "CVSS_V2":
            return float(CVSS2(vector).base_score)
    except (CVSSError, ValueError, KeyError, TypeError):
        return None
    return None


def record_severity(record: Mapping[str, Any]) -> Severity | None:
    found = list(_severities(record))
    return max(found) if found else None


def _severities(record: Mapping[str, Any]) -> Iterator[Severity]:
    blocks: list[Any] = [record]
    blocks += [e for e in record.get("affected") or () if isinstance(e, Mapping)]
    for block in blocks:
        for item in block.get("severity") or ():
            if isinstance(item, Mapping):
                score = cvss_score(str(item.get("type")), str(item.get("score")))
                if score is not None:
                    yield from_score(score)
        for key in ("database_specific", "ecosystem_specific"):
            extra = block.get(key)
            if isinstance(extra, Mapping) and isinstance(extra.get("severity"), str):
                word = WORDS.get(extra["severity"].strip().lower())
                if word is not None:
                    yield word
