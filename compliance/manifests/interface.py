"""The contract between a manifest parser and the dependency scanner.

Each kind of file Python projects declare or lock dependencies in (requirements files,
pyproject.toml, poetry.lock, uv.lock …) has one small parser in this package that turns
the file into `Dependency` values, the supply-chain lines it carries, and the reasons it
could not be read (always `file:line: …`, so the gate can name them). Parsers read; they
never resolve, never reach a network and never decide: the pip-audit scanner does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import ClassVar


@dataclass(frozen=True)
class Dependency:
    """One dependency as a manifest states it.

    `version` is the exact PEP 440 version when the manifest pins one (`==X`, a lock
    entry), else None (`spec` then says what was written). `source` is empty for a
    package from an index, else what it comes from instead (`url`, `vcs`, `path`,
    `editable`): such a dependency has no version an advisory database can match.
    """

    name: str  # canonical (PEP 503)
    path: str  # the manifest, repo-relative
    version: str | None = None
    line: int | None = None
    spec: str = ""
    source: str = ""
    direct: bool = True
    via: tuple[str, ...] = ()
    """For a transitive dependency: the direct dependencies that pull it in."""

    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class SupplyChainLine:
    """A line that changes where code comes from or how far it is checked."""

    rule: str
    """index-url, extra-index-url, trusted-host, plain-http, unpinned-vcs, unhashed-url,
    editable"""
    path: str
    line: int | None
    text: str  # the line as written
    detail: str


@dataclass(frozen=True)
class Manifest:
    """What one manifest says. `locked`: a lock file, the full transitive set, exactly
    pinned. `input_for`: the compiled file or lock that pins what this one only bounds
    (requirements.in → requirements.txt, pyproject.toml → uv.lock), when the tree has it."""

    path: str
    kind: str
    dependencies: tuple[Dependency, ...] = ()
    supply_chain: tuple[SupplyChainLine, ...] = ()
    problems: tuple[str, ...] = ()  # "file:line: reason": the file could not be read
    locked: bool = False
    input_for: str | None = None


class ManifestParser(ABC):
    """One manifest kind. Subclasses live one per file in this package (registry.py)."""

    kind: ClassVar[str]
    locks: ClassVar[bool] = False
    """True for lock files: they give every package, transitive ones included."""

    @abstractmethod
    def matches(self, path: PurePosixPath) -> bool:
        """Whether a repo-relative path is a manifest of this kind."""

    @abstractmethod
    def parse(self, root: Path, path: str) -> Manifest:
        """Read the manifest; report a file it cannot read in `problems`, never raise."""
