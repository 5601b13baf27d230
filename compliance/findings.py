"""The one shape every scanner yields, and the identity that follows a finding across runs.

Scanners speak very different languages (bandit's LOW/MEDIUM/HIGH, semgrep's
INFO/WARNING/ERROR, CVSS scores, host check verdicts). Everything after the scanner
(store, gate, renderers) sees only `Finding` and `Severity`, so adding a tool never
touches the gate or a report.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

EVIDENCE_LIMIT = 2000
"""Evidence is bounded so a minified file or a host printing a megabyte cannot bloat the store."""


class Severity(IntEnum):
    """One ordered scale for all tools: comparisons (`>=`) are what the gate needs."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        """Read a severity name case-insensitively; raise ValueError naming the choices."""
        if isinstance(value, Severity):
            return value
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            choices = ", ".join(s.label for s in sorted(cls, reverse=True))
            raise ValueError(f"unknown severity {value!r}; use one of: {choices}") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Location:
    """Where a finding is: code (path + lines), a dependency (package + version) or a host.

    In a notebook, `cell` is the cell's number (every cell counts, from 1 at the top) and the
    lines are the cell's own."""

    path: str | None = None
    start_line: int | None = None
    end_line: int | None = None
    package: str | None = None
    version: str | None = None
    host: str | None = None
    cell: int | None = None

    def display(self) -> str:
        if self.package is not None:
            pinned = f"{self.package}=={self.version}" if self.version else self.package
            return f"{pinned} ({self.path})" if self.path else pinned
        if self.path is not None:
            path = self.path if self.cell is None else f"{self.path}[cell {self.cell}]"
            if self.start_line is None:
                return path
            return f"{path}:{self.start_line}"
        return self.host or "?"


@dataclass(frozen=True)
class Finding:
    scanner: str
    rule_id: str
    severity: Severity
    title: str
    message: str
    location: Location
    fingerprint: str
    evidence: str = ""
    references: tuple[str, ...] = ()
    remediation: str = ""
    confidence: Severity | None = None
    suppressed: bool = False
    """Suppressed inline in the source (`# nosec`, `# nosemgrep`): kept and shown, never blocks."""
    fix_versions: tuple[str, ...] = field(default=())
    tool_severity: str = ""
    """The tool's own word for the severity (bandit `MEDIUM`, semgrep `WARNING`): `severity`
    is the gate's, from the weakness table (weakness.py); this one stays visible."""
    weakness: str = ""
    """`CWE-n class` from the weakness table; empty where the table has nothing to say."""
    also: tuple[Finding, ...] = ()
    """The same flaw as other tools reported it, merged into this one (weakness.merge_flaws):
    their waivers, baseline entries and lifecycles apply to this finding too."""

    def __post_init__(self) -> None:
        for name in ("title", "message", "evidence", "remediation"):
            value = getattr(self, name)
            if isinstance(value, str) and not _storable(value):  # a bug's None: the store says
                object.__setattr__(self, name, storable_text(value))
        if isinstance(self.evidence, str) and len(self.evidence) > EVIDENCE_LIMIT:
            object.__setattr__(self, "evidence", bound_text(self.evidence))


_UNSTORABLE = re.compile("[\0\ud800-\udfff]")


def _storable(text: str) -> bool:
    return "\0" not in text if text.isascii() else _UNSTORABLE.search(text) is None


def storable_text(text: str) -> str:
    """Text every store and output can hold: a NUL byte (a scanned file may have one; a
    PostgreSQL text value cannot) and lone surrogates (undecodable bytes) become U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def bound_text(text: str, limit: int = EVIDENCE_LIMIT) -> str:
    """Cut text to `limit` characters and say so, so a reader knows it was cut."""
    if len(text) <= limit:
        return text
    marker = f"… [{len(text) - limit} more characters cut]"
    return text[: max(0, limit - len(marker))] + marker


def fingerprint(*parts: str) -> str:
    """A stable identity from the parts that define 'the same problem'."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:40]


_SPACE = re.compile(r"\s+")


def normalise_code(code: str) -> str:
    """Whitespace-insensitive form of a code excerpt: re-indenting must not make a new finding."""
    return _SPACE.sub(" ", code).strip()


def code_fingerprints(keys: Sequence[tuple[str, str, str, str]]) -> list[str]:
    """Fingerprints for code findings given (scanner, rule_id, repo-relative path, code).

    The line number is deliberately absent: inserting lines above a finding must not change
    it. Identical code flagged twice in one file is told apart by its occurrence index, so
    `keys` must be in file order.
    """
    seen: Counter[tuple[str, str, str, str]] = Counter()
    result = []
    for scanner, rule_id, path, code in keys:
        key = (scanner, rule_id, path, normalise_code(code))
        index = seen[key]
        seen[key] += 1
        result.append(fingerprint(*key, str(index)))
    return result


def count_by_severity(findings: Iterable[Finding]) -> dict[Severity, int]:
    counts = dict.fromkeys(Severity, 0)
    for item in findings:
        counts[item.severity] += 1
    return counts
