"""The one sequence a file scanner (bandit, semgrep) follows over a folder of files.

Cache look-up, the files still to scan, the tool run over those (sharded, shards.py; the
tool's own part, a `Hooks.run`), coverage, storing the clean per-file results, and the
cache hits merged back in. It lives here once because its order is what keeps the cache
honest and the gate fail-closed: a file the tool did not report on is a coverage error
and never "no findings", and a run with such a file or with an error not tied to one
file stores nothing, so a warm scan re-runs every file and fails exactly as the cold one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.cache import ResultCache, group_by_file
from compliance.scanners.interface import ScanError

COVERAGE_HINT = "exclude it in the policy if it is not meant to be scanned"


@dataclass(frozen=True)
class Fresh:
    """What the tool said about the files the cache could not answer for."""

    version: str
    """The tool's version as the run reported it; "" when nothing ran (nothing to store)."""
    results: list[dict[str, Any]]
    """Trimmed to what the cache may keep, as are `suppressed`."""
    suppressed: list[dict[str, Any]]
    scanned: set[str]
    """Files the tool reported on, with or without an error."""
    errors: list[ScanError]
    failed: set[str]
    """Files with an error of their own: neither clean nor stored."""
    run_wide: bool
    """An error not tied to one of the files: the run is trusted for none of them."""


def nothing_ran(version: str = "") -> Fresh:
    """The tool's answer when the cache held every file."""
    return Fresh(version, [], [], set(), [], set(), run_wide=False)


@dataclass(frozen=True)
class Hooks:
    """The tool's own parts of the sequence."""

    tool: str
    """The source named in coverage errors."""
    path_key: str
    """The field of a result that names its file (the cache groups results by it)."""
    not_reported: str
    """The coverage error's reason for a file the tool was asked to scan and did not."""
    namespace: Callable[[str], str]
    """The cache key's prefix for a tool version (ResultCache.lookup)."""
    run: Callable[[list[str]], Fresh]
    """The tool over these files: every pass, every shard."""


@dataclass(frozen=True)
class Scanned:
    """Fresh and cached results together, for the tool to turn into findings: the files
    scanned without an error (fresh or cached, in the order given), every error including
    coverage's, and the version the fresh run reported, else the cached one's, else ""."""

    clean: list[str]
    errors: list[ScanError]
    results: list[dict[str, Any]]
    suppressed: list[dict[str, Any]]
    version: str


def scan_files(
    cache: ResultCache,
    tool_path: str,
    root: Path,
    files: list[str],
    hooks: Hooks,
    *,
    version: str | None = None,
    payload: Sequence[str] = (),
) -> Scanned:
    """The files under `root`, each answered by the cache or by `hooks.run`. `version` and
    `payload` are ResultCache.lookup's: the version when the caller knows it already, the
    files inside the tool's package that belong to its identity."""
    cached = cache.lookup(tool_path, root, files, hooks.namespace, version=version, payload=payload)
    todo = cached.todo(files)
    fresh = hooks.run(todo)
    scanned = fresh.scanned | set(cached.hits)
    missing = [f for f in files if f not in scanned and f not in fresh.failed]
    errors = fresh.errors + [
        ScanError(hooks.tool, "coverage", hooks.not_reported, path=path, hint=COVERAGE_HINT)
        for path in missing
    ]
    if fresh.version and not missing and not fresh.run_wide:
        cached.store(
            fresh.version,
            group_by_file(
                (f for f in todo if f in fresh.scanned and f not in fresh.failed),
                hooks.path_key,
                results=fresh.results,
                suppressed=fresh.suppressed,
            ),
        )
    hits = list(cached.hits.values())
    return Scanned(
        version=fresh.version or cached.version or "",
        results=fresh.results + [r for hit in hits for r in hit["results"]],
        suppressed=fresh.suppressed + [r for hit in hits for r in hit["suppressed"]],
        errors=errors,
        clean=[f for f in files if f in scanned and f not in fresh.failed],
    )
