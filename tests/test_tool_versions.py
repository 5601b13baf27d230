"""A tool's version read from its venv's records instead of a `--version` run, and only
when the records say it for certain."""

from __future__ import annotations

import sys
from pathlib import Path

from compliance.scanners.process import find_tool, run_tool, venv_version


def fake_venv(root: Path, *versions: str) -> str:
    (root / "bin").mkdir(parents=True)
    (root / "pyvenv.cfg").write_text("home = /usr/bin\n")
    site = root / "lib" / "python3.12" / "site-packages"
    for version in versions:
        info = site / f"pip_audit-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: pip-audit\nVersion: {version}\n"
        )
    tool = root / "bin" / "pip-audit"
    tool.write_text("#!/bin/sh\nexit 1\n")
    return str(tool)


def test_the_gate_own_tools_answer_as_their_version_flag_does() -> None:
    for tool, name in (("pip-audit", "pip-audit"), ("bandit", "bandit")):
        path = find_tool(tool)
        run = run_tool([path, "--version"], tool=tool, timeout=60)
        assert venv_version(path, name) is not None
        assert venv_version(path, name) in run.stdout


def test_a_venv_record_is_read_and_doubt_means_asking(tmp_path: Path) -> None:
    assert venv_version(fake_venv(tmp_path / "one", "2.10.1"), "pip-audit") == "2.10.1"
    # two different records for one name: which one the script imports cannot be told
    assert venv_version(fake_venv(tmp_path / "two", "2.10.1", "2.9.0"), "pip-audit") is None
    assert venv_version(fake_venv(tmp_path / "none"), "pip-audit") is None
    plain = tmp_path / "plain" / "bin"
    plain.mkdir(parents=True)  # no pyvenv.cfg: a system install, never guessed
    assert venv_version(str(plain / "pip-audit"), "pip-audit") is None
    assert venv_version(sys.executable, "no-such-distribution") is None
