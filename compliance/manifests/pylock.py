"""pylock.toml and pylock.NAME.toml (PEP 751): exact versions of every package; a package
from VCS, a directory or an archive has none. `dependencies`, where the lock records them,
give the graph; the roots are then the pyproject.toml beside it."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from compliance.manifests.common import normal_version
from compliance.manifests.locks import Entry, TomlLockParser, pyproject_roots, source_of


class PylockParser(TomlLockParser):
    kind = "pylock.toml"
    table = "packages"

    def matches(self, path: PurePosixPath) -> bool:
        name = path.name.lower()
        return name == "pylock.toml" or (name.startswith("pylock.") and name.endswith(".toml"))

    def check(self, data: dict[str, Any], path: str) -> list[str]:
        if not data.get("lock-version"):
            return [f"{path}:1: not a pylock file: 'lock-version' is missing"]
        return []

    def entry(self, raw: dict[str, Any], where: str, problems: list[str]) -> Entry | None:
        version = normal_version(str(raw["version"])) if raw.get("version") else None
        deps = raw.get("dependencies") or []
        names = [str(d["name"]) for d in deps if isinstance(d, dict) and d.get("name")]
        return version, source_of(raw), names

    def roots(self, root: Path, path: str, packages: dict[str, Entry]) -> set[str] | None:
        has_graph = any(names for _, _, names in packages.values())
        return pyproject_roots(root, path) if has_graph else None
