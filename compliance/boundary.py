"""The gate's own state never comes from, or goes into, the tree it judges.

The scanned tree is hostile: a merge request controls every file git tracks there, and
every symlink. A database, result cache or report the gate reads or writes inside it
could carry a forged history, a planted cache entry or a link that turns "write the
report" into "overwrite ~/.ssh/authorized_keys". So before a scan starts, every state
path is placed relative to the scanned root:

- inside the tree (after following the symlinks on the way): refused unless the policy
  (or the pipeline's `--allow-in-tree`) allows that kind there;
- tracked by git in the tree's checkout, reached through a symlink that sits inside the
  tree or its checkout, a symlink itself there, or a FIFO/device there: always refused,
  allowed or not, because those are exactly what a merge request can plant.

Paths allowed inside the tree are the gate's own outputs of this run: the scan leaves
them out of its file list (`drop_own_outputs`), so the gate never judges itself.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from compliance.git import git_output
from compliance.policy import ConfigError
from compliance.policy.model import StateKind
from compliance.store.engine import SQLITE_SIBLINGS

Kind = StateKind
KINDS: tuple[Kind, ...] = get_args(StateKind)

MAX_LINKS = 40  # as the kernel's ELOOP limit

_WHAT_TO_DO: dict[Kind, str] = {
    "database": "pass --db (or set COMPLIANCE_DB) to a path outside it",
    "cache": "set COMPLIANCE_CACHE_DIR (and COMPLIANCE_TOOLS_DIR) to a folder outside it "
    "(or the cache to 'off')",
    "reports": "pass --output FMT:FILE with a path outside it",
}


@dataclass(frozen=True)
class StatePath:
    """One file or folder the gate reads or writes during a scan."""

    kind: Kind
    path: Path
    label: str  # "database", "database WAL file", "result cache folder", "report (html)"
    folder: bool = False
    follows_links: bool = True
    """SQLite and the cache open a symlink's target; reports replace a link, never follow it."""
    part_of: Path | None = None
    """A database's -wal/-shm/… file: refused with it, so the database is named once."""


@dataclass(frozen=True)
class Placement:
    state: StatePath
    location: Path  # the real place written (parents resolved; the final link per follows_links)
    inside: bool  # location is within the scanned root
    relative: str | None  # location relative to the scanned root, POSIX, when inside
    tracked: bool = False
    planted_link: Path | None = None  # a symlink inside the tree or its checkout on the way
    link_is_final: bool = False  # ... and it is the path's own last component
    special: str | None = None  # "FIFO", "device"…: what it is, when not what it should be

    def refusal(self, root: Path, allowed: Collection[str]) -> str | None:
        """Why this path may not be used (one line: what, where, what to do), or None."""
        kind = self.state.kind
        name = f"{self.state.label} {self.state.path}"
        todo = _WHAT_TO_DO[kind]
        always = "refused even when allow_in_tree lists it"
        if self.tracked:
            return (
                f"{name} is tracked by git in the scanned checkout, so the merge request "
                f"controls its content ({always}); {todo}"
            )
        if self.planted_link is not None:
            how = "is a symlink" if self.link_is_final else "goes through the symlink"
            where = "" if self.link_is_final else f" {self.planted_link}"
            return (
                f"{name} {how}{where} inside the scanned tree or its git checkout, which the "
                f"merge request can plant ({always}); {todo}"
            )
        if self.special is not None and self.inside:
            return f"{name} is a {self.special} inside the scanned tree {root} ({always}); {todo}"
        if self.inside and kind not in allowed:
            return (
                f"{name} is inside the scanned tree {root}, which the merge request controls; "
                f"{todo}, or allow it with `allow_in_tree: [{kind}]` in the policy"
            )
        return None


@dataclass(frozen=True)
class OwnOutputs:
    """The gate's own files of this run that sit inside the scanned tree (allowed there)."""

    files: frozenset[str] = frozenset()
    folders: tuple[str, ...] = ()

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return name in self.files or any(name.startswith(f"{d}/") for d in self.folders)


NO_OWN_OUTPUTS = OwnOutputs()


def scan_state(
    db_file: Path | None, reports: Iterable[tuple[str, Path]], caches: Iterable[Path]
) -> list[StatePath]:
    """A scan's state paths: the SQLite file and its siblings (None: not a file, e.g.
    PostgreSQL), every report (format, path) and every cache folder."""
    states: list[StatePath] = []
    if db_file is not None:
        states.append(StatePath("database", db_file, "database"))
        # SQLite keeps its -wal/-shm beside the file a link resolves to; our lock may sit
        # beside the name as given: both places are the database's
        real = Path(os.path.realpath(db_file.expanduser()))
        for base in dict.fromkeys([db_file, real]):
            states.extend(
                StatePath(
                    "database", Path(f"{base}{suffix}"), f"database {label} file", part_of=db_file
                )
                for suffix, label in SQLITE_SIBLINGS.items()
            )
    states.extend(StatePath("cache", folder, "cache folder", folder=True) for folder in caches)
    states.extend(
        StatePath("reports", path, f"report ({fmt})", follows_links=False) for fmt, path in reports
    )
    return states


def guard_scan(
    root: Path,
    db: str | None,
    reports: Iterable[tuple[str, Path]],
    allowed: Collection[str],
    advisories: bool = False,
) -> OwnOutputs:
    """`compliance scan`'s check, before anything is opened or written: the database
    (`--db`, $COMPLIANCE_DB or the default file), the result cache, the advisory index
    cache when `advisories` are audited, and every report path."""
    from compliance.cache import default_directory
    from compliance.paths import advisory_cache_directory, tools_directory
    from compliance.store.engine import sqlite_file

    # the tools folder holds the bandit venvs per Python: code the gate runs
    caches = [folder for folder in (default_directory(), tools_directory()) if folder]
    if advisories:
        caches.append(advisory_cache_directory())
    return guard_state(root, scan_state(sqlite_file(db), reports, caches), allowed)


