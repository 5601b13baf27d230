"""uv.lock: every package uv resolved, with its dependency names; the project's own entry
(source `editable` or `virtual` ".") names the direct dependencies."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from compliance.manifests.common import normal_version
from compliance.manifests.locks import Entry, TomlLockParser, source_of


class UvLockParser(TomlLockParser):
    kind = "uv.lock"

    def matches(self, path: PurePosixPath) -> bool:
        return path.name == "uv.lock"

    def entry(self, raw: dict[str, Any], where: str, problems: list[str]) -> Entry | None:
        source = raw.get("source") if isinstance(raw.get("source"), dict) else {}
        if (source or {}).get("editable") == "." or (source or {}).get("virtual") == ".":
            return None  # the project itself
        version = normal_version(str(raw.get("version", "")))
        return version, source_of(source or {}), self.dependency_names(raw)

    def dependency_names(self, raw: dict[str, Any]) -> list[str]:
        found = list(raw.get("dependencies") or [])
        for key in ("optional-dependencies", "dev-dependencies"):
            table = raw.get(key)
            for items in table.values() if isinstance(table, dict) else ():
                found += list(items or [])
        return [str(d["name"]) for d in found if isinstance(d, dict) and d.get("name")]

    def roots(self, root: Path, path: str, packages: dict[str, Entry]) -> set[str] | None:
        return None  # uv records its roots in the project's entry; without one, all are direct
