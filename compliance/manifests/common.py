"""Helpers every manifest parser shares: one requirement string, read safely, a TOML file,
and the names a lock's dependency graph pulls in from each direct dependency."""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_right
from collections import deque
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from compliance.manifests.interface import Dependency, SupplyChainLine

MAX_MANIFEST_BYTES = 20 * 1024 * 1024  # a lock of 10k packages is ~5 MB
DEV_WORDS = ("dev", "test", "doc", "lint", "ci", "type", "bench")
VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")


class ManifestError(Exception):
    """The file cannot be read; the message already says where (`file:line: …`)."""


def read_text(root: Path, path: str) -> str:
    target = root / path
    try:
        if target.stat().st_size > MAX_MANIFEST_BYTES:
            raise ManifestError(f"{path}: larger than {MAX_MANIFEST_BYTES} bytes")
        return target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot be read: {exc}") from None


def read_toml(root: Path, path: str) -> tuple[str, dict[str, Any]]:
    """The file's text (for line numbers) and its TOML; ManifestError names file:line."""
    text = read_text(root, path)
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.14 gives exc.lineno; older ones only say "(at line N, column M)"
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        if line is None and "at end of document" in str(exc):
            line = max(1, len(text.splitlines()))
        where = f"{path}:{line}" if line else path
        reason = re.sub(
            r"\s*\((at line \d+, column \d+|at end of document)\)",
            "",
            str(getattr(exc, "msg", exc)),
        )
        raise ManifestError(f"{where}: not valid TOML: {reason}") from None


def line_of(text: str, needle: str) -> int | None:
    """The first line of `text` holding `needle` (TOML and INI parsers keep no positions).

    A lock names every package once: a line-by-line walk per package was quadratic (0.15 s
    for 300). The first occurrence is found by `str.find` and its line by bisecting the
    line starts, computed once per text; a needle holding a line break can be on no line."""
    if not needle or _BREAKS.search(needle):
        return 1 if not needle and text.splitlines() else None
    at = text.find(needle)
    return None if at < 0 else bisect_right(_line_starts(text), at)


_BREAKS = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
"""What str.splitlines splits on."""


@lru_cache(maxsize=8)
def _line_starts(text: str) -> list[int]:
    starts, at = [0], 0
    for line in text.splitlines(keepends=True):
        at += len(line)
        starts.append(at)
    return starts


def is_production(path: str, group: str = "") -> bool:
    """A manifest (or group in one) that names dev, test, docs … tools is not production."""
    words = (PurePosixPath(path).name.lower(), group.lower())
    return not any(w in part for part in words for w in DEV_WORDS)


def exact_version(specifier: SpecifierSet) -> str | None:
    """The one version `==X` / `===X` allows, in normal form; None for anything wider."""
    specs = list(specifier)
    if len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
        return None
    return normal_version(specs[0].version)


def normal_version(text: str) -> str | None:
    try:
        return str(Version(text))
    except InvalidVersion:
        return None


def url_lines(
    path: str, line: int | None, url: str, text: str, hashed: bool
) -> list[SupplyChainLine]:
    """A requirement fetched from a URL: plain HTTP, a VCS ref that is not a commit, an
    archive without a hash. Each is a supply-chain finding: the bytes can change."""
    found = []
    bare = url.split("+", 1)[1] if url.startswith(VCS_PREFIXES) else url
    if urlsplit(bare).scheme == "http":
        found.append(
            SupplyChainLine("plain-http", path, line, text, f"fetched over plain HTTP: {bare}")
        )
    if url.startswith(VCS_PREFIXES):
        ref = urlsplit(bare).path.rpartition("@")[2] if "@" in urlsplit(bare).path else ""
        found += vcs_ref_lines(path, line, text, ref, "pin @<40-hex sha>")
    elif urlsplit(url).scheme in ("http", "https") and not hashed and "sha256=" not in url:
        found.append(
            SupplyChainLine(
                "unhashed-url", path, line, text, "URL requirement without a hash: add #sha256=…"
            )
        )
    return found


def vcs_ref_lines(
    path: str, line: int | None, text: str, ref: str, how: str
) -> list[SupplyChainLine]:
    """A VCS requirement whose ref is not a commit: a branch or tag can be moved."""
    if is_commit(ref):
        return []
    detail = f"VCS requirement not pinned to a commit ({ref or 'no ref'}): {how}"
    return [SupplyChainLine("unpinned-vcs", path, line, text, detail)]


def vcs_table_lines(
    path: str, line: int | None, text: str, url: str, ref: str, key: str
) -> list[SupplyChainLine]:
    """A Poetry/Pipfile VCS table (`git = URL`, `rev`/`ref = …`): its ref and its scheme."""
    found = vcs_ref_lines(path, line, text, ref, f"set {key} = <40-hex sha>")
    return found + [i for i in url_lines(path, line, url, text, True) if i.rule == "plain-http"]


