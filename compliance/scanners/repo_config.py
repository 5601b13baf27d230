"""Scanner settings the scanned tree carries, read without trusting them.

A merge request can commit `.bandit`, `[tool.bandit]`, `.semgrepignore` and friends, and
each of them can hide a finding. The policy's `repository_config` decides what happens:
`ignore` (not read), `report` (the default: not applied, the scan lists what they would
have changed) or `apply` (bandit's applied as bandit would, every skipped test and excluded
file listed). This module has the shared pieces: reading a tree file safely (never through
a symlink out of the tree, never more than MAX_BYTES, never a device), escaping values to
one printable line, and semgrep's files, which the gate never applies.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compliance.globs import matcher
from compliance.scanners.interface import RepoSetting

MODES = ("ignore", "report", "apply")
DEFAULT_MODE = "report"
MAX_BYTES = 1_000_000  # a scanner config is a few hundred bytes; more is not one
MAX_VALUE = 200  # characters of a value shown in the summary
MAX_EFFECT = 1000  # characters of what a setting does
MAX_PATTERNS = 500  # of a .semgrepignore evaluated to say what it would exclude


class Unreadable(Exception):
    """A tree file that cannot be read faithfully; the message starts with `file[:line]:`."""


def mode_of(options: Mapping[str, Any]) -> str:
    """The policy's `repository_config`, from a scanner's options (default `report`)."""
    value = options.get("repository_config")
    return str(value) if value in MODES else DEFAULT_MODE


def read_tree_file(root: Path, name: str) -> bytes | None:
    """A file of the tree, or None when there is none. Unreadable when it is a symlink that
    leaves the tree (it could name a private key), not a regular file, or too large."""
    path = root / name
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unreadable(f"{name}: cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        if not inside(root, path):
            raise Unreadable(f"{name}: is a symlink out of the scanned tree; not read")
        try:
            st = os.stat(path)
        except OSError:
            raise Unreadable(f"{name}: is a broken symlink; not read") from None
    if stat.S_ISDIR(st.st_mode):
        return None  # a folder of that name is not a config file
    if not stat.S_ISREG(st.st_mode):
        raise Unreadable(f"{name}: is not a regular file; not read")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for a FIFO meanwhile
                raise Unreadable(f"{name}: is not a regular file; not read")
            data = os.read(fd, MAX_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise Unreadable(f"{name}: cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise Unreadable(f"{name}: is larger than {MAX_BYTES} bytes; not read")
    return data


def tree_path(root: Path, value: str, source: str) -> str:
    """A path a tree setting names (`configfile=`, `baseline=`: relative to the tree root,
    where the scanner runs), as a repo-relative name; Unreadable when it leaves the tree."""
    if not value.strip():
        raise Unreadable(f"{source}: names an empty path")
    candidate = Path(value.strip())
    if candidate.is_absolute() or not inside(root, root / candidate):
        raise Unreadable(f"{source}: points outside the scanned tree ({printable(value)})")
    return (root / candidate).resolve().relative_to(root.resolve()).as_posix()


def inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Unreadable(f"{name}:{line}: is not UTF-8 text") from None


def printable(value: object, limit: int = MAX_VALUE) -> str:
    """One line, no control characters (a value may try to fake a verdict line), bounded."""
    text = str(value)
    if not text.isprintable():
        text = repr(text)[1:-1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def line_of(text: str, key: str, section: str | None = None) -> int | None:
    """Best effort: the first line that sets `key` (after `[section]` when given)."""
    in_section = section is None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("["):
            in_section = section is None or line.strip("[] \t") == section
            continue
        if in_section and line.partition("=")[0].partition(":")[0].strip().strip("\"'") == key:
            return number
    return None


def unreadable_setting(scanner: str, problem: Unreadable, applied: bool = False) -> RepoSetting:
    where, _, reason = str(problem).partition(": ")
    name, _, line = where.partition(":")
    return RepoSetting(
        scanner=scanner,
        file=name,
        line=int(line) if line.isdigit() else None,
        key="(file)",
        value="",
        effect=f"unreadable, not applied: {reason}",
        applied=applied,
    )


SEMGREP_RULE_FILES = (".semgrep.yml", ".semgrep.yaml", ".semgrep")
NOT_APPLIED = "never applied by the gate (semgrep runs only the policy's rules and excludes)"


def semgrep_settings(root: Path, files: Sequence[str], mode: str) -> tuple[RepoSetting, ...]:
    """`.semgrepignore` and `.semgrep.yml`/`.semgrep/` rules in the tree. The gate names
    semgrep's files and rules itself, so semgrep reads none of these (a test proves it with
    the real tool); they are listed so a reviewer sees what the repository asked for."""
    if mode == "ignore":
        return ()
    found: list[RepoSetting] = []
    try:
        data = read_tree_file(root, ".semgrepignore")
    except Unreadable as exc:
        found.append(unreadable_setting("semgrep", exc))
        data = None
    if data is not None:
        lines = data.decode("utf-8", "replace").splitlines()
        patterns = [p.strip() for p in lines if p.strip() and not p.startswith("#")]
        spec = matcher(p for p in patterns[:MAX_PATTERNS] if not p.startswith(":"))
        hidden = tuple(f for f in files if spec.match_file(f))
        found.append(
            RepoSetting(
                scanner="semgrep",
                file=".semgrepignore",
                line=None,
                key="ignore patterns",
                value=printable(", ".join(patterns)),
                effect=f"{NOT_APPLIED}; it would exclude {_count(hidden, 'file')}",
                applied=False,
                files=hidden,
            )
        )
    for name in SEMGREP_RULE_FILES:
        if os.path.lexists(root / name):
            found.append(
                RepoSetting(
                    scanner="semgrep",
                    file=name + ("/" if (root / name).is_dir() else ""),
                    line=None,
                    key="rules",
                    value="",
                    effect=f"{NOT_APPLIED}; these rules do not run",
                    applied=False,
                )
            )
    return tuple(found)


def _count(items: Sequence[str], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"
