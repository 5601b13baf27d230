"""requirements*.txt, *requirements*.txt, requirements/*.txt and requirements*.in, with the
`-r` / `-c` files they include, read with pip-requirements-parser (the parser pip-audit
uses). Options lines are supply-chain findings where they move where packages come from.
A `.in` file is unpinned input: when its compiled `.txt` sits beside it, that file pins it.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.utils import canonicalize_name
from pip_requirements_parser import RequirementsFile

from compliance.manifests.common import (
    ManifestError,
    editable_line,
    exact_version,
    from_requirement,
    index_lines,
    is_production,
    read_text,
    sibling,
    url_lines,
)
from compliance.manifests.interface import Dependency, Manifest, ManifestParser, SupplyChainLine


class RequirementsParser(ManifestParser):
    kind = "requirements"

    def matches(self, path: PurePosixPath) -> bool:
        name = path.name.lower()
        if not name.endswith((".txt", ".in")):
            return False
        return "requirements" in name or "requirements" in (p.lower() for p in path.parts[:-1])

    def parse(self, root: Path, path: str) -> Manifest:
        try:
            read_text(root, path)  # size and encoding first: the parser reads anything
            parsed = RequirementsFile.from_file(str(root / path), include_nested=True)
        except ManifestError as exc:
            return Manifest(path, self.kind, problems=(str(exc),))
        except Exception as exc:  # the parser raises pip's many error types
            return Manifest(path, self.kind, problems=(f"{path}: cannot be read: {exc}",))
        return read_requirements(root, path, parsed, self.kind)


def read_requirements(root: Path, path: str, parsed: Any, kind: str) -> Manifest:
    """A parsed requirements file (and what it includes) as one manifest."""
    problems = [
        f"{_file(root, path, bad.requirement_line)}:{bad.line_number}: "
        f"{' '.join(str(bad.error_message).split())}"
        for bad in parsed.invalid_lines
    ]
    issues: list[SupplyChainLine] = []
    for option in parsed.options:
        where = _file(root, path, option.requirement_line)
        line, text = option.requirement_line.line_number, option.requirement_line.line
        if where is None:
            problems.append(f"{path}:{line}: includes a file outside the scanned tree: {text}")
            continue
        values = option.options
        for include in (*(values.get("requirements") or ()), *(values.get("constraints") or ())):
            if _inside(root, where, include) is None:
                problems.append(f"{where}:{line}: includes a file outside the scanned tree: {text}")
        if values.get("index_url"):
            issues += index_lines(where, line, text, "index-url", values["index_url"])
        for url in values.get("extra_index_urls") or ():
            issues += index_lines(where, line, text, "extra-index-url", url)
        for host in values.get("trusted_hosts") or ():
            issues.append(
                SupplyChainLine(
                    "trusted-host",
                    where,
                    line,
                    text,
                    f"--trusted-host {host}: TLS is not checked for that host",
                )
            )
        for url in values.get("find_links") or ():
            issues += url_lines(where, line, url, text, hashed=True)
    constrained: dict[str, str] = {}
    deps: list[Dependency] = []
    for req in parsed.requirements:
        where = _file(root, path, req.requirement_line)
        line = req.line_number
        if where is None:
            continue  # its include line is the problem reported above
        text = req.requirement_line.line if req.requirement_line else str(req)
        production = is_production(where)
        if req.is_constraint:
            version = exact_version(req.specifier) if req.name else None
            if version:
                constrained[canonicalize_name(req.name)] = version
            continue
        link = getattr(req, "link", None)
        if req.is_editable or req.is_url or req.req is None or link:
            name = canonicalize_name(req.name) if req.name else text.strip()
            if req.is_editable and production:
                issues.append(editable_line(where, line, text))
            url = link.url if link is not None else ""
            local = not url or url.startswith("file:") or "://" not in url
            if url and not local:
                issues += url_lines(where, line, url, text, hashed=bool(req.hash_options))
            source = (
                "editable"
                if req.is_editable
                else ("path" if local else "vcs" if "+" in url.split("://")[0] else "url")
            )
            deps.append(Dependency(name, where, None, line, text.strip(), source))
            continue
        dep, more, problem = from_requirement(str(req.req), where, line, production)
        if problem or dep is None:
            problems.append(problem or f"{where}:{line}: unreadable")
            continue
        deps.append(dep)
        issues += more
    deps = [
        Dependency(d.name, d.path, constrained[d.name], d.line, d.spec + " (constraint)", d.source)
        if d.version is None and not d.source and d.name in constrained
        else d
        for d in deps
    ]
    compiled = None
    if path.lower().endswith(".in"):
        compiled = sibling(root, path, PurePosixPath(path).stem + ".txt")
    return Manifest(
        path, kind, tuple(deps), tuple(issues), tuple(dict.fromkeys(problems)), input_for=compiled
    )


def _inside(root: Path, including: str, include: str) -> str | None:
    target = Path(os.path.normpath((root / including).parent / include))
    try:
        return target.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def _file(root: Path, path: str, line: Any) -> str | None:
    """The repo-relative file a parsed line came from (an included one, or `path`); None
    when an include leaves the tree (the tree is hostile: it must not read outside)."""
    filename = getattr(line, "filename", None)
    if not filename:
        return path
    base = Path(filename)
    full = base if base.is_absolute() else Path(os.path.normpath(Path.cwd() / base))
    for candidate in (full, Path(os.path.normpath((root / path).parent / filename))):
        try:
            return candidate.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return None