def editable_line(path: str, line: int | None, text: str) -> SupplyChainLine:
    return SupplyChainLine(
        "editable", path, line, text, "editable install in a production manifest"
    )


def add_requirements(
    items: list[str],
    path: str,
    text: str,
    group: str,
    deps: list[Dependency],
    issues: list[SupplyChainLine],
    problems: list[str],
) -> None:
    """PEP 508 strings of one group into the lists, each at the line of `text` it is on."""
    for item in items:
        line = line_of(text, f'"{item}"') or line_of(text, f"'{item}'") or line_of(text, item)
        dep, more, problem = from_requirement(item, path, line, is_production(path, group))
        if problem:
            problems.append(problem)
        if dep is not None:
            deps.append(dep)
        issues += more


def is_commit(ref: str) -> bool:
    return len(ref) == 40 and all(c in "0123456789abcdef" for c in ref.lower())


def index_lines(
    path: str, line: int | None, text: str, rule: str, url: str
) -> list[SupplyChainLine]:
    """`--index-url` / `--extra-index-url` / a Pipfile source other than PyPI."""
    found = []
    if rule == "extra-index-url":
        found.append(
            SupplyChainLine(
                rule,
                path,
                line,
                text,
                f"extra index {url}: a package name on both indexes may come from either "
                "(dependency confusion); use one index that proxies PyPI",
            )
        )
    elif not is_default_index(url):
        found.append(
            SupplyChainLine(rule, path, line, text, f"packages come from a non-default index {url}")
        )
    if urlsplit(url).scheme == "http":
        found.append(
            SupplyChainLine("plain-http", path, line, text, f"index over plain HTTP: {url}")
        )
    return found


def is_default_index(url: str) -> bool:
    parts = urlsplit(url)
    return (
        parts.scheme == "https"
        and parts.hostname in ("pypi.org", "pypi.python.org")
        and (parts.path.rstrip("/") in ("/simple", ""))
    )


def from_requirement(
    text: str, path: str, line: int | None, production: bool = True, editable: bool = False
) -> tuple[Dependency | None, list[SupplyChainLine], str | None]:
    """One PEP 508 string → its dependency, supply-chain lines, or a problem (file:line)."""
    where = f"{path}:{line}" if line else path
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        return None, [], f"{where}: invalid requirement {text!r}: {exc}"
    name = canonicalize_name(req.name)
    issues: list[SupplyChainLine] = []
    if editable and production:
        issues.append(editable_line(path, line, text))
    if req.url:
        issues += url_lines(path, line, req.url, text, hashed=False)
        source = "vcs" if req.url.startswith(VCS_PREFIXES) else "url"
        return Dependency(name, path, None, line, text, source=source), issues, None
    version = exact_version(req.specifier)
    source = "editable" if editable else ""
    return Dependency(name, path, version, line, str(req.specifier), source=source), issues, None


def pulled_in_by(
    edges: Mapping[str, Iterable[str]], direct: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """For every package reachable from the direct ones: which direct ones pull it in."""
    via: dict[str, set[str]] = {}
    for root in sorted(set(direct)):
        seen = {root}
        queue = deque([root])
        while queue:
            for child in edges.get(queue.popleft(), ()):
                if child not in seen:
                    seen.add(child)
                    via.setdefault(child, set()).add(root)
                    queue.append(child)
    return {name: tuple(sorted(roots)) for name, roots in via.items()}


def locked_set(
    path: str,
    packages: Mapping[str, tuple[str | None, str, Iterable[str]]],
    direct: set[str] | None,
    lines: Mapping[str, int] | None = None,
) -> tuple[Dependency, ...]:
    """A lock's packages (name → (version, source, dependency names)) as dependencies,
    direct ones marked, transitive ones with the direct dependencies that pull them in.
    `direct` None: the lock records no roots (Pipfile.lock without its Pipfile)."""
    edges = {name: [canonicalize_name(d) for d in deps] for name, (_, _, deps) in packages.items()}
    roots = set(packages) if direct is None else direct & set(packages)
    via = pulled_in_by(edges, roots)
    out = []
    for name, (version, source, _) in sorted(packages.items()):
        is_direct = name in roots
        out.append(
            Dependency(
                name,
                path,
                version,
                (lines or {}).get(name),
                version or "",
                source,
                direct=is_direct,
                via=() if is_direct else via.get(name, ()),
            )
        )
    return tuple(out)


def sibling(root: Path, path: str, name: str) -> str | None:
    """`name` in the same folder as `path`, repo-relative, when it is a file."""
    candidate = PurePosixPath(path).parent / name
    return str(candidate) if (root / candidate).is_file() else None
