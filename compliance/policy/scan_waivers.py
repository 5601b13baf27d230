"""The waivers a code scan may use: the pipeline's, as written, and the repository's, governed.

The policy's waiver file (`waivers:`, beside the policy) belongs to whoever owns the
pipeline and is trusted as written. The repository's (`repository_waivers:`, by default
`.compliance/waivers.yml` at the root of the scanned tree) arrives with the merge request the
gate is judging, so nothing in it is taken on trust: each waiver must pass
`waiver_rules.governance_problems`, and one that does not is left out and reported as a
problem naming file:line (the scan turns it into an error of class `waivers`, exit 2). The
same holds for a policy waiver file that lies inside the scanned tree. A problem with the
file itself (a link leaving the tree, not a regular file, too large, broken YAML) rejects
the whole file the same way: a verdict can never pass because of a waiver that was refused.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from compliance.policy.loader import LoadedPolicy
from compliance.policy.waiver_rules import governance_problems
from compliance.policy.waivers import WaiverEntry, load_waivers
from compliance.policy.yaml_source import ConfigError

MAX_REPOSITORY_WAIVER_BYTES = 1 << 20
"""A waiver file is a few kilobytes; a larger one in the tree is not read."""


@dataclass(frozen=True)
class ScanWaivers:
    entries: list[WaiverEntry] = field(default_factory=list)
    """The waivers that apply: the trusted ones, then the governed ones that passed."""
    rejected: list[str] = field(default_factory=list)
    """'file:line: why', one per waiver (or file) that was refused."""


def repository_waivers_path(loaded: LoadedPolicy, root: Path) -> Path | None:
    """Where the scanned tree keeps its waivers (not resolved: it may be a planted link)."""
    relative = loaded.policy.repository_waivers
    return None if not relative else root / relative


def read_scan_waivers(loaded: LoadedPolicy, root: Path, today: date) -> ScanWaivers:
    """Both waiver files of a scan of `root`. A broken trusted file raises ConfigError."""
    root = root.resolve()
    trusted = loaded.waivers_path
    governed: list[Path] = []
    entries: list[WaiverEntry] = []
    if trusted is not None and trusted.is_relative_to(root):
        governed.append(trusted)  # the tree could have written it: treat it as the tree's
    elif trusted is not None:
        entries.extend(load_waivers(trusted))
    repository = repository_waivers_path(loaded, root)
    present = repository is not None and (repository.exists() or repository.is_symlink())
    if repository is not None and present and repository.resolve() not in governed:
        governed.append(repository)
    rejected: list[str] = []
    max_days = loaded.policy.waivers_max_days
    for path in governed:
        try:
            found = _read_governed(path, root)
        except ConfigError as exc:
            rejected.extend(f"{p} (none of this file's waivers apply)" for p in exc.problems)
            continue
        for entry in found:
            problems = governance_problems(entry.waiver, max_days=max_days, today=today)
            if problems:
                rejected.append(f"{entry.source}: waiver not applied: {'; '.join(problems)}")
            else:
                entries.append(entry)
    return ScanWaivers(entries, rejected)


def _read_governed(path: Path, root: Path) -> list[WaiverEntry]:
    """Read a waiver file from the hostile tree without following it out of the tree or
    blocking on it (a FIFO), and without reading a huge file into memory."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise ConfigError([f"{path}: waiver file is a link that leaves the scanned tree"])
    try:
        info = resolved.stat()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read waiver file: {exc.strerror}"]) from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError([f"{path}: waiver file is not a regular file"])
    if info.st_size > MAX_REPOSITORY_WAIVER_BYTES:
        raise ConfigError(
            [f"{path}: waiver file is {info.st_size} bytes, more than a waiver file holds"]
        )
    return load_waivers(resolved)
