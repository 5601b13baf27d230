"""Audit one host: plan one batch for all checks, run it once, judge each check locally.

Also runs many hosts at once. Each host is independent: a host that is unreachable, hangs
or floods output fails alone, the others finish. Any unexpected exception in our own code
for one host becomes that host's failure (fail closed), never a missing result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from compliance.hosts.batch import Batch, Section, SectionResult
from compliance.hosts.checks import REGISTRY
from compliance.hosts.checks.interface import CheckStatus, Verdict
from compliance.hosts.inventory import Host
from compliance.hosts.policy import HostCheck
from compliance.hosts.remote import run_batch
from compliance.hosts.ssh import Connector, HostFailure


@dataclass(frozen=True)
class CheckResult:
    check: HostCheck
    verdict: Verdict


@dataclass(frozen=True)
class HostReport:
    host: Host
    results: tuple[CheckResult, ...] = ()
    failure: HostFailure | None = None
    seconds: float = 0.0
    batch_problem: str = ""

    def count(self, status: CheckStatus) -> int:
        return sum(1 for r in self.results if r.verdict.status is status)


@dataclass
class _Plan:
    batch: Batch = field(default_factory=Batch)
    check_keys: dict[str, str] = field(default_factory=dict)
    condition_keys: dict[str, dict[str, str]] = field(default_factory=dict)


def plan(checks: Sequence[HostCheck]) -> _Plan:
    """The host's batch: one section per check, or one per kind and budget where the kind
    can answer all its checks at once (`CheckKind.shared_section`)."""
    alike: dict[tuple[str, float], list[HostCheck]] = {}
    for check in checks:
        alike.setdefault((check.meta.kind, check.budget), []).append(check)
    shared: dict[tuple[str, float], Section] = {}
    for (name, budget), group in alike.items():
        section = REGISTRY[name].shared_section([c.params for c in group], budget)
        if section is not None:
            shared[(name, budget)] = section
    result = _Plan()
    for check in checks:
        kind = REGISTRY[check.meta.kind]
        result.condition_keys[check.id] = {
            question: result.batch.add(section)
            for question, section in check.meta.when.sections().items()
        }
        own = shared.get((kind.name, check.budget)) or kind.section(check.params, check.budget)
        result.check_keys[check.id] = result.batch.add(own)
    return result


def judge(
    check: HostCheck, conditions: dict[str, SectionResult], section: SectionResult
) -> Verdict:
    applies, why = check.meta.when.evaluate(conditions)
    if applies is False:
        return Verdict(CheckStatus.NOT_APPLICABLE, why, "", why)
    if applies is None:
        return Verdict(CheckStatus.ERROR, "", "", why)
    if not section.ran:
        return Verdict(CheckStatus.ERROR, section.output, "", section.problem or "did not run")
    kind = REGISTRY[check.meta.kind]
    try:
        verdict = kind.evaluate(check.params, section)
    except Exception as exc:  # our bug in a kind must not pass a check
        reason = f"internal error in {kind.name}: {type(exc).__name__}: {exc}"  # no repr
        return Verdict(CheckStatus.ERROR, "", "", reason)
    if section.truncated and verdict.status is CheckStatus.PASS and kind.name == "command":
        return Verdict(
            CheckStatus.ERROR,
            verdict.observed,
            verdict.expected,
            "output was cut off at the limit; the verdict cannot be trusted",
        )
    return verdict


def audit_host(
    host: Host, checks: Sequence[HostCheck], connector: Connector, steps: _Plan | None = None
) -> HostReport:
    """`steps`: the plan of `checks`, made once per audit by `audit_hosts` (the same for
    every host), or here when auditing a single host."""
    started = time.monotonic()
    try:
        steps = steps or plan(checks)
        session = connector.open(host)
        try:
            run = run_batch(
                session, steps.batch, sudo=host.sudo, timeout=connector.options.batch_timeout
            )
        finally:
            session.close()
        results = []
        for check in checks:
            conditions = {q: run.results[k] for q, k in steps.condition_keys[check.id].items()}
            verdict = judge(check, conditions, run.results[steps.check_keys[check.id]])
            results.append(CheckResult(check, verdict))
        return HostReport(host, tuple(results), None, time.monotonic() - started, run.problem)
    except HostFailure as exc:
        return HostReport(host, (), exc, time.monotonic() - started)
    except Exception as exc:
        failure = HostFailure(
            "internal",
            f"internal error while auditing {host.name}: {type(exc).__name__}: {exc}",
            "please report this",
        )
        return HostReport(host, (), failure, time.monotonic() - started)


def audit_hosts(
    hosts: Sequence[Host],
    checks: Sequence[HostCheck],
    connector: Connector,
    *,
    concurrency: int = 32,
    progress: Callable[[HostReport], None] | None = None,
) -> list[HostReport]:
    """Reports in inventory order, whatever order the hosts finished in."""
    reports: dict[str, HostReport] = {}
    steps = plan(checks)
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(hosts) or 1))) as pool:
        futures = {pool.submit(audit_host, h, checks, connector, steps): h for h in hosts}
        for future in as_completed(futures):
            report = future.result()
            reports[report.host.name] = report
            if progress is not None:
                progress(report)
    return [reports[h.name] for h in hosts]
