"""The `wazuh_sca` check kind: every check of a Wazuh policy shares one section per host.

All checks of one policy return the SAME section (the policy's whole collection script),
so the batch runs it once per host however many checks there are; each check then reads
its verdict from the parsed output, which is parsed once per host and cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from pydantic import ConfigDict

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.interface import CheckKind, CheckStatus, Params, Verdict
from compliance.hosts.wazuh.collect import Collected, Plan, parse
from compliance.hosts.wazuh.evaluate import Aggregate, Gap, Result, aggregate
from compliance.hosts.wazuh.rules import Rule

_STATUS = {
    Result.FOUND: CheckStatus.PASS,
    Result.NOT_FOUND: CheckStatus.FAIL,
    Result.INVALID: CheckStatus.NOT_APPLICABLE,
    Result.NOT_RUN: CheckStatus.ERROR,
}
_CACHE_SIZE = 64
"""Parsed outputs kept (one per host being judged); an evicted one is parsed again."""


@dataclass(frozen=True)
class RuleSet:
    """A check or the policy's requirements: a condition over rules."""

    id: str
    title: str
    condition: str
    rules: tuple[Rule, ...]
    unsupported: tuple[str, ...] = ()
    """file:line problems that keep this check from running as the agent would run it:
    the check is an error on every host (exit 2 unless `hosts.check` is downgraded), the
    rest of the policy runs."""

    def expected(self) -> str:
        if self.unsupported:
            return "cannot be evaluated: " + "; ".join(self.unsupported)
        return f"{self.condition} of: " + " ; ".join(r.text for r in self.rules)


class Program:
    """One loaded Wazuh policy, ready to run: its checks and its collection plan.

    A plain class (not a dataclass) on purpose: pydantic would otherwise inspect its
    fields when it is used as a check parameter.
    """

    def __init__(
        self,
        policy_id: str,
        requirements: RuleSet | None,
        checks: tuple[RuleSet, ...],
        plan: Plan,
    ) -> None:
        self.policy_id = policy_id
        self.requirements = requirements
        self.checks = checks
        self.plan = plan
        self._cache: OrderedDict[int, tuple[SectionResult, Collected, Aggregate | Gap | None]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def read(self, result: SectionResult) -> tuple[Collected, Aggregate | Gap | None]:
        """Parse a host's output once (and judge the requirements once) for all checks."""
        with self._lock:
            hit = self._cache.get(id(result))
            if hit is not None and hit[0] is result:
                return hit[1], hit[2]
        data = parse(self.plan, result.output, result.problem)
        required: Aggregate | Gap | None = None
        if self.requirements is not None:
            try:
                required = aggregate(self.requirements.condition, self.requirements.rules, data)
            except Gap as exc:
                required = exc
        with self._lock:
            self._cache[id(result)] = (result, data, required)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return data, required

    def verdict(self, index: int, result: SectionResult) -> Verdict:
        check = self.checks[index]
        expected = check.expected()
        if check.unsupported:
            return Verdict(CheckStatus.ERROR, "", expected, "; ".join(check.unsupported))
        data, required = self.read(result)
        if isinstance(required, Gap):
            return Verdict(CheckStatus.ERROR, "", expected, f"policy requirements: {required}")
        if required is not None and required.result is not Result.FOUND:
            assert self.requirements is not None
            why = _evidence(required)
            if required.result is Result.NOT_RUN:
                return Verdict(CheckStatus.ERROR, why, expected, f"policy requirements: {why}")
            return Verdict(
                CheckStatus.NOT_APPLICABLE,
                f"policy requirements not met ({self.requirements.title}): {why}",
                expected,
                "policy requirements not met",
            )
        try:
            outcome = aggregate(check.condition, check.rules, data)
        except Gap as exc:
            return Verdict(CheckStatus.ERROR, "", expected, f"not collected: {exc}")
        status = _STATUS[outcome.result]
        observed = _evidence(outcome)
        reason = ""
        if outcome.result is Result.NOT_RUN:
            reason = f"not run: {outcome.deciding.evidence if outcome.deciding else ''}"
        elif outcome.result is Result.INVALID and outcome.deciding is not None:
            reason = outcome.deciding.evidence
        return Verdict(status, observed, expected, reason)


def _evidence(outcome: Aggregate) -> str:
    if outcome.deciding is not None:
        return f"{outcome.deciding.evidence}\nrule: {outcome.deciding.rule.text}"
    return "\n".join(f"{o.evidence} [{o.result.value}: {o.rule.text}]" for o in outcome.outcomes)


class WazuhParams(Params):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    program: Program
    index: int


class WazuhSca(CheckKind[WazuhParams]):
    name = "wazuh_sca"
    params = WazuhParams

    def section(self, params: WazuhParams, budget: float) -> Section:
        return params.program.plan.section

    def evaluate(self, params: WazuhParams, result: SectionResult) -> Verdict:
        return params.program.verdict(params.index, result)
