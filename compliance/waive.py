"""`compliance waive`: a governed exception, written where the repository reviews it.

A waiver is only worth the review it gets, so this command refuses what a reviewer could
not check or should not accept:

- it waives something real: the fingerprint (or a printed prefix of it, expanded when it is
  unique) or the rule (on the path glob) must match a finding in the store;
- it ends: the expiry is not in the past and at most the policy's `waivers_max_days` away;
- two people: the approver is not the requester when the requester is known (`--requested-by`,
  else GitLab's `$GITLAB_USER_LOGIN`, else git's `user.email`/`user.name`), and the waiver
  records `created` and `requested_by` so the gate can hold it to the same rules later;
- it lands in the repository (`.compliance/waivers.yml` at the root of the tree the gate
  scans, see `repository_waivers`) or in a file named with --file, never in the installed
  package, where an upgrade would drop it and every repository would share it.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from compliance.globs import matches
from compliance.paths import PACKAGE_DIR
from compliance.policy import ConfigError, LoadedPolicy, Waiver, append_waiver
from compliance.policy.waiver_rules import new_waiver_problems
from compliance.store import Store

CANDIDATES_SHOWN = 10


@dataclass(frozen=True)
class WaiveRequest:
    fingerprint: str | None
    rule: str | None
    path_glob: str | None
    reason: str
    approver: str
    expires: date
    scope: str | None = None
    waiver_file: Path | None = None
    repo: Path | None = None
    """The scanned tree whose waiver file to append to; None: cwd's git top level, or cwd."""
    requested_by: str | None = None
    today: date | None = None


@dataclass(frozen=True)
class Requester:
    name: str | None
    """What is recorded as `requested_by`."""
    names: frozenset[str]
    """Every name the requester is known by here (an approver may be none of them)."""


@dataclass(frozen=True)
class WaiveResult:
    path: Path
    waiver: Waiver


def add_waiver(request: WaiveRequest, loaded: LoadedPolicy, store: Store) -> WaiveResult:
    """Check the request against the store and the policy, then append it; ConfigError
    (one line per problem) when anything is refused, with nothing written."""
    today = request.today or date.today()
    repo = request.repo.resolve() if request.repo is not None else default_repo(Path.cwd())
    destination = waiver_destination(loaded, request.waiver_file, repo)
    fingerprint = None
    if request.fingerprint is not None:
        fingerprint = expand_fingerprint(store, request.fingerprint, request.scope)
    if request.rule is not None:
        check_rule_known(store, request.rule, request.path_glob, request.scope)
    requester = identify_requester(request.requested_by, repo)
    try:
        waiver = Waiver(
            fingerprint=fingerprint,
            rule=request.rule,
            path=request.path_glob,
            reason=request.reason,
            approver=request.approver,
            expires=request.expires,
            scope=request.scope,
            created=today,
            requested_by=requester.name,
        )
    except ValueError as exc:
        raise ConfigError([f"waive: {_first_error(exc)}"]) from None
    problems = new_waiver_problems(
        waiver, max_days=loaded.policy.waivers_max_days, today=today, requester=requester.names
    )
    if problems:
        raise ConfigError([f"waive: refused: {p}" for p in problems])
    append_waiver(destination, waiver)
    return WaiveResult(destination, waiver)


def default_repo(cwd: Path) -> Path:
    """The git top level of `cwd` when it is inside a work tree, else `cwd` itself."""
    top = _git(cwd, "rev-parse", "--show-toplevel")
    return Path(top).resolve() if top else cwd.resolve()


def waiver_destination(loaded: LoadedPolicy, waiver_file: Path | None, repo: Path) -> Path:
    """The file to append to: --file, else the repository's waiver file under `repo`."""
    if waiver_file is not None:
        path = waiver_file if waiver_file.is_absolute() else Path.cwd() / waiver_file
    else:
        relative = loaded.policy.repository_waivers
        if not relative:
            raise ConfigError(
                [
                    f"{loaded.path}: repository_waivers is null, so the gate reads no "
                    "repository waiver file; pass --file FILE"
                ]
            )
        path = repo / relative
        if not path.resolve().is_relative_to(repo):
            raise ConfigError([f"{path}: resolves outside {repo}; refusing to write there"])
    if path.is_symlink():
        raise ConfigError(
            [f"{path}: is a symbolic link; refusing to write through it (pass the real file)"]
        )
    if path.resolve().is_relative_to(PACKAGE_DIR):
        raise ConfigError(
            [
                f"{path}: is inside the installed compliance package ({PACKAGE_DIR}); waivers "
                "are never written there (an upgrade drops them, every repository shares "
                "them): run in the repository, or pass --repo DIR or --file FILE"
            ]
        )
    return path


def expand_fingerprint(store: Store, prefix: str, scope: str | None) -> str:
    """The one stored fingerprint starting with `prefix`; ConfigError naming the candidates
    when there are several, or saying what to do when there is none."""
    prefix = prefix.strip().rstrip("…").rstrip(".").lower()
    if not prefix:
        raise ConfigError(["waive: the fingerprint is empty"])
    found = store.fingerprints_starting(prefix, scope, limit=CANDIDATES_SHOWN + 1)
    where = f" in scans of {scope!r}" if scope else ""
    if not found:
        raise ConfigError(
            [
                f"waive: no stored finding has a fingerprint starting with {prefix!r}{where}; "
                "copy it from `compliance findings` (same --db as the scan)"
            ]
        )
    if len(found) > 1:
        shown = ", ".join(found[:CANDIDATES_SHOWN]) + (
            " …" if len(found) > CANDIDATES_SHOWN else ""
        )
        raise ConfigError(
            [f"waive: fingerprint prefix {prefix!r} is ambiguous{where}; candidates: {shown}"]
        )
    return found[0]


def check_rule_known(store: Store, rule: str, path_glob: str | None, scope: str | None) -> None:
    """A rule waiver must match a stored finding of that rule (on the glob when given)."""
    paths = store.rule_paths(rule, scope)
    where = f" in scans of {scope!r}" if scope else ""
    if not paths:
        raise ConfigError(
            [
                f"waive: no stored finding of rule {rule!r}{where}; check the rule id in "
                "`compliance findings` (same --db as the scan)"
            ]
        )
    if path_glob is not None and not any(p is not None and matches(path_glob, p) for p in paths):
        raise ConfigError(
            [f"waive: no stored finding of rule {rule!r} has a path matching {path_glob!r}{where}"]
        )


def identify_requester(explicit: str | None, repo: Path) -> Requester:
    """Who asks: --requested-by, else the GitLab user of the pipeline, else git's user."""
    if explicit and explicit.strip():
        return Requester(explicit.strip(), frozenset({explicit.strip()}))
    login = os.environ.get("GITLAB_USER_LOGIN", "").strip()
    if login:
        extra = (os.environ.get(k, "").strip() for k in ("GITLAB_USER_EMAIL", "GITLAB_USER_NAME"))
        return Requester(login, frozenset({login, *(e for e in extra if e)}))
    email = (_git(repo, "config", "user.email") or "").strip()
    name = (_git(repo, "config", "user.name") or "").strip()
    known = frozenset(n for n in (email, name) if n)
    return Requester(email or name or None, known)


def _git(cwd: Path, *args: str) -> str | None:
    try:
        run = subprocess.run(
            ["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return run.stdout.strip() or None if run.returncode == 0 else None


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        items = errors()
        if items:
            item = items[0]
            field = ".".join(str(part) for part in item.get("loc", ()))
            return f"{field + ': ' if field else ''}{item.get('msg', exc)}"
    return str(exc).splitlines()[0]
