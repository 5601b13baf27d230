"""Which files of a tree are scanned, and what the tree is called.

In a git work tree we ask git (tracked files plus untracked ones not ignored), as a CI
clone would contain; elsewhere we walk the tree. The policy's excludes then apply as
gitignore-style patterns. If git fails we walk: more files, never fewer.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from compliance.globs import matcher

SKIP_DIRS = {".git", ".hg", ".svn"}


@dataclass(frozen=True)
class GitInfo:
    commit: str | None
    branch: str | None
    remote: str | None


def list_files(root: Path) -> list[str]:
    """Repo-relative POSIX paths of the regular files under root, sorted."""
    files = _git_files(root)
    if files is None:
        files = _walk(root)
    return sorted(f for f in files if (root / f).is_file() and not (root / f).is_symlink())


def apply_excludes(files: Sequence[str], patterns: Sequence[str]) -> list[str]:
    if not patterns:
        return list(files)
    spec = matcher(patterns)
    return [f for f in files if not spec.match_file(f)]


def _git(root: Path, *args: str) -> str | None:
    try:
        run = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if run.returncode != 0:
        return None
    return run.stdout.decode("utf-8", "surrogateescape")


def _git_files(root: Path) -> list[str] | None:
    inside = _git(root, "rev-parse", "--is-inside-work-tree")
    if inside is None or inside.strip() != "true":
        return None
    out = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
    if out is None:
        return None
    return [name for name in out.split("\0") if name]


def _walk(root: Path) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        rel = Path(dirpath).relative_to(root)
        found.extend((rel / name).as_posix() for name in filenames)
    return found


def git_info(root: Path) -> GitInfo:
    commit = _git(root, "rev-parse", "HEAD")
    branch = os.environ.get("CI_COMMIT_REF_NAME") or _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    remote = _git(root, "config", "--get", "remote.origin.url")
    return GitInfo(
        commit.strip() if commit else None,
        branch.strip() if branch else None,
        _without_credentials(remote.strip()) if remote else None,
    )


@dataclass(frozen=True)
class TreeState:
    """Whether a scan of `root` sees exactly what its commit holds, and where root sits.

    Recorded with every scan so that only a clean scan of the same part of the repository
    is ever reused as a baseline (compliance/store/baseline_match.py)."""

    scan_root: str | None
    """root relative to the repository's top level, POSIX, '.' for the top; None outside git."""
    dirty: bool | None
    """True: a tracked change, an untracked file git does not ignore, or a file git was told
    not to look at (assume-unchanged, skip-worktree) under root. None: unknown (not a git
    tree, or git failed), which counts as dirty."""


def tree_state(root: Path) -> TreeState:
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or not top.strip():
        return TreeState(None, None)
    try:
        inner = root.resolve().relative_to(Path(top.strip()).resolve()).as_posix()
    except ValueError:
        return TreeState(None, None)
    status = _git(
        root,
        "--no-optional-locks",  # a read: do not refresh (write) the index
        "status",
        "--porcelain",
        "-z",
        "--untracked-files=normal",
        "--ignore-submodules=none",
        "--",
        ".",
    )
    # `git status` trusts these flags and would call a modified file clean; the scanners
    # read the file as it is on disk.
    hidden = _git(root, "ls-files", "-v", "-z", "--", ".")
    if status is None or hidden is None:
        return TreeState(inner, None)
    flagged = any(entry[:1].islower() or entry[:1] == "S" for entry in hidden.split("\0") if entry)
    return TreeState(inner, bool(status.strip("\0")) or flagged)


def default_target(root: Path, info: GitInfo) -> str:
    """A name for the tree that stays the same wherever it is checked out."""
    if os.environ.get("CI_PROJECT_PATH"):
        return os.environ["CI_PROJECT_PATH"]
    if info.remote:
        return info.remote
    return root.resolve().name


def _without_credentials(url: str) -> str:
    return re.sub(r"//[^/@]+@", "//", url)
