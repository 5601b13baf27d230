"""Shared test helpers: run the real `compliance` command, build fixture trees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

# Rule: no network but loopback. Any pip-audit run a test did not point at its own mirror
# goes to a closed loopback port and fails closed, instead of reaching api.osv.dev.
os.environ.setdefault("COMPLIANCE_OSV_URL", "http://127.0.0.1:9/v1/query")

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
    """The real command in a subprocess, as a pipeline would call it."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("COMPLIANCE_DB", None)
    proc = subprocess.run(
        [sys.executable, "-m", "compliance", *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


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
