"""poetry.lock: every package Poetry resolved, with its dependency names; the roots are
the pyproject.toml beside it."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from packaging.utils import canonicalize_name

from compliance.manifests.common import (
    ManifestError,
    line_of,
    load_toml,
    locked_set,
    normal_version,
    read_text,
)
from compliance.manifests.interface import Manifest, ManifestParser
from compliance.manifests.locks import pyproject_roots

POETRY_SOURCES = {"legacy": "", "git": "vcs", "url": "url", "file": "path", "directory": "path"}
"""poetry.lock `source.type` → Dependency.source (`legacy` is a package index)."""


class PoetryLockParser(ManifestParser):
    kind = "poetry.lock"
    locks = True

    def matches(self, path: PurePosixPath) -> bool:
        return path.name == "poetry.lock"

    def parse(self, root: Path, path: str) -> Manifest:
        try:
            text = read_text(root, path)
            data = load_toml(root, path)
        except ManifestError as exc:
            return Manifest(path, self.kind, problems=(str(exc),), locked=True)
        packages: dict[str, tuple[str | None, str, list[str]]] = {}
        lines: dict[str, int] = {}
        problems = []
        for i, entry in enumerate(data.get("package") or []):
            if not isinstance(entry, dict) or not entry.get("name"):
                problems.append(f"{path}: package entry {i + 1} has no name")
                continue
            name = canonicalize_name(str(entry["name"]))
            raw = entry.get("source")
            source: dict[str, Any] = raw if isinstance(raw, dict) else {}
            kind = POETRY_SOURCES.get(str(source.get("type") or "legacy"), "url")
            packages[name] = (
                normal_version(str(entry.get("version", ""))),
                kind,
                list((entry.get("dependencies") or {}).keys()),
            )
            lines[name] = line_of(text, f'name = "{entry["name"]}"') or 0
        deps = locked_set(path, packages, pyproject_roots(root, path), lines)
        return Manifest(path, self.kind, deps, problems=tuple(problems), locked=True)
