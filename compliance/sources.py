"""Which files of a tree are scanned, what is left out and why, and what the tree is called.

In a git work tree we ask git (tracked files plus untracked ones not ignored), as a CI
clone would contain; elsewhere we walk the tree. The policy's excludes then apply as
gitignore-style patterns (a leading `/` anchors a pattern to the tree's root). If git fails
we walk: more files, never fewer.

Nothing in the listing is dropped without a word (`survey`):

- a symlink to a regular file inside the tree is scanned under the link's own path, as a
  file of its own: the link and its target are two paths, and each is scanned once under
  its own name (a finding in the target shows under both). Scanning the link as itself is
  what makes a `tool.py` link to `notes.txt` read as Python, as `import tool` would;
- a symlink that leaves the tree or points to nothing, a symlink to a directory (its files
  would be importable under a path no scanner reads), a git submodule (a `160000` gitlink),
  a nested git repository, and anything that is not a regular file (a FIFO) are *problems*:
  errors (class `coverage`, exit 2) naming the path, unless the policy's `exclude` covers
  them;
- compiled or packed Python (`.pyc`, `.pyo`, `.pyz`, `.pyzw`) is a problem too: Python runs
  it (a sourceless or unchecked-hash `.pyc` even instead of its `.py`) and no scanner reads
  it;
- a file name that is not valid UTF-8 is kept (as a `str` holding surrogate escapes, as
  `os.fsdecode` gives it); `display_path` is its printable, storable form
  (`a\\xff.py`), and the scanners hand such files to their tools under that name.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from compliance.git import git_output
from compliance.globs import matcher

SKIP_DIRS = {".git", ".hg", ".svn"}
COMPILED_PYTHON = (".pyc", ".pyo", ".pyz", ".pyzw")
GITLINK = "160000"


@dataclass(frozen=True)
class GitInfo:
    commit: str | None
    branch: str | None
    remote: str | None


@dataclass(frozen=True)
class TreeProblem:
    """A path in the tree that no scanner will read, and what to do about it."""

    path: str
    reason: str
    hint: str
    directory: bool = False  # matched against excludes as a folder (`path/`)


@dataclass(frozen=True)
class Survey:
    files: list[str]
    problems: list[TreeProblem] = field(default_factory=list)


def list_files(root: Path) -> list[str]:
    """Repo-relative POSIX paths of the files under root that scanners read, sorted."""
    return survey(root).files


def survey(root: Path) -> Survey:
    """The files scanners read (regular files and in-tree file symlinks, sorted) and every
    path left out for a reason a person must hear about."""
    root = root.resolve()
    entries = _git_entries(root)
    if entries is None:
        entries = _walk(root)
    files: list[str] = []
    problems: list[TreeProblem] = []
    for name, mode in sorted(set(entries)):
        if mode == GITLINK:
            problems.append(_submodule(name))
        elif name.endswith("/"):
            problems.append(_nested_repository(name.rstrip("/")))
        else:
            kind = _classify(root, name)
            if isinstance(kind, TreeProblem):
                problems.append(kind)
            elif kind:
                files.append(name)
    problems += _name_clashes(files)
    return Survey(files, problems)


def apply_excludes(files: Sequence[str], patterns: Sequence[str]) -> list[str]:
    if not patterns:
        return list(files)
    spec = matcher(patterns)
    return [f for f in files if not spec.match_file(f)]


def unexcluded(problems: Iterable[TreeProblem], patterns: Sequence[str]) -> list[TreeProblem]:
    """The problems the policy's excludes do not cover (a folder also as `path/`)."""
    spec = matcher(patterns)
    return [
        p
        for p in problems
        if not spec.match_file(p.path) and not (p.directory and spec.match_file(p.path + "/"))
    ]


