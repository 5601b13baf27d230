"""The shipped pre-commit hook, run by the real pre-commit on the first commit of a fresh
repository (no HEAD yet): a clean tree commits, a violating one is refused.

pre-commit would install a `language: python` hook by pip-installing this project from
PyPI-style sources, which needs the network; so the hook runs as a local `language: system`
hook with the entry and settings read from the shipped .pre-commit-hooks.yaml, with our
interpreter's `compliance` on PATH. Everything else (pre-commit, git, the gate) is real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import git, write_tree

ROOT = Path(__file__).resolve().parents[1]


def _pre_commit() -> str:
    found = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("pre-commit is a test dependency (pyproject [test])")
    return found


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    hook = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0]
    local = {k: hook[k] for k in ("id", "name", "entry", "pass_filenames", "always_run")}
    config = {"repos": [{"repo": "local", "hooks": [{**local, "language": "system"}]}]}
    repo = write_tree(tmp_path / "repo", {**files, ".pre-commit-config.yaml": yaml.dump(config)})
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "dev")
    return repo


def _env(tmp_path: Path) -> dict[str, str]:
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPLIANCE_", "GIT_"))}
    return {
        **env,
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache"),
        "PYTHONPATH": str(ROOT),
    }


def _first_commit(tmp_path: Path, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    repo = _repo(tmp_path, files)
    env = _env(tmp_path)
    subprocess.run([_pre_commit(), "install"], cwd=repo, env=env, check=True, capture_output=True)
    git(repo, "add", "-A")
    assert (
        subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"],
            cwd=repo,
            capture_output=True,
            check=False,
        ).returncode
        != 0
    )  # no HEAD yet
    return subprocess.run(
        ["git", "commit", "-m", "first"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_first_commit_of_a_clean_tree_passes(tmp_path: Path) -> None:
    commit = _first_commit(tmp_path, {"app.py": "print('hello')\n"})
    assert commit.returncode == 0, commit.stdout + commit.stderr
    assert "Passed" in commit.stdout + commit.stderr
    assert not (tmp_path / "repo" / "reports").exists()  # report and db outside the tree


def test_first_commit_with_a_blocking_finding_is_refused(tmp_path: Path) -> None:
    commit = _first_commit(
        tmp_path, {"app.py": "import hashlib\nprint(hashlib.md5(b'x').hexdigest())\n"}
    )
    out = commit.stdout + commit.stderr
    assert commit.returncode != 0, out
    assert "Failed" in out and "verdict: FAIL (exit 1)" in out
