"""Wazuh-style compliance scores: passed / (passed + failed) x 100, per host and policy.

The same formula Wazuh's SCA summary uses (not-applicable, errored and not-run checks do
not count), so a score here can be compared with a Wazuh dashboard's. The gate's
`hosts.min_score` and `hosts.min_framework_score` read these scores, the summary and the
reports print them. Errors never hide behind a score: they make the audit exit 2 on
their own (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from compliance.policy.model import HostGateSettings


class ScoredCheck(Protocol):
    """What a score needs of a stored check result (HostCheckRow, HostCheckRecord)."""

    @property
    def host(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def policy(self) -> str: ...
    @property
    def references(self) -> Iterable[str] | None: ...


@dataclass
class Score:
    passed: int = 0
    failed: int = 0

    @property
    def percent(self) -> float | None:
        """None when no check passed or failed (nothing to score)."""
        judged = self.passed + self.failed
        return None if not judged else 100.0 * self.passed / judged

    def text(self) -> str:
        value = self.percent
        shown = "n/a" if value is None else f"{value:.0f}"
        return f"{shown} ({self.passed} passed, {self.failed} failed)"

    def as_dict(self) -> dict[str, float | int | None]:
        value = self.percent
        return {
            "passed": self.passed,
            "failed": self.failed,
            "score": None if value is None else round(value, 1),
        }

    def add(self, status: str) -> None:
        if status == "pass":
            self.passed += 1
        elif status == "fail":
            self.failed += 1


@dataclass
class Scores:
    hosts: dict[str, Score] = field(default_factory=dict)
    policies: dict[str, dict[str, Score]] = field(default_factory=dict)
    """policy name → host → score."""
    frameworks: dict[str, dict[str, Score]] = field(default_factory=dict)
    """framework (references key) → host → score."""

    def as_dict(self) -> dict[str, object]:
        return {
            "formula": "passed / (passed + failed) x 100",
            "hosts": {h: s.as_dict() for h, s in sorted(self.hosts.items())},
            "policies": {
                p: {h: s.as_dict() for h, s in sorted(by_host.items())}
                for p, by_host in sorted(self.policies.items())
            },
            "frameworks": {
                f: {h: s.as_dict() for h, s in sorted(by_host.items())}
                for f, by_host in sorted(self.frameworks.items())
            },
        }


def framework_of(reference: str) -> str:
    return reference.split(":", 1)[0] if ":" in reference else ""


def scores(checks: Iterable[ScoredCheck]) -> Scores:
    result = Scores()
    for c in checks:
        if c.status not in ("pass", "fail"):
            result.hosts.setdefault(c.host, Score())
            continue
        result.hosts.setdefault(c.host, Score()).add(c.status)
        result.policies.setdefault(c.policy, {}).setdefault(c.host, Score()).add(c.status)
        for name in dict.fromkeys(framework_of(r) for r in c.references or ()):
            if name:
                result.frameworks.setdefault(name, {}).setdefault(c.host, Score()).add(c.status)
    return result


def violations(found: Scores, gate: HostGateSettings) -> list[str]:
    """One blocking reason per host below a minimum score: observed beside expected."""
    problems: list[str] = []
    if gate.min_score is not None:
        for host, score in sorted(found.hosts.items()):
            value = score.percent
            if value is not None and value < gate.min_score:
                problems.append(
                    f"host {host}: score {score.text()}, expected at least "
                    f"{gate.min_score:g} (hosts.min_score)"
                )
    for name, minimum in sorted(gate.min_framework_score.items()):
        for host, score in sorted(found.frameworks.get(name, {}).items()):
            value = score.percent
            if value is not None and value < minimum:
                problems.append(
                    f"host {host}: {name} score {score.text()}, expected at least "
                    f"{minimum:g} (hosts.min_framework_score.{name})"
                )
    return problems
