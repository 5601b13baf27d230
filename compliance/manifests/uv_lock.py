"""uv.lock: every package uv resolved, with its dependency names; the project's own entry
(source `editable` or `virtual` ".") names the direct dependencies."""

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
from compliance.manifests.locks import source_of


class UvLockParser(ManifestParser):
    kind = "uv.lock"
    locks = True

    def matches(self, path: PurePosixPath) -> bool:
        return path.name == "uv.lock"

    def parse(self, root: Path, path: str) -> Manifest:
        try:
            text = read_text(root, path)
            data = load_toml(root, path)
        except ManifestError as exc:
            return Manifest(path, self.kind, problems=(str(exc),), locked=True)
        packages: dict[str, tuple[str | None, str, list[str]]] = {}
        lines: dict[str, int] = {}
        direct: set[str] = set()
        problems = []
        for i, entry in enumerate(data.get("package") or []):
            if not isinstance(entry, dict) or not entry.get("name"):
                problems.append(f"{path}: package entry {i + 1} has no name")
                continue
            name = canonicalize_name(str(entry["name"]))
            names = [str(d.get("name")) for d in _all_deps(entry) if isinstance(d, dict)]
            source: dict[str, object] = (
                entry["source"] if isinstance(entry.get("source"), dict) else {}
            )
            if source.get("editable") == "." or source.get("virtual") == ".":
                direct.update(canonicalize_name(n) for n in names)
                continue  # the project itself
            packages[name] = (
                normal_version(str(entry.get("version", ""))),
                source_of(source),
                names,
            )
            lines[name] = line_of(text, f'name = "{entry["name"]}"') or 0
        deps = locked_set(path, packages, direct or None, lines)
        return Manifest(path, self.kind, deps, problems=tuple(problems), locked=True)


def _all_deps(entry: dict[str, object]) -> list[object]:
    raw = entry.get("dependencies")
    found: list[object] = list(raw) if isinstance(raw, list) else []
    for key in ("optional-dependencies", "dev-dependencies"):
        table = entry.get(key)
        if isinstance(table, dict):
            for items in table.values():
                found += list(items or [])
    return found
