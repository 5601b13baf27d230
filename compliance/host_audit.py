"""`compliance audit`: inventory → concurrent SSH audit → store → gate → verdict.

Every check on every host is stored (pass, fail, not-applicable, error, not-run), failed
checks become findings, and everything that kept a host or a check from being judged is a
ScanError (`hosts.unreachable`, `hosts.check`) so the gate exits 2 unless the policy
explicitly downgrades that class. One host's trouble never stops the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from compliance.findings import Finding, Location, fingerprint
from compliance.gate import GateInput, Verdict, judge
from compliance.hosts.audit import HostReport, audit_hosts
from compliance.hosts.checks.interface import CheckStatus
from compliance.hosts.inventory import load_inventory
from compliance.hosts.policy import HostCheck, HostPolicy, load_host_policy
from compliance.hosts.score import Score, Scores, framework_of, scores, violations
from compliance.hosts.shard import Shard
from compliance.hosts.ssh import Connector, SshOptions
from compliance.policy import ConfigError, LoadedPolicy, load_waivers
from compliance.policy.model import Policy
from compliance.render.data import waiver_summary
from compliance.scanners.interface import ScanError
from compliance.store import HostCheckRow, ScanMeta, ScanOutcome, Store

SCANNER = "host"


@dataclass(frozen=True)
class HostAuditRequest:
    inventory: Path
    policy: LoadedPolicy
    host_policies: Sequence[Path] = ()
    """Empty: the gate policy's `host_policies`."""
    hosts: Sequence[str] = ()
    """Only these hosts or groups (`--hosts`); empty: the whole inventory."""
    concurrency: int = 32
    trust_on_first_use: bool = False
    today: date = field(default_factory=date.today)
    shard: Shard | None = None
    """Audit only this slice of the inventory (after `hosts`); see hosts/shard.py."""
    group: str | None = None
    """Scan group the scan is stored in: `report --group` judges the shards together."""


@dataclass(frozen=True)
class HostAuditReport:
    scan_id: int
    target: str
    verdict: Verdict
    hosts: tuple[HostReport, ...]
    checks: int
    scores: Scores = field(default_factory=Scores)


def host_policy_paths(request: HostAuditRequest) -> list[Path]:
    if request.host_policies:
        return list(request.host_policies)
    base = request.policy.path.parent
    return [(base / p).resolve() for p in request.policy.policy.host_policies]


def load_checks(paths: Sequence[Path]) -> tuple[list[HostPolicy], list[HostCheck]]:
    policies = [load_host_policy(p) for p in paths]
    if not policies:
        raise ConfigError(["no host policy: pass --policy FILE or set host_policies in the policy"])
    checks: list[HostCheck] = []
    owner: dict[str, Path] = {}
    for hp in policies:
        for check in hp.checks:
            if check.id in owner:
                raise ConfigError(
                    [f"{hp.path}: check id {check.id!r} is also defined in {owner[check.id]}"]
                )
            owner[check.id] = hp.path
            checks.append(check)
    return policies, checks


