"""The contract between a scanner and the rest of the gate.

A scanner gets a tree and the files chosen for it, and returns findings plus everything
that went wrong. It never writes to the store and never decides pass or fail: the gate
does, from `ScannerResult.errors` and coverage as much as from the findings.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from compliance.findings import Finding, Severity
from compliance.render.escape import terminal_safe


@dataclass(frozen=True)
class ScanError:
    """Something that keeps the gate from deciding. Never silently becomes 'no findings'.

    `kind` is a dotted class of error (`scanner.missing`, `scanner.timeout`,
    `scanner.crash`, `scanner.output`, `scanner.parse`, `coverage`, `dependency.skipped`,
    `hosts.unreachable` …) that a policy may explicitly downgrade to a warning.
    """

    source: str
    kind: str
    reason: str
    path: str | None = None
    hint: str = ""

    def one_line(self) -> str:
        """The error as one line that is safe to print: the reason and path may quote the
        scanned tree or a host (escape.terminal_safe)."""
        where = f" in {self.path}" if self.path else ""
        hint = f" ({self.hint})" if self.hint else ""
        return terminal_safe(f"{self.source}: {self.reason}{where}{hint}")


class ScannerFailure(Exception):
    """Raised when a tool could not produce a result at all (missing, crashed, timed out)."""

    def __init__(self, kind: str, reason: str, hint: str = "", path: str | None = None):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.hint = hint
        self.path = path


@dataclass(frozen=True)
class ScanContext:
    """What a scanner is asked to do: these files (repo-relative, POSIX) under this root."""

    root: Path
    files: tuple[str, ...]
    timeout: float
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RepoSetting:
    """A scanner setting the scanned tree carries (`.bandit`, `[tool.bandit]`,
    `.semgrepignore` …) and what it changes, or would change were it applied.

    The tree is not trusted, so its settings apply only when the policy says
    `repository_config: apply`; either way the scan lists them (`applied` says which)."""

    scanner: str
    file: str
    """Repo-relative, with the section where it matters: `pyproject.toml [tool.bandit]`."""
    line: int | None
    key: str
    value: str
    """As written, escaped to one printable line."""
    effect: str
    applied: bool
    tests: tuple[str, ...] = ()
    """Test ids it skips (or would): `B602`, or `all but B101` for an allow-list."""
    files: tuple[str, ...] = ()
    """Files it excludes from the scan (or would)."""

    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def one_line(self) -> str:
        shown = f" = {self.value}" if self.value else ""
        return f"{self.where()}: {self.key}{shown}: {self.effect}"


@dataclass(frozen=True)
class Secret:
    """A secret a scanner matched (a secret rule, a hard-coded password), where it sits.

    Held in memory only, so that `redact.redact_results` can hide it in every finding whose
    text may quote it (another rule's evidence on the same line, another scanner's message);
    never stored, never printed (`repr=False` on the result's field)."""

    path: str
    start_line: int
    end_line: int
    value: str


@dataclass(frozen=True)
class NotScanned:
    """Files a scanner deliberately left unread, said out loud (e.g. binary files no rule
    can read). Not an error: anything that could hide a finding is one instead."""

    what: str  # "binary files"
    paths: tuple[str, ...]

    def one_line(self, examples: int = 5) -> str:
        shown = ", ".join(self.paths[:examples]) + (", …" if len(self.paths) > examples else "")
        return f"{self.what} not scanned: {len(self.paths)} ({shown})"


@dataclass(frozen=True)
class Component:
    """A dependency the scan found, audited or not: the SBOM's and the report's inventory."""

    name: str  # canonical
    version: str | None
    manifest: str
    direct: bool
    via: tuple[str, ...] = ()
    """For a transitive one: the direct dependencies that pull it in."""
    advisories: tuple[str, ...] = ()
    """Ids of the advisories that apply to this version."""
    fix: str | None = None
    """The lowest version that fixes all of them (None: none known, or nothing to fix)."""

    def purl(self) -> str:
        version = f"@{self.version}" if self.version else ""
        return f"pkg:pypi/{self.name}{version}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "purl": self.purl(),
            "manifest": self.manifest,
            "direct": self.direct,
            "via": list(self.via),
            "advisories": list(self.advisories),
            "fix": self.fix,
        }


@dataclass(frozen=True)
class ManifestCoverage:
    """One manifest's line in the summary: what kind, how many packages, what became of it."""

    path: str
    kind: str
    packages: int
    state: str  # "audited", "pinned by requirements.txt", "INCOMPLETE: …"

    def one_line(self) -> str:
        return terminal_safe(f"{self.path} ({self.kind}): {self.packages} packages, {self.state}")


@dataclass(frozen=True)
class ScannerResult:
    scanner: str
    version: str
    findings: tuple[Finding, ...] = ()
    errors: tuple[ScanError, ...] = ()
    files_requested: int = 0
    files_scanned: int = 0
    repository_config: tuple[RepoSetting, ...] = ()
    """The tree's own settings for this scanner (see RepoSetting)."""
    secrets: tuple[Secret, ...] = field(default=(), repr=False, compare=False)
    """What redact.redact_results hides across all results; emptied once it has."""
    not_scanned: tuple[NotScanned, ...] = ()
    components: tuple[Component, ...] = ()
    """Dependency scanners: every dependency found (the SBOM)."""
    manifests: tuple[ManifestCoverage, ...] = ()
    """Dependency scanners: one coverage line per manifest."""
    runtime: str = ""
    """What the tool ran on, said in the summary (bandit: the Python, and why that one)."""

    @property
    def complete(self) -> bool:
        return not self.errors and self.files_scanned >= self.files_requested


class Scanner(ABC):
    """One external tool. Subclasses live one per file in this package."""

    name: ClassVar[str]
    max_severity: ClassVar[Severity]
    """The highest severity this tool can give a finding: set next to its severity table.
    A `fail_on` above it could never block one of its findings, a silent pass, so
    `policy check` and `scan` refuse such a policy (compliance/thresholds.py)."""
    max_confidence: ClassVar[Severity | None] = None
    """The highest confidence it reports; None: it reports none, so min_confidence does not
    apply to its findings."""

    def highest_severity(self, options: Mapping[str, Any]) -> Severity:
        """`max_severity` given these scan options (semgrep: the rule pack in use)."""
        return self.max_severity

    @abstractmethod
    def select(self, root: Path, files: Sequence[str]) -> list[str]:
        """The files of the tree (already filtered by the policy's excludes) this tool reads."""

    def not_selected(
        self, root: Path, files: Sequence[str], selected: Sequence[str]
    ) -> tuple[NotScanned, ...]:
        """What of `files` select() left out that the summary should mention (default:
        nothing: files of another tool's kind are not worth a word)."""
        return ()

    @abstractmethod
    def version(self) -> str:
        """The tool's version; raises ScannerFailure('scanner.missing', …) when absent."""

    @abstractmethod
    def scan(self, context: ScanContext) -> ScannerResult:
        """Run the tool. Raise ScannerFailure, or return errors in the result; never hide one."""
