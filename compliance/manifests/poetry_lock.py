"""poetry.lock: every package Poetry resolved, with its dependency names; the roots are
the pyproject.toml beside it."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from compliance.manifests.common import normal_version
from compliance.manifests.locks import Entry, TomlLockParser

POETRY_SOURCES = {"legacy": "", "git": "vcs", "url": "url", "file": "path", "directory": "path"}
"""poetry.lock `source.type` → Dependency.source (`legacy` is a package index)."""


class PoetryLockParser(TomlLockParser):
    kind = "poetry.lock"

    def matches(self, path: PurePosixPath) -> bool:
        return path.name == "poetry.lock"

    def entry(self, raw: dict[str, Any], where: str, problems: list[str]) -> Entry | None:
        source = raw.get("source") if isinstance(raw.get("source"), dict) else {}
        kind = POETRY_SOURCES.get(str((source or {}).get("type") or "legacy"), "url")
        names = list(raw.get("dependencies") or {})
        return normal_version(str(raw.get("version", ""))), kind, names
