"""Dashboards and retention for sharded audits: a fleet is its scan group, not one slice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, col, select

from compliance.ops.metrics import build_registry, render
from compliance.scan_group import judge_group, newest_complete_groups
from compliance.store import Store
from compliance.store.models import ScanRecord
from compliance.store.repository import utcnow
from tests.conftest import run_cli
from tests.test_scan_group import record_shard
from tests.test_store import finding, record_scan


def samples(store: Store) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """metric name → {sorted labels → value}, parsed back from the exposition text."""
    text = render(build_registry(store, [], now=datetime.now(UTC)))
    return {
        family.name: {tuple(sorted(s.labels.items())): s.value for s in family.samples}
        for family in text_string_to_metric_families(text)
    }


def labels(**extra: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"kind": "hosts", "target": "fleet", **extra}.items()))


def test_metrics_show_the_whole_group_not_the_newest_shard(db):
    store = Store.open(db)
    record_shard(store, "1/2", {"a": False, "b": True})  # a fails
    record_shard(store, "2/2", {"c": True})  # the newest scan of the target: all pass
    got = samples(store)
    assert got["compliance_verdict"] == {labels(): 1}  # the group's: fail, not shard 2's pass
    assert got["compliance_scan_complete"] == {labels(): 1}
    assert got["compliance_blocking_findings"] == {labels(): 1}
    assert got["compliance_findings"] == {labels(scanner="host", severity="high", status="open"): 1}
    assert got["compliance_host_score_ratio"] == {
        labels(host="a"): 0.0,
        labels(host="b"): 1.0,
        labels(host="c"): 1.0,
    }
    assert got["compliance_host_failed_checks"][labels(host="a")] == 1

    # the next night: shard 2 reported, shard 1 is still running (or was killed)
    record_shard(store, "1/2", {"a": True, "b": True}, group="g2", finish=False)
    record_shard(store, "2/2", {"c": True}, group="g2")
    got = samples(store)
    assert got["compliance_verdict"] == {labels(): 2}  # could not decide, never a pass
    assert got["compliance_scan_complete"] == {labels(): 0}
    assert set(got["compliance_host_score_ratio"]) == {labels(host="c")}


def test_metrics_of_an_unsharded_target_are_unchanged(db):
    store = Store.open(db)
    record_scan(store, [finding("B1", "a"), finding("B2", "b")], target="app")
    got = samples(store)
    key = (("kind", "code"), ("target", "app"))
    assert got["compliance_verdict"] == {key: 1}
    assert sum(got["compliance_findings"].values()) == 2


def age(store: Store, scan_ids: list[int], days: int) -> None:
    with Session(store.engine) as session:
        for scan in session.exec(select(ScanRecord).where(col(ScanRecord.id).in_(scan_ids))):
            scan.started_at = utcnow() - timedelta(days=days)
            session.add(scan)
        session.commit()


def test_prune_keeps_the_newest_complete_group_whole(store_url):
    store = Store.open(store_url)
    oldest = [
        record_shard(store, s, {h: True}, group="n0") for s, h in (("1/2", "a"), ("2/2", "b"))
    ]
    good = [record_shard(store, s, {h: True}, group="n1") for s, h in (("1/2", "a"), ("2/2", "b"))]
    # the newest night: shard 1 complete, shard 2 killed; neither shard alone is the fleet
    broken = [
        record_shard(store, "1/2", {"a": True}, group="n2"),
        record_shard(store, "2/2", {"b": True}, group="n2", finish=False),
    ]
    # a group that straddles the cut-off: one old shard, one recent one
    straddling = [
        record_shard(store, s, {h: True}, group="n3", target="dmz")
        for s, h in (("1/2", "x"), ("2/2", "y"))
    ]
    age(store, oldest + good + broken + straddling[:1], days=100)
    assert newest_complete_groups(store) == {"n1", "n3"}

    counts = store.prune(keep_days=30, keep_groups=newest_complete_groups(store))

    remaining = {s.id for s in store.scans(limit=100)}
    assert remaining == set(good + broken + straddling)
    assert counts["scans"] == 2 and counts["host_checks"] == 2
    assert judge_group(store, "n1").exit_code == 0  # the last good fleet report still renders
    assert judge_group(store, "n3").exit_code == 0


def test_db_prune_command_keeps_the_group(db):
    """The CLI passes the judged groups in: without them the newest complete group (older
    than a newer broken one) would lose its shards."""
    store = Store.open(db)
    good = [record_shard(store, s, {h: True}, group="n1") for s, h in (("1/2", "a"), ("2/2", "b"))]
    broken = record_shard(store, "1/2", {"a": True}, group="n2")  # shard 2 never reported
    single = record_scan(store, [finding("B1", "a")], target="app")
    age(store, [*good, broken, single], days=100)
    run = run_cli("db", "prune", "--db", db, "--keep-days", "30")
    assert run.code == 0, run.stderr
    assert "0 scans deleted" in run.stdout
    assert judge_group(store, "n1").exit_code == 0
