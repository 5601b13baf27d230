"""Each file scanner's options as one typed, frozen object, read at the start of its scan.

`ScanContext.options` is a plain mapping (the policy's settings and the caller's extras
side by side). Read key by key deep inside a run, a wrong type surfaced as a bare
`ValueError` in a shard's thread, or not at all (a string taken for "yes"). Read here once,
every key a scanner uses is checked, and a wrong one stops the scan with a ScannerFailure
that names the key and where it is set; nothing below sees the mapping again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compliance.findings import Severity
from compliance.scanners.interface import ScannerFailure
from compliance.scanners.repo_config import DEFAULT_MODE, MODES

WHERE = {
    "unknown_severity": "the policy's unknown_severity",
    "repository_config": "the policy's repository_config",
    "python": "the policy's per_scanner.bandit.python",
    "rules": "the policy's per_scanner.semgrep.rules",
    "dependencies": "the policy's dependencies",
    "dependencies.environment": "the policy's dependencies.environment",
    "dependencies.osv_url": "the policy's dependencies.osv_url",
    "dependencies.index_url": "the policy's dependencies.index_url",
    "dependencies.engine": "the policy's dependencies.engine",
}
"""Where a key comes from, when a policy file sets it; any other is the caller's option."""


class _Reader:
    """Typed reads of one scanner's options; a wrong value raises `_wrong`'s failure."""

    def __init__(self, scanner: str, options: Mapping[str, Any], prefix: str = ""):
        self.scanner = scanner
        self.options = options
        self.prefix = prefix
        """`dependencies.` when reading the policy's dependencies section."""

    def _wrong(self, key: str, wanted: str) -> ScannerFailure:
        named = self.prefix + key
        where = WHERE.get(named, f"scan option {named!r}")
        shown = repr(self.options[key])[:80]
        return ScannerFailure(
            "scanner.crash",
            f"{where} for {self.scanner} must be {wanted}, not {shown}",
            hint="fix the policy" if named in WHERE else "fix the option where the scan is called",
        )

    def section(self, key: str) -> _Reader:
        """A reader of a nested mapping (the policy's `dependencies`); absent: empty."""
        value = self.options.get(key)
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise self._wrong(key, "a mapping")
        return _Reader(self.scanner, value, f"{self.prefix}{key}.")

    def choice(self, key: str, choices: tuple[str, ...]) -> str | None:
        """One of `choices`, or None when absent."""
        value = self.options.get(key)
        if value is None:
            return None
        if value not in choices:
            raise self._wrong(key, " or ".join(choices))
        return str(value)

    def count(self, key: str, default: int) -> int:
        """A whole number, 0 or more (not a bool, which Python counts as one)."""
        value = self.options.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._wrong(key, "a whole number (0 or more)")
        return value

    def seconds(self, key: str, default: float) -> float:
        """A number of seconds as given (an int stays an int: it is spelt into argv)."""
        value = self.options.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self._wrong(key, "a number of seconds (0 or more)")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.options.get(key, default)
        if not isinstance(value, bool):
            raise self._wrong(key, "true or false")
        return value

    def text(self, key: str) -> str | None:
        """A non-empty text, or None when absent or empty (the tool's default)."""
        value = self.options.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self._wrong(key, "a text")
        return value

    def paths(self, key: str) -> tuple[str, ...]:
        value = self.options.get(key) or ()
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            raise self._wrong(key, "a list of paths")
        if not all(isinstance(item, str | os.PathLike) for item in value):
            raise self._wrong(key, "a list of paths")
        return tuple(os.fspath(item) for item in value)

    def severity(self, key: str, default: str) -> Severity:
        try:
            return Severity.parse(self.options.get(key, default))
        except ValueError:
            raise self._wrong(key, "a severity (critical, high, medium, low, info)") from None

    def mode(self, key: str) -> str:
        """What to do with the tree's own settings for the tool (repo_config.MODES)."""
        return self.choice(key, tuple(MODES)) or DEFAULT_MODE


@dataclass(frozen=True)
class FileScanOptions:
    """What every file scanner reads: its severity for an unknown level, what to do with
    the tree's own settings for the tool (repo_config.py), whether the cache is used."""

    unknown_severity: Severity
    repository_config: str
    cache: bool

    @staticmethod
    def common(read: _Reader) -> dict[str, Any]:
        return {
            "unknown_severity": read.severity("unknown_severity", "high"),
            "repository_config": read.mode("repository_config"),
            "cache": read.flag("cache", True),
        }


@dataclass(frozen=True)
class BanditOptions(FileScanOptions):
    python: str | None
    """The interpreter the policy names (bandit_python.py); None: chosen by the tree."""
    shard_bytes: int
    """Below this many bytes of Python one bandit process does it all (shards.py)."""

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], shard_bytes: int) -> BanditOptions:
        """`shard_bytes`: the default, bandit.SHARD_MIN_BYTES."""
        read = _Reader("bandit", options)
        return cls(
            **cls.common(read),
            python=read.text("python"),
            shard_bytes=read.count("bandit_shard_bytes", shard_bytes),
        )


@dataclass(frozen=True)
class SemgrepOptions(FileScanOptions):
    rules: tuple[str, ...]
    """Rule files and folders; () is the shipped pack."""
    jobs: int | None
    """Semgrep's `--jobs` as the caller sets it; None: decided per run (semgrep._jobs)."""
    concurrent_scanners: int
    rule_timeout: float
    shard_bytes: int

    @classmethod
    def from_mapping(
        cls, options: Mapping[str, Any], *, rule_timeout: float, shard_bytes: int
    ) -> SemgrepOptions:
        """The keyword arguments are the defaults, semgrep.py's constants."""
        read = _Reader("semgrep", options)
        return cls(
            **cls.common(read),
            rules=read.paths("rules"),
            jobs=read.count("jobs", 0) or None,
            concurrent_scanners=read.count("concurrent_scanners", 1),
            rule_timeout=read.seconds("rule_timeout", rule_timeout),
            shard_bytes=read.count("semgrep_shard_bytes", shard_bytes),
        )


PIP_AUDIT_ENGINES = ("index", "pip-audit")


@dataclass(frozen=True)
class PipAuditOptions:
    """What the pip-audit scanner reads: where advisories come from and who matches them."""

    unknown_severity: Severity
    cache: bool
    advisory_db: str | None
    """A local advisory database (`--advisory-db`); None: an OSV service."""
    environment: bool
    """dependencies.environment: also audit the gate's own installed packages."""
    osv_url: str | None
    index_url: str | None
    """dependencies.index_url: unpinned requirements are resolved there."""
    engine: str | None
    """dependencies.engine as set (index, pip-audit); None: chosen by pip_audit.choose_engine."""

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> PipAuditOptions:
        read = _Reader("pip-audit", options)
        dependencies = read.section("dependencies")
        db = options.get("advisory_db")
        if db is not None and not isinstance(db, str | os.PathLike):
            raise read._wrong("advisory_db", "a path")
        return cls(
            unknown_severity=read.severity("unknown_severity", "high"),
            cache=read.flag("cache", True),
            advisory_db=os.fspath(db) if db else None,
            environment=dependencies.flag("environment", False),
            osv_url=dependencies.text("osv_url"),
            index_url=dependencies.text("index_url"),
            engine=dependencies.choice("engine", PIP_AUDIT_ENGINES),
        )