def display_path(name: str) -> str:
    """A name as valid text: bytes that are not UTF-8 (surrogate escapes) shown as `\\xff`.

    Identity for every valid name. This is the form stored, printed and fingerprinted."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _classify(root: Path, name: str) -> bool | TreeProblem:
    """True: a file to scan. False: nothing there any more (deleted in the work tree)."""
    full = root / name
    try:
        info = full.lstat()
    except OSError:
        return False
    if stat.S_ISLNK(info.st_mode):
        return _symlink(root, name)
    if stat.S_ISDIR(info.st_mode):
        return False
    if not stat.S_ISREG(info.st_mode):
        return TreeProblem(
            name,
            "not a regular file (a FIFO, socket or device): no scanner can read it",
            "remove it from the tree, or add it to the policy's exclude list",
        )
    if name.lower().endswith(COMPILED_PYTHON):
        return TreeProblem(
            name,
            "compiled or packed Python: Python can run it, no scanner reads it",
            "remove it from the repository (commit the source), or add it to the policy's "
            "exclude list if it was reviewed",
        )
    return True


def _symlink(root: Path, name: str) -> bool | TreeProblem:
    full = root / name
    try:
        pointer = os.readlink(full)
    except OSError:
        pointer = "?"
    shown = display_path(pointer)[:200]
    target = Path(os.path.realpath(full))
    hint = "replace the link with the file itself, or add the link to the policy's exclude list"
    if not target.is_relative_to(root):
        return TreeProblem(name, f"symlink leaving the scanned tree (-> {shown})", hint)
    if not target.exists():
        return TreeProblem(name, f"symlink to nothing (-> {shown})", hint)
    if target.is_dir():
        return TreeProblem(
            name,
            f"symlink to a directory (-> {shown}): its files would be importable under a "
            "path no scanner reads",
            "replace the link, or add it to the policy's exclude list (its target is still "
            "scanned under its own path)",
            directory=True,
        )
    if not target.is_file():
        return TreeProblem(name, f"symlink to something that is not a file (-> {shown})", hint)
    return True


def _submodule(name: str) -> TreeProblem:
    return TreeProblem(
        name,
        "git submodule: its files are not part of this tree and are not scanned",
        "scan the submodule's repository with its own gate, and add the path to the policy's "
        "exclude list",
        directory=True,
    )


def _nested_repository(name: str) -> TreeProblem:
    return TreeProblem(
        name,
        "nested git repository: its files are not part of this tree and are not scanned",
        "scan it as a tree of its own, and add the path to the policy's exclude list",
        directory=True,
    )


def _name_clashes(files: list[str]) -> list[TreeProblem]:
    """Two names that print the same (`a\\xff.py` spelt out, and the byte 0xff) cannot be
    told apart in a report: refuse rather than merge their findings."""
    shown: dict[str, str] = {}
    clashes = []
    for name in files:
        other = shown.setdefault(display_path(name), name)
        if other != name:
            clashes.append(
                TreeProblem(
                    name,
                    "file name that is not valid UTF-8 and prints like another file's",
                    "rename one of the two files",
                )
            )
    return clashes


def _git(root: Path, *args: str) -> str | None:
    return git_output(root, *args)


def _git_entries(root: Path) -> list[tuple[str, str]] | None:
    """(path, git mode) of tracked files and ('path', '') of untracked ones not ignored; an
    untracked nested repository is listed by git as 'path/'."""
    inside = _git(root, "rev-parse", "--is-inside-work-tree")
    if inside is None or inside.strip() != "true":
        return None
    tracked = _git(root, "ls-files", "-z", "--stage", "--", ".")
    others = _git(root, "ls-files", "-z", "--others", "--exclude-standard", "--", ".")
    if tracked is None or others is None:
        return None
    entries = []
    for record in tracked.split("\0"):
        meta, tab, name = record.partition("\t")
        if tab and name:
            entries.append((name, meta.split(" ", 1)[0]))
    entries += [(name, "") for name in others.split("\0") if name]
    return entries


def _walk(root: Path) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        rel = here.relative_to(root)
        if rel.parts and (here / ".git").exists():
            found.append((rel.as_posix() + "/", ""))  # a nested repository, as git lists it
            dirnames[:] = []
            continue
        linked = [d for d in dirnames if (here / d).is_symlink()]  # os.walk does not follow
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and d not in linked]
        found.extend(((rel / name).as_posix(), "") for name in [*filenames, *linked])
    return found


def git_info(root: Path) -> GitInfo:
    commit = _git(root, "rev-parse", "HEAD")
    branch = os.environ.get("CI_COMMIT_REF_NAME") or _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    remote = _git(root, "config", "--get", "remote.origin.url")
    return GitInfo(  # shown: git's names are bytes, the store holds text
        display_path(commit.strip()) if commit else None,
        display_path(branch.strip()) if branch else None,
        display_path(_without_credentials(remote.strip())) if remote else None,
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
    return display_path(root.resolve().name)


def _without_credentials(url: str) -> str:
    return re.sub(r"//[^/@]+@", "//", url)
