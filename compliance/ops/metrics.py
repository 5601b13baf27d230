"""Prometheus metrics from the store, for node_exporter's textfile collector.

Built with prometheus_client so names, escaping and the exposition format are right, and
written with its atomic textfile writer: node_exporter never reads a half-written file.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, generate_latest, write_to_textfile

from compliance.errors import UserError
from compliance.policy import WaiverEntry
from compliance.render.outputs import write_atomically
from compliance.scan_group import group_record, judge_group
from compliance.store import Store, StoreError
from compliance.store.models import ScanRecord

EXPIRY_WINDOW_DAYS = 14
VERDICT_VALUE = {"pass": 0, "fail": 1, "error": 2}


def build_registry(
    store: Store, waivers: list[WaiverEntry], now: datetime | None = None
) -> CollectorRegistry:
    now = now or datetime.now(UTC)
    registry = CollectorRegistry()
    labels = ["kind", "target"]
    verdict = Gauge(
        "compliance_verdict",
        "Latest verdict: 0 pass, 1 fail, 2 error (incomplete scans count as 2; a sharded "
        "audit's is its scan group's)",
        labels,
        registry=registry,
    )
    complete = Gauge(
        "compliance_scan_complete",
        "1 when the latest scan completed cleanly",
        labels,
        registry=registry,
    )
    duration = Gauge(
        "compliance_scan_duration_seconds", "Duration of the latest scan", labels, registry=registry
    )
    finished = Gauge(
        "compliance_scan_finished_timestamp_seconds",
        "When the latest scan finished (Unix time)",
        labels,
        registry=registry,
    )
    age = Gauge(
        "compliance_scan_age_seconds",
        "Seconds since the latest scan started",
        labels,
        registry=registry,
    )
    findings = Gauge(
        "compliance_findings",
        "Findings of the latest scan",
        [*labels, "scanner", "severity", "status"],
        registry=registry,
    )
    blocking = Gauge(
        "compliance_blocking_findings",
        "Blocking findings of the latest scan",
        labels,
        registry=registry,
    )
    host_score = Gauge(
        "compliance_host_score_ratio",
        "Passed / (passed + failed) host checks",
        [*labels, "host"],
        registry=registry,
    )
    host_failed = Gauge(
        "compliance_host_failed_checks", "Failed host checks", [*labels, "host"], registry=registry
    )
    host_errors = Gauge(
        "compliance_host_check_errors",
        "Host checks that errored or did not run",
        [*labels, "host"],
        registry=registry,
    )
    for latest in store.latest_scans():
        scan, scan_ids = _as_judged(store, latest)
        key = (scan.kind, scan.target)
        verdict.labels(*key).set(VERDICT_VALUE.get(scan.verdict or "", 2))
        complete.labels(*key).set(1 if scan.status == "complete" else 0)
        age.labels(*key).set(max(0.0, (now - _aware(scan.started_at)).total_seconds()))
        if scan.finished_at is not None:
            duration.labels(*key).set((scan.finished_at - scan.started_at).total_seconds())
            finished.labels(*key).set(_aware(scan.finished_at).timestamp())
        _finding_metrics(store, key, scan_ids, findings, blocking)
        _host_metrics(store, key, scan_ids, host_score, host_failed, host_errors)
    _waiver_metrics(waivers, registry, now.date())
    return registry


def _as_judged(store: Store, latest: ScanRecord) -> tuple[ScanRecord, list[int]]:
    """The record a dashboard should show for a target, and the scans it covers.

    A target whose latest scan is one shard of a sharded audit is shown as its whole scan
    group: the group verdict (a missing, running or killed shard makes it 2) and every
    shard's findings and hosts. One slice's verdict is not the fleet's."""
    assert latest.id is not None
    if latest.scan_group is None:
        return latest, [latest.id]
    try:
        group = judge_group(store, latest.scan_group)
    except StoreError as exc:  # a group mixing targets: the gate could not decide
        undecided = latest.model_copy(
            update={"verdict": "error", "status": "errored", "reasons": [str(exc)]}
        )
        return undecided, [latest.id]
    return group_record(group), [s.id for s in group.shards if s.id is not None]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _finding_metrics(
    store: Store, key: tuple[str, str], scan_ids: list[int], findings: Gauge, blocking: Gauge
) -> None:
    counts: Counter[tuple[str, str, str]] = Counter()
    blocked = 0
    for scanner, severity, status, is_blocking, n in store.finding_counts(scan_ids):
        counts[(scanner, severity, status)] += n
        blocked += n if is_blocking else 0
    for (scanner, severity, status), n in counts.items():
        findings.labels(*key, scanner, severity, status).set(n)
    blocking.labels(*key).set(blocked)


def _host_metrics(
    store: Store,
    key: tuple[str, str],
    scan_ids: list[int],
    score: Gauge,
    failed: Gauge,
    errors: Gauge,
) -> None:
    per_host: dict[str, Counter[str]] = {}
    for host, status, n in store.host_check_counts(scan_ids):
        per_host.setdefault(host, Counter())[status] += n
    for host, c in per_host.items():
        judged = c["pass"] + c["fail"]
        if judged:
            score.labels(*key, host).set(c["pass"] / judged)
        failed.labels(*key, host).set(c["fail"])
        errors.labels(*key, host).set(c["error"] + c["not-run"])


def _waiver_metrics(waivers: list[WaiverEntry], registry: CollectorRegistry, today: date) -> None:
    soon = Gauge(
        "compliance_waivers_expiring",
        f"Waivers expiring within {EXPIRY_WINDOW_DAYS} days",
        registry=registry,
    )
    expired = Gauge(
        "compliance_waivers_expired", "Waivers past their expiry date", registry=registry
    )
    expiry = Gauge(
        "compliance_waiver_expiry_timestamp_seconds",
        "Expiry of each waiver",
        ["waiver", "approver", "source"],
        registry=registry,
    )
    limit = today + timedelta(days=EXPIRY_WINDOW_DAYS)
    soon.set(sum(1 for e in waivers if today <= e.waiver.expires <= limit))
    expired.set(sum(1 for e in waivers if e.waiver.expires < today))
    for entry in waivers:
        w = entry.waiver
        name = w.fingerprint or f"{w.rule}:{w.path or '*'}"
        when = datetime.combine(w.expires, datetime.min.time(), UTC).timestamp()
        expiry.labels(name, w.approver, entry.source).set(when)


def render(registry: CollectorRegistry, fmt: str = "prometheus") -> str:
    """The exposition text, or with `fmt` "json" the same samples as a list of metric
    families (name, type, help, samples of labels and value) for a script to read."""
    if fmt == "json":
        families = [
            {
                "name": family.name,
                "type": family.type,
                "help": family.documentation,
                "samples": [{"labels": s.labels, "value": s.value} for s in family.samples],
            }
            for family in registry.collect()
        ]
        return json.dumps(families, indent=2) + "\n"
    return generate_latest(registry).decode("utf-8")


def write(registry: CollectorRegistry, path: Path, fmt: str = "prometheus") -> None:
    """Atomic: a temporary file in the same folder, then a rename. A folder that cannot be
    written is one user error naming the file, like a report's."""
    if fmt != "prometheus":
        text = render(registry, fmt)
        write_atomically(path, lambda out: print(text, end="", file=out))
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(path), registry)
    except OSError as exc:
        raise UserError(
            f"cannot write metrics {path}: {exc.strerror or exc}",
            "check the folder is writable, or pass another --output prometheus:FILE",
        ) from exc
