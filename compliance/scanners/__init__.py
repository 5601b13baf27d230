"""Scanner registry: a new tool is one file in this package and one line here."""

from __future__ import annotations

from compliance.scanners.bandit import BanditScanner
from compliance.scanners.interface import Scanner
from compliance.scanners.pip_audit import PipAuditScanner
from compliance.scanners.semgrep import SemgrepScanner

REGISTRY: dict[str, type[Scanner]] = {
    "bandit": BanditScanner,
    "pip-audit": PipAuditScanner,
    "semgrep": SemgrepScanner,
}


def get_scanner(name: str) -> Scanner:
    return REGISTRY[name]()
