"""Unpinned requirements resolved as pip would, against the index the policy names.

`pip install --dry-run --report` resolves a set of requirements, transitively, without
installing anything; `--only-binary :all:` keeps it from building (running) an sdist from
the index; `PIP_CONFIG_FILE=/dev/null` keeps a pip.conf from adding other indexes. Only
the policy's `dependencies.index_url` is asked, never one the scanned tree names: the tree
is hostile, and an index it chose could answer anything.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from compliance.manifests.common import normal_version, pulled_in_by
from compliance.manifests.interface import Dependency
from compliance.scanners.process import run_tool, stderr_tail


class ResolveError(Exception):
    """pip could not resolve the set; the message says why, in one line."""


@dataclass(frozen=True)
class Resolved:
    """Each requested dependency at the version pip chose, and what they pull in."""

    dependencies: tuple[Dependency, ...]


def resolve(
    wanted: list[Dependency],
    path: str,
    index_url: str,
    tmp: Path,
    timeout: float,
    env: dict[str, str],
) -> Resolved:
    """Resolve `wanted` (one manifest's index dependencies) with pip against `index_url`."""
    tag = f"{abs(hash(path)):x}"
    requirements = tmp / f"resolve-{tag}.txt"
    report = tmp / f"resolve-{tag}.json"
    lines = sorted({f"{d.name}{d.spec if d.version is None else '==' + d.version}" for d in wanted})
    requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
        "--quiet", "--disable-pip-version-check", "--no-input", "--only-binary", ":all:",
        "--index-url", index_url, "--cache-dir", str(tmp / "pip-cache"),
        "--report", str(report), "-r", str(requirements),
    ]  # fmt: skip
    run = run_tool(
        argv,
        tool="pip (resolving unpinned requirements)",
        timeout=timeout,
        env={**env, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INPUT": "1"},
    )
    if run.returncode != 0:
        raise ResolveError(
            f"pip could not resolve them from {index_url}: {stderr_tail(run.stderr)}"
        )
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
        installs: list[dict[str, Any]] = list(data["install"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ResolveError(f"pip's resolution report cannot be read: {exc}") from None
    return Resolved(_as_dependencies(installs, {d.name for d in wanted}, path))


def _as_dependencies(
    installs: list[dict[str, Any]], direct: set[str], path: str
) -> tuple[Dependency, ...]:
    versions: dict[str, str] = {}
    edges: dict[str, list[str]] = {}
    for item in installs:
        meta = item.get("metadata") or {}
        name = canonicalize_name(str(meta.get("name", "")))
        version = normal_version(str(meta.get("version", "")))
        if not name or version is None:
            raise ResolveError(f"pip resolved a package without a name or version: {meta!r:.200}")
        versions[name] = version
        edges[name] = []
        for text in meta.get("requires_dist") or []:
            try:
                edges[name].append(canonicalize_name(Requirement(str(text)).name))
            except InvalidRequirement:
                continue
    via = pulled_in_by(edges, direct & set(versions))
    return tuple(
        Dependency(
            name, path, version, None, f"=={version} (resolved)",
            direct=name in direct, via=() if name in direct else via.get(name, ()),
        )
        for name, version in sorted(versions.items())
    )  # fmt: skip
