"""Shared test helpers: run the real `compliance` command, build fixture trees."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

# The suite behaves the same on a laptop and in a pipeline: the runner's own CI variables
# ($CI, $CI_COMMIT_REF_NAME, $GITLAB_CI...) and any COMPLIANCE_* setting change what the gate
# prints (the CI history note, the branch, the database), so they are dropped here and a test
# that needs one sets it itself.
for _name in list(os.environ):
    if _name in ("CI", "GITLAB_CI") or _name.startswith(("CI_", "GITLAB_", "COMPLIANCE_")):
        del os.environ[_name]

# Rule: no network but loopback. Any pip-audit run a test did not point at its own mirror
# goes to a closed loopback port and fails closed, instead of reaching api.osv.dev.
os.environ.setdefault("COMPLIANCE_OSV_URL", "http://127.0.0.1:9/v1/query")
# bandit runs under the newest Python found, from a venv per interpreter that the gate
# installs on first use (bandit_python.py). Tests give each scan its own cache folder, so the
# venvs get one folder for the whole run (kept between runs): installed once, not per test.
os.environ.setdefault("COMPLIANCE_TOOLS_DIR", str(Path.home() / ".cache" / "compliance-test-tools"))

# The property tests draw the same examples on every run by default, so a landing is never
# refused for an input nobody has seen before; `HYPOTHESIS_PROFILE=explore` draws fresh ones
# (run it when touching a parser, and pin what it finds with @example).
hypothesis_settings.register_profile("repeatable", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(
    *args: str | Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
) -> Run:
    """The real command in a subprocess, as a pipeline would call it.

    With `COMPLIANCE_TEST_WARM_CHECK=1`, every `compliance scan` that uses the result cache
    is run a second time, warm, against a copy of the database as it was before the first
    run, and must give the same exit code, verdict and findings (WarmCheck)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("COMPLIANCE_DB", None)
    argv = [str(a) for a in args]
    check = WarmCheck.prepare(argv, full_env, cwd)
    try:
        run = _run(argv, full_env, cwd, timeout)
        if check is not None:
            check.compare(run, lambda again: _run(again, full_env, cwd, timeout))
    finally:
        if check is not None:
            check.cleanup()
    return run


def _run(argv: list[str], env: dict[str, str], cwd: Path | None, timeout: float) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "compliance", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class WarmCheck:
    """ "A warm scan and a cold scan give the same verdict in every test" as a suite-wide
    guard (opt in: it doubles the time of every scan). The second run is the same command
    (same tree, policy, environment, cache, database path) on the database as it was before
    the first run, so history-dependent statuses and path checks match; its database is
    compared with the first run's, which is then put back for the test. Its reports go where
    the first run's went (same scan id, same findings: what the test reads is what a warm
    scan wrote). Not checked: a database path through a symlink, a report path that is a
    FIFO or device (a second writer would block), a server database. `--notify` is left
    out of the re-run (one alert per test)."""

    argv: list[str]
    original: Path
    scratch: Path
    existed: bool

    @classmethod
    def prepare(cls, argv: list[str], env: dict[str, str], cwd: Path | None) -> WarmCheck | None:
        if os.environ.get("COMPLIANCE_TEST_WARM_CHECK") != "1" or not argv or argv[0] != "scan":
            return None
        cache = env.get("COMPLIANCE_CACHE_DIR")
        if cache is not None and cache.strip().lower() in ("", "off", "0", "false", "no"):
            return None  # no cache, nothing to compare
        if "--db" not in argv[:-1]:
            return None
        url = argv[argv.index("--db") + 1]
        if "://" in url and not url.startswith("sqlite:///"):
            return None
        base = Path(cwd or Path.cwd())
        original = (base / url.removeprefix("sqlite:///")).absolute()
        if original.resolve() != original:
            return None
        for spec in _option_values(argv, "--output"):
            target = base / spec.partition(":")[2] if ":" in spec else None
            if target is not None and target.exists() and not target.is_file():
                return None
        scratch = Path(tempfile.mkdtemp(prefix="compliance-warm-check-"))
        existed = original.exists()
        if existed:
            try:
                with sqlite3.connect(original) as source, sqlite3.connect(scratch / "b") as target:
                    source.backup(target)
            except sqlite3.Error:  # not a database: the test is about that, not the cache
                shutil.rmtree(scratch, ignore_errors=True)
                return None
        return cls(argv, original, scratch, existed)

    def compare(self, first: Run, rerun: Any) -> None:
        first_db = self.scratch / "first"
        first_exists = self.original.exists()
        if first_exists:
            _move_database(self.original, first_db)
        if self.existed:
            shutil.copyfile(self.scratch / "b", self.original)
        try:
            warm: Run = rerun(_without_options(self.argv, ("--notify",)))
            assert warm.code == first.code, (
                f"warm re-run of `compliance {' '.join(self.argv)}` exited {warm.code}, "
                f"the first run {first.code}\n--- first\n{first.stdout}{first.stderr}"
                f"\n--- warm\n{warm.stdout}{warm.stderr}"
            )
            if first_exists:
                assert _stored(self.original) == _stored(first_db), (
                    f"warm re-run of `compliance {' '.join(self.argv)}` stored other findings"
                    f"\n--- first\n{first.stdout}\n--- warm\n{warm.stdout}"
                )
        finally:
            _remove_database(self.original)
            if first_exists:
                _move_database(first_db, self.original)

    def cleanup(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


SQLITE_SIDECARS = ("", "-wal", "-shm", "-journal")


def _move_database(source: Path, target: Path) -> None:
    for suffix in SQLITE_SIDECARS:
        if os.path.lexists(f"{source}{suffix}"):
            shutil.move(f"{source}{suffix}", f"{target}{suffix}")


def _remove_database(path: Path) -> None:
    for suffix in SQLITE_SIDECARS:
        if os.path.lexists(f"{path}{suffix}"):
            os.unlink(f"{path}{suffix}")


def _option_values(argv: list[str], name: str) -> list[str]:
    values = [v for a, v in itertools.pairwise(argv) if a == name]
    return values + [a.removeprefix(name + "=") for a in argv if a.startswith(name + "=")]


def _without_options(argv: list[str], names: tuple[str, ...]) -> list[str]:
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in names:
            skip = True
        elif not any(arg.startswith(name + "=") for name in names):
            kept.append(arg)
    return kept


def _stored(db: Path) -> tuple[Any, ...]:
    """The latest scan's verdict and findings, as the gate decided them."""
    from compliance.store import Store

    store = Store.open(str(db))
    try:
        scans = store.scans(limit=1)
        if not scans:
            return ()
        scan = scans[0]
        rows = sorted(
            (
                f.scanner,
                f.rule_id,
                f.path or "",
                f.start_line or 0,
                f.fingerprint,
                f.status,
                f.blocking,
            )
            for f in store.findings(int(scan.id or 0))
        )
        return (scan.status, scan.verdict, scan.exit_code, len(scan.errors or []), rows)
    finally:
        store.engine.dispose()


def git(root: Path, *args: str) -> str:
    """git in `root` as a test author (no global identity needed); stdout, stripped."""
    return subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def committed_repo(root: Path, files: dict[str, str]) -> Path:
    """A git repository holding `files` (dedented), all committed: a clean tree to scan."""
    write_tree(root, files)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "fixture")
    return root


