"""Diff-aware gating: which findings already existed before this change.

A baseline is a stored scan (by id) or a git ref. For a ref we reuse a complete stored
scan of the same target at that commit; failing that, we check the ref out in a temporary
worktree and scan it with the same policy. An incomplete scan is never a baseline: it
could make a new finding look old.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from compliance.scanners.interface import ScannerResult
from compliance.store import Store, StoreError

ScanTree = Callable[[Path], Sequence[ScannerResult]]


class BaselineError(Exception):
    def __init__(self, reason: str, hint: str = ""):
        super().__init__(reason)
        self.hint = hint


def resolve_baseline(
    ref: str, root: Path, target: str, store: Store, scan_tree: ScanTree
) -> frozenset[str]:
    if ref.isdigit():
        return _from_stored_scan(store, int(ref))
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit is None:
        raise BaselineError(
            f"baseline {ref!r} is neither a scan id nor a commit in {root}",
            hint="in shallow CI clones fetch it first (GIT_DEPTH: 0, or git fetch origin REF)",
        )
    stored = store.complete_scan_at(target, commit)
    if stored is not None:
        return store.fingerprints(stored)
    return _scan_worktree(root, commit, scan_tree)


def _from_stored_scan(store: Store, scan_id: int) -> frozenset[str]:
    try:
        scan = store.resolve_scan(str(scan_id))
    except StoreError as exc:
        raise BaselineError(str(exc)) from None
    if scan.status != "complete" or scan.id is None:
        raise BaselineError(
            f"scan {scan_id} is {scan.status}, not complete, and cannot serve as a baseline",
            hint="pick a complete scan from `compliance scans`",
        )
    return store.fingerprints(scan.id)


def _scan_worktree(root: Path, commit: str, scan_tree: ScanTree) -> frozenset[str]:
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None:
        raise BaselineError(f"{root} is not in a git work tree; pass a scan id as --baseline")
    inner = root.resolve().relative_to(Path(top).resolve())
    with tempfile.TemporaryDirectory(prefix="compliance-baseline-") as tmp:
        checkout = Path(tmp) / "tree"
        if _git(Path(top), "worktree", "add", "--detach", "--quiet", str(checkout), commit) is None:
            raise BaselineError(f"could not check out baseline commit {commit[:12]}")
        try:
            results = scan_tree(checkout / inner)
        finally:
            _git(Path(top), "worktree", "remove", "--force", str(checkout))
    failed = [e.one_line() for r in results for e in r.errors]
    if failed:
        raise BaselineError(f"scanning baseline {commit[:12]} failed: {failed[0]}")
    return frozenset(f.fingerprint for r in results for f in r.findings)


def _git(root: Path, *args: str) -> str | None:
    try:
        run = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return run.stdout.strip() if run.returncode == 0 else None
