"""The scanner registry names classes lazily; each name must still resolve to its scanner."""

from __future__ import annotations

import subprocess
import sys

import pytest

from compliance.scanners import REGISTRY, get_scanner
from compliance.scanners.interface import Scanner


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_entry_resolves_to_the_scanner_of_that_name(name: str) -> None:
    scanner = get_scanner(name)
    assert isinstance(scanner, Scanner)
    assert scanner.name == name


def test_commands_that_run_no_scanner_do_not_import_the_adapters() -> None:
    code = (
        "import sys, compliance.cli, compliance.host_audit\n"
        "print(sorted(m for m in sys.modules if m.startswith('compliance.scanners.')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for adapter in ("bandit", "pip_audit", "semgrep"):
        assert f"compliance.scanners.{adapter}'" not in loaded, loaded
