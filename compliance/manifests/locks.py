"""What every lock parser shares: the lock's roots from the manifest beside it."""

from __future__ import annotations

from pathlib import Path

from compliance.manifests.common import sibling
from compliance.manifests.pyproject import PyprojectParser


def pyproject_roots(root: Path, path: str) -> set[str] | None:
    """The direct dependencies the pyproject.toml beside a lock declares (None: no file)."""
    found = sibling(root, path, "pyproject.toml")
    if found is None:
        return None
    manifest = PyprojectParser().parse(root, found)
    return {d.name for d in manifest.dependencies} if not manifest.problems else None


def source_of(entry: dict[str, object]) -> str:
    """'' for a package from an index; else what the lock says it comes from."""
    for key, kind in (("git", "vcs"), ("vcs", "vcs"), ("url", "url"), ("archive", "url"),
                      ("path", "path"), ("directory", "path"), ("editable", "editable"),
                      ("virtual", "path")):  # fmt: skip
        if entry.get(key):
            return kind
    return ""
