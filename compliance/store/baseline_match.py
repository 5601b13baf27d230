"""Which stored scan may stand in for a baseline, and why another may not.

A baseline decides which findings are old. A stored scan that saw more than its commit
holds (a dirty tree), another part of the repository (a monorepo job scanning
`services/b` under the same target as `services/a`), or the same code through other rules,
policy or tool versions, would make new findings look old. So a stored scan is a baseline
only when all of these are the same as the scan being judged; anything unknown (scans
stored before this was recorded, trees outside git) counts as different.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from compliance.store.models import ScanRecord


@dataclass(frozen=True)
class BaselineKey:
    """What a stored scan must share with the scan being judged to serve as its baseline."""

    target: str
    scan_root: str | None
    """The scanned root inside the repository (POSIX, '.' for the top); None outside git."""
    policy_digest: str
    scanners: Mapping[str, str] = field(default_factory=dict)
    """Every scanner that ran, with the version it reported (semgrep's includes its rules)."""


def baseline_mismatch(scan: ScanRecord, key: BaselineKey) -> str | None:
    """Why `scan` cannot be this scan's baseline, in words for the terminal; None if it can."""
    if scan.status != "complete":
        return f"it is {scan.status}, not complete"
    if scan.tree_dirty is None:
        return "its tree state is unknown (stored before it was recorded, or not a git tree)"
    if scan.tree_dirty:
        return "it was made from a tree with uncommitted or untracked files"
    if scan.target != key.target:
        return f"it is of target {scan.target!r}, this scan is of {key.target!r}"
    if scan.scan_root is None or key.scan_root is None or scan.scan_root != key.scan_root:
        return f"it scanned root {_root(scan.scan_root)}, this scan is of {_root(key.scan_root)}"
    if scan.policy_digest != key.policy_digest:
        return "it was made with another policy (its digest differs)"
    names = sorted(key.scanners)
    if list(scan.scanners or ()) != names:
        return f"it ran scanners {_names(scan.scanners)}, this scan runs {_names(names)}"
    stored = scan.tool_versions or {}
    for name in names:
        if stored.get(name) != key.scanners[name]:
            return f"it ran {name} {stored.get(name)!r}, this scan runs {key.scanners[name]!r}"
    return None


def _root(root: str | None) -> str:
    return repr(root) if root is not None else "(not a git tree)"


def _names(names: list[str] | None) -> str:
    return ", ".join(names) if names else "(none recorded)"
