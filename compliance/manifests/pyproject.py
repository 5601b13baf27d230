"""pyproject.toml: PEP 621 `[project]` dependencies and optional groups, PEP 735
`[dependency-groups]` (with `include-group`), Poetry's `[tool.poetry.*dependencies]` and
sources, and `dynamic` dependencies read from requirement files (setuptools
`[tool.setuptools.dynamic]`, hatch-requirements-txt). When a lock sits beside it, the lock
pins what this file only bounds (`input_for`)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from packaging.utils import canonicalize_name
from pip_requirements_parser import RequirementsFile

from compliance.manifests.common import (
    ManifestError,
    add_requirements,
    editable_line,
    index_lines,
    is_production,
    line_of,
    normal_version,
    read_toml,
    sibling,
    url_lines,
    vcs_table_lines,
)
from compliance.manifests.interface import Dependency, Manifest, ManifestParser, SupplyChainLine
from compliance.manifests.requirements import read_requirements

LOCKS = ("poetry.lock", "uv.lock", "pdm.lock", "pylock.toml")


class PyprojectParser(ManifestParser):
    kind = "pyproject"

    def matches(self, path: PurePosixPath) -> bool:
        return path.name == "pyproject.toml"

    def parse(self, root: Path, path: str) -> Manifest:
        try:
            text, data = read_toml(root, path)
        except ManifestError as exc:
            return Manifest(path, self.kind, problems=(str(exc),))
        reader = _Reader(root, path, text)
        project = _table(data.get("project"))
        reader.strings(project.get("dependencies"), "")
        for group, items in _table(project.get("optional-dependencies")).items():
            reader.strings(items, str(group))
        groups = _table(data.get("dependency-groups"))
        for group in groups:
            reader.strings(_expand_group(groups, str(group), set()), str(group))
        tool = _table(data.get("tool"))
        reader.poetry(_table(tool.get("poetry")))
        reader.dynamic(tool)
        lock = next((s for s in (sibling(root, path, n) for n in LOCKS) if s), None)
        return Manifest(
            path,
            self.kind,
            tuple(reader.deps),
            tuple(reader.issues),
            tuple(reader.problems),
            input_for=lock,
        )


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _expand_group(groups: dict[str, Any], name: str, seen: set[str]) -> list[str]:
    """PEP 735: a group's strings, `{include-group = "x"}` expanded (cycles cut)."""
    if name in seen:
        return []
    seen.add(name)
    out: list[str] = []
    for item in groups.get(name) or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
            out += _expand_group(groups, item["include-group"], seen)
    return out


class _Reader:
    def __init__(self, root: Path, path: str, text: str):
        self.root, self.path, self.text = root, path, text
        self.deps: list[Dependency] = []
        self.issues: list[SupplyChainLine] = []
        self.problems: list[str] = []

    def strings(self, items: Any, group: str) -> None:
        if items is None:
            return
        if not isinstance(items, list):
            self.problems.append(
                f"{self.path}: dependencies of {group or 'the project'} are not a list"
            )
            return
        strings = [str(item) for item in items]
        add_requirements(
            strings, self.path, self.text, group, self.deps, self.issues, self.problems
        )

    def poetry(self, poetry: dict[str, Any]) -> None:
        tables = [
            ("", _table(poetry.get("dependencies"))),
            ("dev", _table(poetry.get("dev-dependencies"))),
        ]
        for group, body in _table(poetry.get("group")).items():
            tables.append((str(group), _table(_table(body).get("dependencies"))))
        for group, table in tables:
            for name, spec in table.items():
                if str(name).lower() == "python":
                    continue
                self._poetry_one(str(name), spec, group)
        for source in poetry.get("source") or []:
            if isinstance(source, dict) and isinstance(source.get("url"), str):
                line = line_of(self.text, source["url"])
                extra = source.get("priority") in ("supplemental", "explicit", "secondary")
                rule = "extra-index-url" if extra else "index-url"
                self.issues += index_lines(
                    self.path, line, f"url = {source['url']}", rule, source["url"]
                )

    def _poetry_one(self, name: str, spec: Any, group: str) -> None:
        canonical = canonicalize_name(name)
        line = line_of(self.text, f"{name} =") or line_of(self.text, f'"{name}" =')
        text = f"{name} = {spec!r}"
        production = is_production(self.path, group)
        if isinstance(spec, list):  # multiple-constraints form: one entry per marker
            self.deps.append(Dependency(canonical, self.path, None, line, str(spec)))
            return
        table = spec if isinstance(spec, dict) else {"version": spec}
        if table.get("git"):
            ref = str(table.get("rev") or table.get("tag") or table.get("branch") or "")
            self.issues += vcs_table_lines(self.path, line, text, str(table["git"]), ref, "rev")
            self.deps.append(Dependency(canonical, self.path, None, line, text, "vcs"))
            return
        if table.get("url"):
            self.issues += url_lines(self.path, line, str(table["url"]), text, hashed=False)
            self.deps.append(Dependency(canonical, self.path, None, line, text, "url"))
            return
        if table.get("path"):
            if table.get("develop") and production:
                self.issues.append(editable_line(self.path, line, text))
            self.deps.append(Dependency(canonical, self.path, None, line, text, "path"))
            return
        version = str(table.get("version") or "*").strip()
        exact = version.removeprefix("==")
        pinned = normal_version(exact) if exact and exact[0].isdigit() else None
        self.deps.append(Dependency(canonical, self.path, pinned, line, version))

    def dynamic(self, tool: dict[str, Any]) -> None:
        """Dependencies the build backend reads from files: setuptools' `file = [...]`,
        hatch-requirements-txt's `files = [...]`."""
        files: list[str] = []
        dynamic = _table(_table(tool.get("setuptools")).get("dynamic"))
        entries = [
            dynamic.get("dependencies"),
            *_table(dynamic.get("optional-dependencies")).values(),
        ]
        for entry in entries:
            listed = _table(entry).get("file")
            files += [listed] if isinstance(listed, str) else list(listed or [])
        hook = _table(
            _table(_table(_table(tool.get("hatch")).get("metadata")).get("hooks")).get(
                "requirements_txt"
            )
        )
        files += [str(f) for f in hook.get("files") or []]
        for name in files:
            target = PurePosixPath(self.path).parent / str(name)
            rel = str(target)
            full = self.root / rel
            try:
                full.resolve().relative_to(self.root.resolve())
            except ValueError:
                self.problems.append(
                    f"{self.path}: dynamic dependencies from a file outside the tree: {name}"
                )
                continue
            if not full.is_file():
                self.problems.append(
                    f"{self.path}: dynamic dependencies file {name} does not exist"
                )
                continue
            try:
                parsed = RequirementsFile.from_file(str(full), include_nested=True)
            except Exception as exc:  # pip's many error types
                self.problems.append(f"{rel}: cannot be read: {exc}")
                continue
            read = read_requirements(self.root, rel, parsed, "requirements")
            self.deps += read.dependencies
            self.issues += read.supply_chain
            self.problems += read.problems
