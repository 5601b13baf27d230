"""What every TOML lock parser shares: reading the `[[package]]` entries, naming the
ones without a name, the lock's roots from the manifest beside it. A lock kind says only
how one entry reads (`entry`) and, if the lock records them, which packages are direct."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from packaging.utils import canonicalize_name

from compliance.manifests.common import (
    ManifestError,
    line_of,
    locked_set,
    read_toml,
    sibling,
)
from compliance.manifests.interface import Manifest, ManifestParser
from compliance.manifests.pyproject import PyprojectParser

Entry = tuple[str | None, str, list[str]]
"""One locked package: exact version (None: none), source ('' for an index), dependency names."""


class TomlLockParser(ManifestParser):
    locks = True
    table: ClassVar[str] = "package"

    def parse(self, root: Path, path: str) -> Manifest:
        try:
            text, data = read_toml(root, path)
        except ManifestError as exc:
            return Manifest(path, self.kind, problems=(str(exc),), locked=True)
        problems = self.check(data, path)
        if problems:
            return Manifest(path, self.kind, problems=tuple(problems), locked=True)
        packages: dict[str, Entry] = {}
        lines: dict[str, int] = {}
        direct: set[str] = set()
        for i, raw in enumerate(data.get(self.table) or []):
            if not isinstance(raw, dict) or not raw.get("name"):
                problems.append(f"{path}: {self.table} entry {i + 1} has no name")
                continue
            line = line_of(text, f'name = "{raw["name"]}"') or 0
            read = self.entry(raw, f"{path}:{line}", problems)
            if read is None:  # the project itself: its dependencies are the direct ones
                direct.update(canonicalize_name(n) for n in self.dependency_names(raw))
                continue
            name = canonicalize_name(str(raw["name"]))
            packages[name], lines[name] = read, line
        roots = direct or self.roots(root, path, packages)
        deps = locked_set(path, packages, roots, lines)
        return Manifest(path, self.kind, deps, problems=tuple(problems), locked=True)

    def check(self, data: dict[str, Any], path: str) -> list[str]:
        """Problems that make the whole file unreadable as this kind (default: none)."""
        return []

    @abstractmethod
    def entry(self, raw: dict[str, Any], where: str, problems: list[str]) -> Entry | None:
        """One package entry; None when it is the locked project itself."""

    def dependency_names(self, raw: dict[str, Any]) -> list[str]:
        return []

    def roots(self, root: Path, path: str, packages: dict[str, Entry]) -> set[str] | None:
        """The direct dependencies: the pyproject.toml beside the lock declares them."""
        return pyproject_roots(root, path)


def pyproject_roots(root: Path, path: str) -> set[str] | None:
    """The direct dependencies the pyproject.toml beside a lock declares (None: no file)."""
    found = sibling(root, path, "pyproject.toml")
    if found is None:
        return None
    manifest = PyprojectParser().parse(root, found)
    return {d.name for d in manifest.dependencies} if not manifest.problems else None


def source_of(entry: dict[str, object]) -> str:
    """'' for a package from an index; else what the lock says it comes from."""
    for key, kind in (("git", "vcs"), ("vcs", "vcs"), ("url", "url"), ("archive", "url"),
                      ("path", "path"), ("directory", "path"), ("editable", "editable"),
                      ("virtual", "path")):  # fmt: skip
        if entry.get(key):
            return kind
    return ""
