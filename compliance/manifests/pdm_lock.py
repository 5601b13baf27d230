"""pdm.lock: every package PDM resolved, its dependencies as PEP 508 strings; the roots
are the pyproject.toml beside it."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from compliance.manifests.common import normal_version
from compliance.manifests.locks import Entry, TomlLockParser, source_of


class PdmLockParser(TomlLockParser):
    kind = "pdm.lock"

    def matches(self, path: PurePosixPath) -> bool:
        return path.name == "pdm.lock"

    def entry(self, raw: dict[str, Any], where: str, problems: list[str]) -> Entry | None:
        names = []
        for item in raw.get("dependencies") or []:
            try:
                names.append(Requirement(str(item)).name)
            except InvalidRequirement as exc:
                problems.append(f"{where}: invalid dependency {item!r} of {raw['name']}: {exc}")
        return normal_version(str(raw.get("version", ""))), source_of(raw), names
