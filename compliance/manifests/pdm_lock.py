"""pdm.lock: every package PDM resolved, its dependencies as PEP 508 strings; the roots
are the pyproject.toml beside it."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement
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
from compliance.manifests.locks import pyproject_roots, source_of


class PdmLockParser(ManifestParser):
    kind = "pdm.lock"
    locks = True

    def matches(self, path: PurePosixPath) -> bool:
        return path.name == "pdm.lock"

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
            line = line_of(text, f'name = "{entry["name"]}"') or 0
            names = []
            for item in entry.get("dependencies") or []:
                try:
                    names.append(Requirement(str(item)).name)
                except InvalidRequirement as exc:
                    problems.append(f"{path}:{line}: invalid dependency {item!r} of {name}: {exc}")
            packages[name] = (
                normal_version(str(entry.get("version", ""))),
                source_of(entry),
                names,
            )
            lines[name] = line
        deps = locked_set(path, packages, pyproject_roots(root, path), lines)
        return Manifest(path, self.kind, deps, problems=tuple(problems), locked=True)
