"""A policy kept in the repository is read as it was at the merge base in merge requests.

The gate trusts the policy the pipeline gives it. When that policy is a file inside the
repository being judged (`--policy ci/policy.yml`, a common GitLab set-up), a merge request
can rewrite it, together with its waiver file and rule packs, and be judged by its own
rules: `fail_on: critical`, an empty rule folder, a waiver for its own finding. So in
diff-aware mode (a baseline commit is given) the policy and every file it points to inside
the repository are read from the baseline commit instead of the work tree. A change to the
policy takes effect once it is merged, as with GitLab's own security policies; the summary
says so whenever the merge request changes it.

A policy outside the repository (the shipped one, a file from a CI variable) is used as is.
A policy that does not exist at the baseline commit (the merge request adds it) is not
trusted either: the shipped default judges the merge request instead, and the summary says
that.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from compliance.git import git_output
from compliance.paths import shipped_policy
from compliance.policy.yaml_source import ConfigError

GIT_TIMEOUT = 120


@dataclass(frozen=True)
class PinnedPolicy:
    path: Path | None  # None: the shipped default
    note: str | None  # what the summary says about where the policy came from


@contextmanager
def policy_for_scan(
    policy: Path | None, root: Path, baseline: str | None
) -> Iterator[PinnedPolicy]:
    """The policy file to judge this scan by, valid while the context is open."""
    if policy is None or baseline is None or baseline.isdigit():
        yield PinnedPolicy(policy, None)
        return
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None:
        yield PinnedPolicy(policy, None)
        return
    repo = Path(top.strip()).resolve()
    try:
        relative = policy.resolve().relative_to(repo)
    except (ValueError, OSError):
        yield PinnedPolicy(policy, None)  # outside the repository: the pipeline's own file
        return
    commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{baseline}^{{commit}}")
    if commit is None:
        yield PinnedPolicy(policy, None)  # the baseline itself fails later, with its hint
        return
    commit = commit.strip()
    rel = PurePosixPath(relative.as_posix())
    base_text = _show(repo, commit, rel)
    if base_text is None:
        yield PinnedPolicy(
            shipped_policy("default.yml"),
            f"policy {rel} is new in this change (absent at {commit[:12]}): judged with the "
            "shipped default policy; the new policy applies once merged",
        )
        return
    with tempfile.TemporaryDirectory(prefix="compliance-policy-") as tmp:
        mirror = Path(tmp)
        paths = [rel, *_referenced(base_text, rel)]
        changed = [p for p in paths if _differs(repo, commit, p)]
        for path in paths:
            _materialise(repo, commit, path, mirror)
        note = None
        if changed:
            names = ", ".join(str(p) for p in changed)
            note = (
                f"this change edits the policy ({names}): judged with the policy as of "
                f"{commit[:12]}; the edit applies once merged"
            )
        yield PinnedPolicy(mirror / rel, note)


def _referenced(text: bytes, policy: PurePosixPath) -> list[PurePosixPath]:
    """Repository paths the policy points to (waivers, rule packs), normalised; paths that
    leave the repository are not the merge request's to change and stay as they are."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return []  # load_policy reports it with file:line
    if not isinstance(data, dict):
        return []
    names: list[str] = []
    waivers = data.get("waivers", "waivers.yml")
    if isinstance(waivers, str):
        names.append(waivers)
    per_scanner = data.get("per_scanner")
    if isinstance(per_scanner, dict):
        for settings in per_scanner.values():
            rules = settings.get("rules") if isinstance(settings, dict) else None
            if isinstance(rules, list):
                names.extend(r for r in rules if isinstance(r, str))
    found = []
    for name in names:
        joined = _normalise(policy.parent / name)
        if joined is not None:
            found.append(joined)
    return found


def _normalise(path: PurePosixPath) -> PurePosixPath | None:
    parts: list[str] = []
    for part in path.parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(part)
    return PurePosixPath(*parts) if parts else None


def _materialise(repo: Path, commit: str, path: PurePosixPath, mirror: Path) -> None:
    """Write the file, or every file of the folder, as committed, under the mirror."""
    listing = _git(repo, "ls-tree", "-r", "-z", "--full-tree", commit, "--", str(path))
    for entry in (listing or "").split("\0"):
        if not entry:
            continue
        meta, _, name = entry.partition("\t")
        if meta.split()[1:2] != ["blob"]:
            continue
        content = _show(repo, commit, PurePosixPath(name))
        if content is None:
            continue
        target = mirror / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _differs(repo: Path, commit: str, path: PurePosixPath) -> bool:
    """Whether the work tree's file or folder differs from the commit's (tracked changes,
    deletions and new untracked files alike)."""
    diff = subprocess.run(
        ["git", "-C", str(repo), "diff", "--quiet", commit, "--", str(path)],
        capture_output=True,
        timeout=GIT_TIMEOUT,
        check=False,
    )
    if diff.returncode != 0:
        return True
    untracked = _git(repo, "ls-files", "--others", "--exclude-standard", "--", str(path))
    return bool(untracked and untracked.strip())


def _show(repo: Path, commit: str, path: PurePosixPath) -> bytes | None:
    try:
        run = subprocess.run(
            ["git", "-C", str(repo), "show", f"{commit}:{path}"],
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError([f"{path}: cannot read it at {commit[:12]}: {exc}"]) from None
    return run.stdout if run.returncode == 0 else None


def _git(root: Path, *args: str) -> str | None:
    return git_output(root, *args, timeout=GIT_TIMEOUT)
