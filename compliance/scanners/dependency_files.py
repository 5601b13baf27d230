"""Dependency files → exact pins to audit, and every dependency that cannot be audited.

pip-audit, asked to audit a requirements file, either resolves it with pip (network and a
throw-away venv) or refuses the whole file at the first unpinned line. Neither suits a
gate: we read each file ourselves (requirements with the parser pip-audit uses, pyproject
and pylock with tomllib), hand pip-audit only exact pins, and name every other dependency
with the reason it could not be audited, so the gate can refuse to pass on it.

Environment markers are not evaluated: a pin for another platform or Python is still a
dependency of the project, and a gate on a CI runner must not ignore production's.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from pip_requirements_parser import RequirementsFile


@dataclass(frozen=True)
class Pin:
    """One dependency at one exact version, found in `path` (repo-relative)."""

    name: str  # canonical
    version: str  # PEP 440 normal form, as pip-audit reports it
    path: str


@dataclass(frozen=True)
class Unaudited:
    """A dependency that cannot be audited as written, and why."""

    name: str
    path: str
    reason: str
    line: int | None = None


@dataclass(frozen=True)
class ParsedSource:
    pins: tuple[Pin, ...] = ()
    unaudited: tuple[Unaudited, ...] = ()
    problems: tuple[str, ...] = ()  # the file itself cannot be read (reported as parse errors)


def is_dependency_file(path: str) -> bool:
    pure = PurePosixPath(path)
    name = pure.name.lower()
    if name == "pyproject.toml" or name == "pylock.toml":
        return True
    if name.startswith("pylock.") and name.endswith(".toml"):
        return True
    if not name.endswith(".txt"):
        return False
    return name.startswith("requirements") or "requirements" in (p.lower() for p in pure.parts[:-1])


def parse_source(root: Path, path: str) -> ParsedSource:
    name = PurePosixPath(path).name.lower()
    if name == "pyproject.toml":
        return _pyproject(root, path)
    if name.endswith(".toml"):
        return _pylock(root, path)
    return _requirements(root, path)


def exact_version(specifier: SpecifierSet) -> str | None:
    """The one version `==X` / `===X` allows, in normal form; None for anything wider."""
    specs = list(specifier)
    if len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
        return None
    try:
        return str(Version(specs[0].version))
    except InvalidVersion:
        return None


def _unpinned_reason(text: str) -> str:
    return (
        f"not pinned to one version ({text.strip() or 'no version given'}); pin it with ==, "
        "or audit a lock file (pylock.toml, pip-compile output)"
    )


def _requirements(root: Path, path: str) -> ParsedSource:
    try:
        parsed = RequirementsFile.from_file(str(root / path), include_nested=True)
    except Exception as exc:  # the parser raises pip's many error types
        return ParsedSource(problems=(f"cannot read requirements: {exc}",))
    problems = tuple(
        f"line {bad.line_number}: {' '.join(str(bad.error_message).split())}"
        for bad in parsed.invalid_lines
    )
    pins, unaudited = [], []
    for req in parsed.requirements:
        if req.is_constraint:
            continue  # constraints limit versions; they do not add dependencies
        line = req.line_number
        name = canonicalize_name(req.name) if req.name else (req.requirement_line.line or "?")
        if req.is_editable or req.is_url or req.req is None or getattr(req, "link", None):
            kind = "an editable install" if req.is_editable else "a URL or local path"
            unaudited.append(Unaudited(name, path, f"{kind} has no version to look up", line))
            continue
        version = exact_version(req.specifier)
        if version is None:
            unaudited.append(Unaudited(name, path, _unpinned_reason(str(req.specifier)), line))
        else:
            pins.append(Pin(name, version, path))
    return ParsedSource(tuple(pins), tuple(unaudited), problems)


def _load_toml(root: Path, path: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return tomllib.loads((root / path).read_text(encoding="utf-8")), None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return None, f"cannot read TOML: {exc}"


def _pyproject(root: Path, path: str) -> ParsedSource:
    data, problem = _load_toml(root, path)
    if data is None:
        return ParsedSource(problems=(problem or "unreadable",))
    project = data.get("project") or {}
    lines: list[str] = list(project.get("dependencies") or [])
    for extra in (project.get("optional-dependencies") or {}).values():
        lines.extend(extra or [])
    for group in (data.get("dependency-groups") or {}).values():
        lines.extend(item for item in group or [] if isinstance(item, str))
    pins, unaudited, problems = [], [], []
    for text in lines:
        try:
            req = Requirement(str(text))
        except InvalidRequirement as exc:
            problems.append(f"invalid dependency {text!r}: {exc}")
            continue
        name = canonicalize_name(req.name)
        if req.url:
            unaudited.append(Unaudited(name, path, "a URL dependency has no version to look up"))
            continue
        version = exact_version(req.specifier)
        if version is None:
            unaudited.append(Unaudited(name, path, _unpinned_reason(str(req.specifier))))
        else:
            pins.append(Pin(name, version, path))
    return ParsedSource(tuple(pins), tuple(unaudited), tuple(problems))


def _pylock(root: Path, path: str) -> ParsedSource:
    data, problem = _load_toml(root, path)
    if data is None:
        return ParsedSource(problems=(problem or "unreadable",))
    if not data.get("lock-version"):
        return ParsedSource(problems=("not a pylock file: 'lock-version' is missing",))
    pins, unaudited, problems = [], [], []
    for i, package in enumerate(data.get("packages") or []):
        if not isinstance(package, dict) or not package.get("name"):
            problems.append(f"packages[{i}] has no name")
            continue
        name = canonicalize_name(str(package["name"]))
        try:
            version = str(Version(str(package["version"]))) if package.get("version") else None
        except InvalidVersion:
            version = None
        if version is None:
            unaudited.append(
                Unaudited(name, path, "no PEP 440 version in the lock file (VCS, directory?)")
            )
        else:
            pins.append(Pin(name, version, path))
    return ParsedSource(tuple(pins), tuple(unaudited), tuple(problems))
