"""Diff-aware gating: which findings already existed before this change.

A baseline is a stored scan (by id) or a git ref. For a ref we reuse a stored scan at that
commit only if it saw exactly what the commit holds, the way this scan sees it: complete,
from a clean tree, of the same target, root inside the repository, policy and scanners
(`compliance.store.baseline_match`). Failing that, we check the ref out in a temporary
worktree and scan it with the same policy. A scan id given explicitly must meet the same
conditions (except the commit): one that does not is refused, because it could make a new
finding look old.

A baseline also says which of its findings were suppressed inline (`# nosec`,
`# nosemgrep`): a suppression the baseline did not have is new in the change, and the gate
governs it like any other exception.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from compliance.errors import UserError
from compliance.git import git_output
from compliance.scanners.interface import ScannerResult
from compliance.store import Store, StoreError
from compliance.store.baseline_match import BaselineKey, baseline_mismatch

ScanTree = Callable[[Path], Sequence[ScannerResult]]


class BaselineError(UserError):
    def __init__(self, reason: str, hint: str = ""):
        super().__init__(reason, hint)


def check_baseline_usable(ref: str, root: Path) -> None:
    """Before anything is scanned: a git ref as baseline needs `root` inside a git work tree
    (otherwise the whole scan would run only to end in 'could not decide')."""
    if ref.isdigit():
        return
    if _git(root, "rev-parse", "--show-toplevel") is None:
        raise BaselineError(
            f"--baseline {ref}: {root} is not in a git work tree, so a git ref cannot be read",
            hint="pass a scan id from `compliance scans` as --baseline, or --no-baseline",
        )


@dataclass(frozen=True)
class Baseline:
    """What existed before the change: every finding's fingerprint, and those suppressed."""

    fingerprints: frozenset[str]
    suppressed: frozenset[str]
    source: str
    """Which baseline, for the summary: 'scan 12 (stored, at commit …)' or 'commit … (…)'."""
    scan_id: int | None = None
    """The stored scan reused, or None when the baseline was scanned afresh."""
    commit: str | None = None


def resolve_baseline(
    ref: str, root: Path, key: BaselineKey, store: Store, scan_tree: ScanTree
) -> Baseline:
    if ref.isdigit():
        return _from_stored_scan(store, int(ref), key)
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit is None:
        raise BaselineError(
            f"baseline {ref!r} is neither a scan id nor a commit in {root}",
            hint="in shallow CI clones fetch it first (GIT_DEPTH: 0, or git fetch origin REF)",
        )
    stored = store.complete_scan_at(key, commit)
    if stored is not None:
        fingerprints, suppressed = store.baseline_sets(stored)
        return Baseline(
            fingerprints,
            suppressed,
            f"scan {stored} (stored, of commit {commit[:12]})",
            scan_id=stored,
            commit=commit,
        )
    return _scan_worktree(root, commit, scan_tree)


def _from_stored_scan(store: Store, scan_id: int, key: BaselineKey) -> Baseline:
    try:
        scan = store.resolve_scan(str(scan_id))
    except StoreError as exc:
        raise BaselineError(str(exc)) from None
    if scan.status != "complete" or scan.id is None:
        raise BaselineError(
            f"scan {scan_id} is {scan.status}, not complete, and cannot serve as a baseline",
            hint="pick a complete scan from `compliance scans`",
        )
    why_not = baseline_mismatch(scan, key)
    if why_not is not None:
        raise BaselineError(
            f"scan {scan_id} cannot serve as a baseline: {why_not}",
            hint="pass a git ref instead (it is scanned afresh when no stored scan matches), "
            "or a clean scan of the same root with the same policy and scanners",
        )
    fingerprints, suppressed = store.baseline_sets(scan.id)
    where = f", of commit {scan.git_commit[:12]}" if scan.git_commit else ""
    return Baseline(
        fingerprints,
        suppressed,
        f"scan {scan.id} (given{where})",
        scan_id=scan.id,
        commit=scan.git_commit,
    )


def _scan_worktree(root: Path, commit: str, scan_tree: ScanTree) -> Baseline:
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
    found = [f for r in results for f in r.findings]
    return Baseline(
        frozenset(f.fingerprint for f in found),
        frozenset(f.fingerprint for f in found if f.suppressed),
        f"commit {commit[:12]} (scanned afresh in a temporary worktree: no clean stored scan "
        "of this root with this policy and scanners)",
        commit=commit,
    )


def _git(root: Path, *args: str) -> str | None:
    out = git_output(root, *args, timeout=300)  # a worktree checkout of a large repository
    return out.strip() if out is not None else None
