"""Scanner registry: a new tool is one file in this package and one line here.

Entries name the class (`module:Class`) instead of importing it: every command validates
policies against these names, but only `compliance scan` runs a scanner, and importing all
three adapters (pip-audit's requirement parser, HTTP client, TOML and packaging) cost
~0.3 s of every `audit`, `report` and `findings` start.
"""

from __future__ import annotations

import importlib

from compliance.scanners.interface import Scanner

REGISTRY: dict[str, str] = {
    "bandit": "compliance.scanners.bandit:BanditScanner",
    "pip-audit": "compliance.scanners.pip_audit:PipAuditScanner",
    "semgrep": "compliance.scanners.semgrep:SemgrepScanner",
}


def get_scanner(name: str) -> Scanner:
    module, _, attribute = REGISTRY[name].partition(":")
    scanner_class = getattr(importlib.import_module(module), attribute)
    scanner = scanner_class()
    if not isinstance(scanner, Scanner):
        raise TypeError(f"{REGISTRY[name]} is not a Scanner")
    return scanner