def run_host_audit(
    request: HostAuditRequest,
    store: Store,
    progress: Callable[[HostReport], None] | None = None,
    on_hosts: Callable[[int], None] | None = None,
) -> HostAuditReport:
    """`progress`: called as each host is done; `on_hosts`: told how many hosts will be
    audited, once the inventory is read (both only watch, for the CLI's progress)."""
    inventory = load_inventory(request.inventory)
    hosts = inventory.limit(request.hosts)
    if request.shard is not None:
        hosts = request.shard.select(hosts)
    host_policies, checks = load_checks(host_policy_paths(request))
    _refuse_unreachable_scores(request.policy, checks)
    if on_hosts is not None:
        on_hosts(len(hosts))
    waivers = load_waivers(request.policy.waivers_path)
    policy = request.policy.policy
    if any(hp.unreachable == "warn" for hp in host_policies):
        policy = policy.model_copy(
            update={"errors": {**policy.errors, "hosts.unreachable": "warn"}}
        )
    policy_names = ", ".join(hp.name for hp in host_policies)
    target = inventory.name

    scan_id = store.begin_scan(
        ScanMeta(
            kind="hosts",
            target=target,
            policy_path=", ".join(str(hp.path) for hp in host_policies),
            policy_digest=",".join(hp.digest[:16] for hp in host_policies),
            scan_group=request.group,
            shard_index=request.shard.index if request.shard else None,
            shard_count=request.shard.count if request.shard else None,
        )
    )
    connector = Connector(SshOptions(trust_on_first_use=request.trust_on_first_use))
    try:
        reports = audit_hosts(
            hosts, checks, connector, concurrency=request.concurrency, progress=progress
        )
        owners = {check.id: hp.name for hp in host_policies for check in hp.checks}
        findings, errors, records = _collect(reports, checks, owners)
        found = scores(records)
        verdict = judge(
            GateInput(
                findings=findings,
                policy=policy,
                target=target,
                waivers=waivers,
                errors=errors,
                first_seen=store.first_seen(target, (f.fingerprint for f in findings)),
                today=request.today,
                violations=violations(found, policy.hosts),
                judged_by=_judged_by(policy, found),
            )
        )
        reached = sum(1 for r in reports if r.failure is None)
        store.finish_scan(
            scan_id,
            ScanOutcome(
                verdict=verdict,
                tool_versions={SCANNER: policy_names},
                coverage={SCANNER: {"requested": len(hosts), "scanned": reached}},
                completed_scanners=[SCANNER] if not errors else [],
                host_checks=records,
                covered_hosts=frozenset(h.name for h in hosts),
                summary={
                    "inventory": str(inventory.path),
                    # shards of one group must have read the same inventory and --hosts
                    "inventory_digest": _selection_digest(request),
                    "hosts": len(hosts),
                    "checks": len(checks),
                    "statuses": _status_counts(records),
                    "scores": found.as_dict(),
                    "host_gate": policy.hosts.describe(),
                    "waivers": waiver_summary(waivers, verdict, target, request.today),
                },
            ),
        )
    except BaseException as exc:
        store.mark_interrupted(scan_id, f"audit stopped before it finished: {type(exc).__name__}")
        raise
    finally:
        connector.close()
    return HostAuditReport(scan_id, target, verdict, tuple(reports), len(checks), found)


def _refuse_unreachable_scores(loaded: LoadedPolicy, checks: Sequence[HostCheck]) -> None:
    """A minimum score for a framework no check cites could never block: a silent pass."""
    cited = {framework_of(r) for check in checks for r in check.reference_list()}
    problems = [
        loaded.problem(
            ("hosts", "min_framework_score", name),
            f"no check of the host policies cites {name!r}, so this minimum can never block; "
            f"frameworks cited: {', '.join(sorted(cited - {''})) or 'none'}",
        )
        for name in loaded.policy.hosts.min_framework_score
        if name not in cited
    ]
    if problems:
        raise ConfigError(problems)


def _judged_by(policy: Policy, found: Scores) -> str:
    """Why failed checks that do not block pass: the rule in force and the scores."""
    gate = policy.hosts
    text = f"{gate.describe()} (hosts: in the policy)"
    if gate.min_score is not None:
        low = min((s.percent for s in found.hosts.values() if s.percent is not None), default=None)
        if low is not None:
            text += f"; the lowest host score is {low:.0f}"
    return text


def _selection_digest(request: HostAuditRequest) -> str:
    digest = hashlib.sha256(request.inventory.read_bytes())
    for name in sorted(request.hosts):
        digest.update(b"\0" + name.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:16]


