"""Pipfile (TOML): `[packages]` and `[dev-packages]`, and `[[source]]` indexes; the
Pipfile.lock beside it pins what this file only bounds."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from packaging.utils import canonicalize_name

from compliance.manifests.common import (
    ManifestError,
    editable_line,
    index_lines,
    line_of,
    normal_version,
    read_toml,
    sibling,
    url_lines,
    vcs_table_lines,
)
from compliance.manifests.interface import Dependency, Manifest, ManifestParser, SupplyChainLine


class PipfileParser(ManifestParser):
    kind = "Pipfile"

    def matches(self, path: PurePosixPath) -> bool:
        return path.name == "Pipfile"

    def parse(self, root: Path, path: str) -> Manifest:
        try:
            text, data = read_toml(root, path)
        except ManifestError as exc:
            return Manifest(path, self.kind, problems=(str(exc),))
        deps: list[Dependency] = []
        issues: list[SupplyChainLine] = []
        for section in ("packages", "dev-packages"):
            table = data.get(section)
            for raw, spec in (table if isinstance(table, dict) else {}).items():
                line = line_of(text, f"{raw} =") or line_of(text, f'"{raw}" =')
                dep, more = _one(path, str(raw), spec, line, production=section == "packages")
                deps.append(dep)
                issues += more
        for source in data.get("source") or []:
            if not isinstance(source, dict) or not isinstance(source.get("url"), str):
                continue
            url = source["url"]
            line = line_of(text, url)
            issues += index_lines(path, line, f"url = {url!r}", "index-url", url)
            if source.get("verify_ssl") is False:
                issues.append(
                    SupplyChainLine(
                        "trusted-host",
                        path,
                        line_of(text, "verify_ssl"),
                        "verify_ssl = false",
                        f"TLS is not checked for {url}",
                    )
                )
        lock = sibling(root, path, "Pipfile.lock")
        return Manifest(path, self.kind, tuple(deps), tuple(issues), input_for=lock)


def _one(
    path: str, raw: str, spec: Any, line: int | None, production: bool
) -> tuple[Dependency, list[SupplyChainLine]]:
    name = canonicalize_name(raw)
    text = f"{raw} = {spec!r}"
    table = spec if isinstance(spec, dict) else {"version": spec}
    issues: list[SupplyChainLine] = []
    if table.get("editable") and production:
        issues.append(editable_line(path, line, text))
    for key in ("git", "hg", "svn", "bzr"):
        if table.get(key):
            ref = str(table.get("ref") or "")
            issues += vcs_table_lines(path, line, text, str(table[key]), ref, "ref")
            return Dependency(name, path, None, line, text, "vcs"), issues
    if table.get("file"):
        issues += url_lines(path, line, str(table["file"]), text, hashed=False)
        return Dependency(name, path, None, line, text, "url"), issues
    if table.get("path"):
        return Dependency(
            name, path, None, line, text, "editable" if table.get("editable") else "path"
        ), issues
    version = str(table.get("version") or "*").strip()
    pinned = normal_version(version[2:]) if version.startswith("==") else None
    return Dependency(name, path, pinned, line, version), issues