def bandit_baseline(root: Path, *targets: str, out: str = "bandit-baseline.json") -> Path:
    """A bandit baseline report of `targets`, made by the real bandit as the gate runs it
    (files named on the command line): what a merge request could commit to hide findings."""
    bandit = Path(sys.executable).parent / "bandit"
    subprocess.run(
        [str(bandit), "-f", "json", "-o", out, "-q", *targets],
        cwd=root,
        check=False,
        capture_output=True,
    )
    return root / out


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


SINK_RULES = ("B102", "B301", "B307", "B602", "B605", "B608")


def sinks_block(*more: str) -> str:
    """The `classification:` section blocking SINK_RULES and `more` at high."""
    rules = ", ".join(f"{rule}: high" for rule in (*SINK_RULES, *more))
    return f"classification:\n  rules: {{{rules}}}\n"


SINKS_BLOCK = sinks_block()
"""Policy text for tests whose blocking finding is a bare sink in a plain function
(`subprocess.call(cmd, shell=True)`, `eval(x)`): the weakness table reports such a sink at
medium, because only a taint-confirmed flow from a request blocks. These tests are about
what the tree may hide, waive or forge, not about where the value came from, so their
policies block every sink as a team that judges each one would (`classification:`)."""


WEB_SHELL_APP = (
    "import subprocess\n\nfrom flask import Flask, request\n\napp = Flask(__name__)\n\n\n"
    '@app.route("/run")\ndef run():\n'
    '    subprocess.call(request.args["cmd"], shell=True)\n    return "started"\n'
)
"""A request parameter run by a shell (line 10): bandit's B602 and semgrep's taint rule, one
issue that blocks under the shipped policy."""


def sinks_policy(folder: Path, text: str = "", more: tuple[str, ...] = ()) -> Path:
    """A policy file in `folder` (made) with SINKS_BLOCK and `text`: the shipped defaults
    otherwise, as a policy file that writes only some keys has."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "policy.yml"
    path.write_text(sinks_block(*more) + textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "store.db")


@pytest.fixture
def policy_file(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a policy (YAML text) into its own folder and return its path."""

    def make(text: str, waivers: str | None = None) -> Path:
        folder = tmp_path / "policy"
        folder.mkdir(exist_ok=True)
        path = folder / "policy.yml"
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        if waivers is not None:
            (folder / "waivers.yml").write_text(textwrap.dedent(waivers).lstrip("\n"))
        return path

    return make


@pytest.fixture(scope="session")
def postgres():  # type: ignore[no-untyped-def]
    """One real PostgreSQL server for the session (its own folder: pytest's are root-only)."""
    import shutil
    import tempfile

    from tests.postgres import running_server

    base = Path(tempfile.mkdtemp(prefix="compliance-pg-"))
    try:
        yield from running_server(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same store test on SQLite and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server = request.getfixturevalue("postgres")
    return str(server.new_database())
