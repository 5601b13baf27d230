"""Thresholds no finding can reach: a gate that can never block is a silent pass.

`per_scanner.bandit.fail_on: critical` reads like a strict policy, yet bandit rates nothing
above high, so no bandit finding would ever block. Each scanner states the highest severity
(and confidence) it reports next to its own severity table (`Scanner.max_severity`; semgrep
computes it from the rule pack in use); here we compare every threshold that applies to a
scanner with it. `policy check` and `scan` both refuse such a policy with exit 2.
"""

from __future__ import annotations

from collections.abc import Iterable

from compliance.policy import LoadedPolicy
from compliance.scanners import REGISTRY, get_scanner
from compliance.scanners.interface import ScannerFailure


def unreachable_thresholds(loaded: LoadedPolicy, scanners: Iterable[str]) -> list[str]:
    """One 'file:line: key: message' per threshold a scanner in `scanners` can never reach.

    A scanner's explicit `per_scanner` threshold is named at its own line; one it inherits
    from `gate:` is named at the gate's line. Unknown scanner names are left to the policy
    loader, and a rule pack that does not load to the scan (it reports that itself).
    """
    policy = loaded.policy
    problems: list[str] = []
    for name in dict.fromkeys(scanners):
        if name not in REGISTRY:
            continue
        scanner = get_scanner(name)
        own = policy.scanner(name)
        try:
            highest = scanner.highest_severity(_options(loaded, name))
        except ScannerFailure:
            highest = None
        fail_on = policy.fail_on(name)
        if highest is not None and fail_on > highest:
            key = ("per_scanner", name, "fail_on") if own.fail_on else ("gate", "fail_on")
            problems.append(
                loaded.problem(
                    key,
                    f"fail_on: {fail_on.label} can never block a {name} finding: the highest "
                    f"severity {name} can report with this policy is {highest.label}; use "
                    f"{highest.label} or lower"
                    + ("" if own.fail_on else f" (or set per_scanner.{name}.fail_on)"),
                )
            )
        most_sure = scanner.max_confidence
        min_confidence = policy.min_confidence(name)
        if most_sure is not None and min_confidence > most_sure:
            key = (
                ("per_scanner", name, "min_confidence")
                if own.min_confidence
                else ("gate", "min_confidence")
            )
            problems.append(
                loaded.problem(
                    key,
                    f"min_confidence: {min_confidence.label} can never be met by a {name} "
                    f"finding: the highest confidence {name} reports is {most_sure.label}, so "
                    f"none would block; use {most_sure.label} or lower",
                )
            )
    return problems


def scanners_to_check(loaded: LoadedPolicy) -> list[str]:
    """What `policy check` judges: the scanners the policy runs and those it configures."""
    return list(dict.fromkeys([*loaded.policy.scanners, *loaded.policy.per_scanner]))


def _options(loaded: LoadedPolicy, name: str) -> dict[str, object]:
    """The options the scan gives the scanner that decide its severities (code_scan.py)."""
    policy = loaded.policy
    return {
        "unknown_severity": policy.unknown_severity.label,
        "rules": [str(loaded.path.parent / rule) for rule in policy.scanner(name).rules],
    }