def guard_state(root: Path, states: Sequence[StatePath], allowed: Collection[str]) -> OwnOutputs:
    """Refuse (ConfigError, one line per path) any state path the tree could control; return
    the allowed ones inside the tree, which the scan must not judge."""
    real_root = Path(os.path.realpath(root))
    placements = place(real_root, states)
    problems: dict[tuple[str, Path], str] = {}  # one line per database, cache or report
    for placement in placements:
        state = placement.state
        problem = placement.refusal(real_root, allowed)
        if problem is not None:
            problems.setdefault((state.kind, state.part_of or state.path), problem)
    if problems:
        raise ConfigError(list(problems.values()))
    inside = [pl for pl in placements if pl.inside and pl.relative is not None]
    return OwnOutputs(
        files=frozenset(pl.relative for pl in inside if not pl.state.folder and pl.relative),
        folders=tuple(pl.relative for pl in inside if pl.state.folder and pl.relative),
    )


def drop_own_outputs(files: Iterable[str], own: OwnOutputs) -> list[str]:
    return [name for name in files if name not in own]


def place(real_root: Path, states: Sequence[StatePath]) -> list[Placement]:
    """Where each state path really is, relative to the (resolved) scanned root."""
    checkout = _checkout_of(real_root)
    guarded = [real_root] + ([checkout] if checkout is not None else [])
    walked = [(state, *_walk(state.path, state.follows_links)) for state in states]
    tracked = _tracked(checkout, [location for _, location, _, _ in walked])
    placements = []
    for state, location, links, final_link in walked:
        inside = location.is_relative_to(real_root)
        planted = next((link for link in links if _within(link, guarded)), None)
        placements.append(
            Placement(
                state=state,
                location=location,
                inside=inside,
                relative=location.relative_to(real_root).as_posix() if inside else None,
                tracked=location in tracked,
                planted_link=planted,
                link_is_final=planted is not None and planted == final_link,
                special=_special(location, state.folder),
            )
        )
    return placements


def _walk(path: Path, follow_final: bool) -> tuple[Path, list[Path], Path | None]:
    """Resolve `path` one component and one link at a time, as the kernel does: where it
    ends, where each symlink crossed sits (its folder resolved; a link's target is walked
    too, so a link outside the tree to a link planted inside is seen), and the path's own
    last component if that is a link. That one is followed only when `follow_final`."""
    absolute = path.expanduser()
    if not absolute.is_absolute():
        absolute = Path.cwd() / absolute
    current = Path(absolute.anchor)
    pending = list(absolute.parts[1:])
    links: list[Path] = []
    final_link = None
    while pending:
        part = pending.pop(0)
        if part == "..":
            current = current.parent
            continue
        candidate = current / part
        if not candidate.is_symlink():
            current = candidate
            continue
        links.append(candidate)
        if not pending and final_link is None:
            final_link = candidate
            if not follow_final:
                return candidate, links, final_link
        if len(links) > MAX_LINKS:
            raise ConfigError([f"{path}: too many levels of symbolic links; pass another path"])
        target = Path(os.readlink(candidate))
        if target.is_absolute():
            current = Path(target.anchor)
            pending[:0] = target.parts[1:]
        else:
            pending[:0] = target.parts
    return current, links, final_link


def _within(path: Path, folders: Sequence[Path]) -> bool:
    return any(path != folder and path.is_relative_to(folder) for folder in folders)


def _special(location: Path, folder: bool) -> str | None:
    """What the path is when it exists and is not a regular file (a folder, for `folder`)."""
    try:
        mode = os.lstat(location).st_mode
    except OSError:
        return None
    if stat.S_ISLNK(mode) or (stat.S_ISDIR(mode) if folder else stat.S_ISREG(mode)):
        return None
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "regular file" if folder else "special file"


def _git(cwd: Path, *args: str) -> str | None:
    return git_output(cwd, "--literal-pathspecs", *args)


def _checkout_of(real_root: Path) -> Path | None:
    """The git work tree holding the scanned root (all of it is the merge request's). When
    git will not say (not installed, another user's checkout) but a `.git` is there, that
    folder still counts: asking git which paths it tracks then fails, closed."""
    top = _git(real_root, "rev-parse", "--show-toplevel")
    if top is not None and top.strip():
        return Path(os.path.realpath(top.strip()))
    folders = (real_root, *real_root.parents)
    return next((d for d in folders if (d / ".git").exists()), None)


def _tracked(checkout: Path | None, locations: Sequence[Path]) -> set[Path]:
    """Which locations git tracks in the checkout (a folder: anything under it), in one
    `git ls-files` call. When git cannot answer, nothing is assumed: the scan stops."""
    if checkout is None:
        return set()
    candidates = {
        loc: loc.relative_to(checkout).as_posix()
        for loc in locations
        if loc != checkout and loc.is_relative_to(checkout)
    }
    if not candidates:
        return set()
    out = _git(checkout, "ls-files", "-z", "--", *candidates.values())
    if out is None:
        raise ConfigError(
            [
                f"cannot ask git which files are tracked in {checkout}, so the gate cannot "
                "tell whether its database, cache or reports there were planted; check that "
                f"`git -C {checkout} status` works (installed, safe.directory), or put them "
                "outside the checkout"
            ]
        )
    listed = [name for name in out.split("\0") if name]
    return {
        loc
        for loc, rel in candidates.items()
        if any(name == rel or name.startswith(f"{rel}/") for name in listed)
    }