def _collect(
    reports: Sequence[HostReport], checks: Sequence[HostCheck], owners: dict[str, str]
) -> tuple[list[Finding], list[ScanError], list[HostCheckRow]]:
    """`owners`: check id → the name of the host policy it comes from."""
    findings: list[Finding] = []
    errors: list[ScanError] = []
    records: list[HostCheckRow] = []
    for report in reports:
        name = report.host.name
        if report.failure is not None:
            failure = report.failure
            errors.append(
                ScanError(
                    f"host {name}",
                    "hosts.unreachable",
                    f"{failure.kind}: {failure.reason}",
                    hint=failure.hint,
                )
            )
            for check in checks:
                records.append(
                    _record(name, check, "not-run", "", failure.reason, owners[check.id])
                )
            continue
        for result in report.results:
            check, verdict = result.check, result.verdict
            meta = check.meta
            observed = verdict.observed
            if verdict.reason and verdict.status is not CheckStatus.PASS:
                observed = f"{observed}\n({verdict.reason})" if observed else verdict.reason
            records.append(
                _record(
                    name, check, verdict.status.value, verdict.expected, observed, owners[meta.id]
                )
            )
            if verdict.status is CheckStatus.ERROR:
                errors.append(
                    ScanError(f"host {name}", "hosts.check", f"check {meta.id}: {verdict.reason}")
                )
            elif verdict.status is CheckStatus.FAIL:
                findings.append(
                    Finding(
                        scanner=SCANNER,
                        rule_id=meta.id,
                        severity=meta.severity,
                        title=meta.title,
                        message=f"expected: {verdict.expected}"  # first line: the summary shows it
                        + (f"\n{verdict.reason}" if verdict.reason else "")
                        + (f"\n{meta.rationale}" if meta.rationale else ""),
                        location=Location(host=name),
                        fingerprint=fingerprint(SCANNER, name, meta.id),
                        evidence=verdict.observed,
                        references=check.reference_list(),
                        remediation=meta.remediation,
                    )
                )
    return findings, errors, records


def _record(
    host: str, check: HostCheck, status: str, expected: str, observed: str, policy: str
) -> HostCheckRow:
    meta = check.meta
    return HostCheckRow(
        host=host,
        check_id=meta.id,
        title=meta.title,
        status=status,
        severity=meta.severity.label,
        expected=expected[:1000],
        observed=observed[:2000],
        references=tuple(check.reference_list()),
        remediation=meta.remediation,
        policy=policy,
    )


def _status_counts(records: Sequence[HostCheckRow]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


def host_summary_line(report: HostReport, score: Score | None = None) -> str:
    """One line per host; `score`: its Wazuh-style score, printed beside the counts."""
    name = report.host.name
    if report.failure is not None:
        return f"  {name}: ERROR {report.failure.kind}: {report.failure.reason}"
    parts = [
        f"{report.count(CheckStatus.PASS)} pass",
        f"{report.count(CheckStatus.FAIL)} fail",
        f"{report.count(CheckStatus.NOT_APPLICABLE)} n/a",
        f"{report.count(CheckStatus.ERROR)} error",
    ]
    state = "ok" if not report.count(CheckStatus.ERROR) and not report.batch_problem else "ERROR"
    extra = f" ({report.batch_problem})" if report.batch_problem else ""
    scored = f", score {score.text().split(' ', 1)[0]}" if score is not None else ""
    return f"  {name}: {state} {', '.join(parts)}{scored} in {report.seconds:.1f} s{extra}"


def score_lines(found: Scores) -> list[str]:
    """The summary's score block: per policy (each host), the fleet's per-policy total."""
    lines = ["scores (passed / (passed + failed) x 100, as Wazuh):"]
    for policy_name, by_host in sorted(found.policies.items()):
        total = Score(
            sum(s.passed for s in by_host.values()), sum(s.failed for s in by_host.values())
        )
        lines.append(f"  policy {policy_name}: {total.text()} over {len(by_host)} host(s)")
        if len(found.policies) > 1:
            lines.extend(
                f"    {host}: {score.text()}" for host, score in sorted(by_host.items())[:50]
            )
    return lines
