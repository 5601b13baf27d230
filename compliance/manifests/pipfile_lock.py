"""Pipfile.lock (JSON): `default` and `develop` packages, exactly pinned; it records no
graph, so the Pipfile beside it says which are direct."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from packaging.utils import canonicalize_name

from compliance.manifests.common import (
    ManifestError,
    line_of,
    locked_set,
    normal_version,
    read_text,
    sibling,
)
from compliance.manifests.interface import Manifest, ManifestParser
from compliance.manifests.locks import source_of
from compliance.manifests.pipfile import PipfileParser


class PipfileLockParser(ManifestParser):
    kind = "Pipfile.lock"
    locks = True

    def matches(self, path: PurePosixPath) -> bool:
        return path.name == "Pipfile.lock"

    def parse(self, root: Path, path: str) -> Manifest:
        try:
            text = read_text(root, path)
            data = json.loads(text)
        except ManifestError as exc:
            return Manifest(path, self.kind, problems=(str(exc),), locked=True)
        except ValueError as exc:
            line = getattr(exc, "lineno", None)
            return Manifest(
                path,
                self.kind,
                problems=(f"{path}:{line or 1}: not valid JSON: {exc}",),
                locked=True,
            )
        if not isinstance(data, dict):
            return Manifest(
                path, self.kind, problems=(f"{path}:1: not a Pipfile.lock",), locked=True
            )
        packages: dict[str, tuple[str | None, str, list[str]]] = {}
        lines: dict[str, int] = {}
        for section in ("default", "develop"):
            for raw, entry in (data.get(section) or {}).items():
                if not isinstance(entry, dict):
                    continue
                name = canonicalize_name(str(raw))
                version = str(entry.get("version") or "")
                pinned = (
                    normal_version(version.removeprefix("==")) if version.startswith("==") else None
                )
                packages[name] = (pinned, source_of(entry), [])
                lines[name] = line_of(text, f'"{raw}": {{') or 0
        pipfile = sibling(root, path, "Pipfile")
        direct = None
        if pipfile is not None:
            direct = {d.name for d in PipfileParser().parse(root, pipfile).dependencies}
        deps = locked_set(path, packages, direct, lines)
        return Manifest(path, self.kind, deps, locked=True)
