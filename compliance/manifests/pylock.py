"""pylock.toml and pylock.NAME.toml (PEP 751): exact versions of every package; a package
from VCS, a directory or an archive has none. `dependencies`, where the lock records them,
give the graph; the roots are the pyproject.toml beside it."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

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


class PylockParser(ManifestParser):
    kind = "pylock.toml"
    locks = True

    def matches(self, path: PurePosixPath) -> bool:
        name = path.name.lower()
        return name == "pylock.toml" or (name.startswith("pylock.") and name.endswith(".toml"))

    def parse(self, root: Path, path: str) -> Manifest:
        try:
            text = read_text(root, path)
            data = load_toml(root, path)
        except ManifestError as exc:
            return Manifest(path, self.kind, problems=(str(exc),), locked=True)
        if not data.get("lock-version"):
            return Manifest(
                path,
                self.kind,
                problems=(f"{path}:1: not a pylock file: 'lock-version' is missing",),
                locked=True,
            )
        packages: dict[str, tuple[str | None, str, list[str]]] = {}
        lines: dict[str, int] = {}
        problems = []
        for i, entry in enumerate(data.get("packages") or []):
            if not isinstance(entry, dict) or not entry.get("name"):
                problems.append(f"{path}: packages[{i}] has no name")
                continue
            name = canonicalize_name(str(entry["name"]))
            names = [
                str(d["name"])
                for d in entry.get("dependencies") or []
                if isinstance(d, dict) and d.get("name")
            ]
            version = normal_version(str(entry["version"])) if entry.get("version") else None
            packages[name] = (version, source_of(entry), names)
            lines[name] = line_of(text, f'name = "{entry["name"]}"') or 0
        has_graph = any(deps for _, _, deps in packages.values())
        roots = pyproject_roots(root, path) if has_graph else None
        deps = locked_set(path, packages, roots, lines)
        return Manifest(path, self.kind, deps, problems=tuple(problems), locked=True)
