"""A scan group: the shards of one sharded audit (`audit --shard I/N --group NAME`) judged
as one fleet.

Each shard gates its own slice; the group verdict is the one a pipeline should trust for
the fleet: the worst of the shards, and "could not decide" (exit 2) whenever the group
cannot prove it covered the whole fleet once: a shard missing, still running, killed,
interrupted, or shards that disagree on N, the inventory or the host policy. A group
never passes on what it did not see.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from compliance.gate import Outcome
from compliance.policy import ConfigError
from compliance.render.data import ReportData, stored_waivers
from compliance.render.options import RenderOptions
from compliance.render.outputs import OutputSpec, write_report
from compliance.render.rows import FindingStream, StoredFinding, load_fixed
from compliance.store import Store, StoreError
from compliance.store.models import HostCheckRecord, ScanRecord

FINISHED = ("complete", "errored")


@dataclass(frozen=True)
class GroupProblem:
    kind: str
    reason: str
    hint: str | None = None


@dataclass(frozen=True)
class GroupVerdict:
    name: str
    kind: str
    target: str
    count: int
    """How many shards the group should hold (N of --shard I/N; 1 when not sharded)."""
    shards: tuple[ScanRecord, ...]
    """The newest scan of each shard present, in shard order (a retried job's last run)."""
    problems: tuple[GroupProblem, ...]

    @property
    def outcome(self) -> Outcome:
        if self.problems:
            return Outcome.ERROR
        codes = [s.exit_code for s in self.shards]
        if any(code not in (0, 1) for code in codes):
            return Outcome.ERROR
        return Outcome.FAIL if 1 in codes else Outcome.PASS

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    @property
    def status(self) -> str:
        if any(p.kind in ("group.shard-missing", "group.shard-unfinished") for p in self.problems):
            return "incomplete"
        if self.problems or any(s.status != "complete" for s in self.shards):
            return "errored"
        return "complete"

    def reasons(self) -> list[str]:
        listed = ", ".join(
            f"{_shard(s)} (scan {s.id}: {s.verdict or s.status})" for s in self.shards
        )
        head = f"scan group {self.name}: {len(self.shards)} of {self.count} shard(s): {listed}"
        return [head, *(p.reason for p in self.problems)]


def judge_group(store: Store, name: str) -> GroupVerdict:
    scans = store.group_scans(name)
    if not scans:
        raise StoreError(
            f"no scans in scan group {name!r}; check the name (`compliance scans --limit 20` "
            "shows recent scans) and that the audit jobs used the same --db"
        )
    kinds = {(s.kind, s.target) for s in scans}
    if len(kinds) > 1:
        listed = ", ".join(sorted(f"{k} {t}" for k, t in kinds))
        raise StoreError(
            f"scan group {name!r} mixes scans of different targets ({listed}); give each "
            "inventory's audit its own --group"
        )
    ((kind, target),) = kinds
    problems: list[GroupProblem] = []
    counts = Counter(s.shard_count or 1 for s in scans)
    count = max(counts)
    if len(counts) > 1:
        problems.append(
            GroupProblem(
                "group.shard-count",
                f"shards disagree on how many slices the fleet has "
                f"({', '.join(str(c) for c in sorted(counts))}): every job must pass the same N",
            )
        )
    newest: dict[int, ScanRecord] = {}
    for s in scans:  # oldest first: a retried shard's last run wins
        if (s.shard_count or 1) == count:
            newest[s.shard_index or 1] = s
    shards = tuple(newest[i] for i in sorted(newest))
    for index in range(1, count + 1):
        if index not in newest:
            problems.append(
                GroupProblem(
                    "group.shard-missing",
                    f"shard {index}/{count} stored no scan in group {name}: its job failed "
                    "before the audit started, was skipped, or has not run yet",
                    "re-run the missing job; the group is judged only when every shard reported",
                )
            )
    for s in shards:
        if s.status not in FINISHED:
            why = "; ".join(s.reasons or []) or "killed or still running"
            problems.append(
                GroupProblem(
                    "group.shard-unfinished",
                    f"shard {_shard(s)} (scan {s.id}) is {s.status}: {why}",
                    "re-run that job",
                )
            )
    problems += _consistency(shards, store)
    return GroupVerdict(name, kind, target, count, shards, tuple(problems))


def newest_complete_groups(store: Store) -> set[str]:
    """Per target, the newest group that is complete as a fleet: what `db prune` must keep
    whole, however old, so the last good fleet report can still be rendered."""
    found: dict[str, str] = {}
    for target, name in store.group_names():  # newest first
        if target in found:
            continue
        try:
            complete = judge_group(store, name).status == "complete"
        except StoreError:  # a group mixing targets is never complete
            continue
        if complete:
            found[target] = name
    return set(found.values())


def _consistency(shards: Sequence[ScanRecord], store: Store) -> list[GroupProblem]:
    """Shards that read different inventories or policies, or audited one host twice, do not
    add up to one fleet."""
    problems = []
    for label, values in (
        ("inventory (and --hosts)", {(s.summary or {}).get("inventory_digest") for s in shards}),
        ("host policy", {s.policy_digest for s in shards}),
    ):
        if len(values) > 1:
            problems.append(
                GroupProblem(
                    "group.mismatch",
                    f"the shards audited with different {label} files; "
                    "every job of a group must use the same ones",
                )
            )
    owner: dict[str, str] = {}
    ids = [s.id for s in shards if s.id is not None]
    by_id = {s.id: s for s in shards}
    for scan_id, host in store.hosts_of(ids):
        label = _shard(by_id[scan_id])
        if owner.setdefault(host, label) != label:
            problems.append(
                GroupProblem(
                    "group.duplicate-host",
                    f"host {host} was audited by shards {owner[host]} and {label}",
                )
            )
    return problems


def _shard(scan: ScanRecord) -> str:
    return f"{scan.shard_index or 1}/{scan.shard_count or 1}"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def group_record(verdict: GroupVerdict) -> ScanRecord:
    """The group as one (unsaved) scan row, so every renderer can show it as it is."""
    shards = verdict.shards
    errors: list[dict[str, Any]] = [
        {
            "level": "error",
            "source": f"scan group {verdict.name}",
            "kind": p.kind,
            "reason": p.reason,
            "path": None,
            "hint": p.hint,
        }
        for p in verdict.problems
    ]
    for s in shards:
        errors += [
            {**e, "source": f"shard {_shard(s)}: {e.get('source', '')}"} for e in s.errors or []
        ]
        if s.status not in FINISHED:
            errors.append(
                {
                    "level": "error",
                    "source": f"shard {_shard(s)}",
                    "kind": f"scan.{s.status}",
                    "reason": "; ".join(s.reasons or []) or s.status,
                    "path": None,
                    "hint": None,
                }
            )
    started = [_aware(s.started_at) for s in shards]
    finished = [s.finished_at for s in shards]
    complete = not verdict.problems and all(f is not None for f in finished)
    first = shards[0] if shards else None
    return ScanRecord(
        id=max((s.id or 0) for s in shards) if shards else 0,
        kind=verdict.kind,
        target=verdict.target,
        scan_group=verdict.name,
        shard_count=verdict.count,
        git_commit=first.git_commit if first else None,
        git_branch=first.git_branch if first else None,
        tool_versions=_merge_dicts(s.tool_versions for s in shards),
        policy_path=first.policy_path if first else None,
        policy_digest=first.policy_digest if first else None,
        started_at=min(started) if started else datetime.now(UTC),
        finished_at=max(_aware(f) for f in finished if f is not None) if complete else None,
        status=verdict.status,
        verdict=verdict.outcome.value,
        exit_code=verdict.exit_code,
        errors=errors,
        coverage=_sum_nested(s.coverage or {} for s in shards),
        summary=_sum_nested(
            {k: v for k, v in (s.summary or {}).items() if k != "inventory_digest"} for s in shards
        ),
        reasons=verdict.reasons() + [r for s in shards for r in s.reasons or []],
    )


def load_group_report(store: Store, name: str) -> tuple[ReportData, GroupVerdict]:
    """The whole fleet of a scan group as one report, in the shape every renderer reads."""
    verdict = judge_group(store, name)
    record = group_record(verdict)
    ids = [s.id for s in verdict.shards if s.id is not None]
    findings = FindingStream(store, ids)
    fixed: list[StoredFinding] = []
    checks: list[HostCheckRecord] = []
    for s in verdict.shards:
        assert s.id is not None
        fixed += load_fixed(store, s.id, s.target)
        checks += store.host_checks(s.id)
    since = _aware(record.started_at)
    new = frozenset(
        f.fingerprint for f in findings if f.first_seen_at and _aware(f.first_seen_at) >= since
    )
    report = ReportData(
        scan=record,
        findings=findings,
        host_checks=checks,
        previous=None,
        new_fingerprints=new,
        fixed=fixed,
        trend=[],
        waivers=stored_waivers(record, findings.noted()),
    )
    return report, verdict


def _merge_dicts(items: Iterable[dict[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for item in items:
        merged.update(item or {})
    return merged


def _sum_nested(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Numbers add up across shards, nested mappings merge, anything else: first seen."""
    total: dict[str, Any] = {}
    for item in items:
        for key, value in item.items():
            if isinstance(value, bool) or key not in total:
                total.setdefault(key, _sum_nested([value]) if isinstance(value, dict) else value)
            elif isinstance(value, int | float) and isinstance(total[key], int | float):
                total[key] += value
            elif isinstance(value, dict) and isinstance(total[key], dict):
                total[key] = _sum_nested([total[key], value])
    return total


def default_group(explicit: str | None, sharded: bool) -> str | None:
    """`--group`, else for a sharded audit in GitLab the pipeline (all `parallel:` jobs of
    one pipeline share it). A shard outside CI without a group could never be judged
    together with its siblings, so that is an error rather than a silent solo scan."""
    if explicit:
        return explicit
    if not sharded:
        return None
    pipeline = os.environ.get("CI_PIPELINE_ID")
    if pipeline:
        return f"pipeline-{pipeline}"
    raise ConfigError(
        [
            "--shard needs --group NAME (the same for every shard) outside GitLab CI, "
            "where it defaults to pipeline-$CI_PIPELINE_ID"
        ]
    )


def write_group_outputs(
    store: Store,
    name: str,
    specs: Sequence[OutputSpec],
    options: RenderOptions | None = None,
    stdout: IO[str] | None = None,
) -> GroupVerdict:
    """Like render.outputs.write_outputs, for a whole group; returns its verdict."""
    report, verdict = load_group_report(store, name)
    write_report(report, specs, options, stdout)
    return verdict
