"""Scan groups and shards on the store (SQLite and PostgreSQL), and the 0001 → head upgrade.

The end-to-end test with N real `compliance audit --shard` processes against real sshd
hosts and one PostgreSQL is tests/hosts/test_sharded_audit.py.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from compliance.cli import main
from compliance.findings import Finding, Location, Severity
from compliance.gate import GateInput, judge
from compliance.hosts.inventory import Host
from compliance.hosts.shard import Shard, slot
from compliance.policy import ConfigError, Policy
from compliance.render.data import load_report
from compliance.render.registry import FORMATS
from compliance.scan_group import judge_group, load_group_report
from compliance.store import ScanMeta, ScanOutcome, Store, StoreError
from compliance.store.migrate import _config, head_revision
from compliance.store.models import HostCheckRecord
from tests.conftest import run_cli

FIXTURES = Path(__file__).parent / "fixtures"


def host_finding(host: str, check: str = "ssh-root") -> Finding:
    return Finding(
        scanner="host",
        rule_id=check,
        severity=Severity.HIGH,
        title=check,
        message="m",
        location=Location(host=host),
        fingerprint=f"{host}:{check}",
        evidence="permitrootlogin yes",
    )


def record_shard(
    store: Store,
    shard: str | None,
    hosts: dict[str, bool],
    group: str = "g1",
    finish: bool = True,
    target: str = "fleet",
) -> int:
    """A host audit of `hosts` (name → compliant?) stored as shard `shard` of `group`."""
    index, count = (int(n) for n in shard.split("/")) if shard else (None, None)
    scan_id = store.begin_scan(
        ScanMeta(
            kind="hosts",
            target=target,
            scan_group=group,
            shard_index=index,
            shard_count=count,
            policy_digest="p1",
        )
    )
    if not finish:
        return scan_id
    findings = [host_finding(h) for h, ok in hosts.items() if not ok]
    verdict = judge(
        GateInput(
            findings=findings,
            policy=Policy(),
            target=target,
            first_seen=store.first_seen(target, [f.fingerprint for f in findings]),
            today=date(2026, 11, 24),
        )
    )
    checks = [
        HostCheckRecord(scan_id=0, host=h, check_id="ssh-root", status="pass" if ok else "fail")
        for h, ok in hosts.items()
    ]
    store.finish_scan(
        scan_id,
        ScanOutcome(
            verdict=verdict,
            completed_scanners=["host"],
            host_checks=checks,
            covered_hosts=frozenset(hosts),
            summary={"hosts": len(hosts), "inventory_digest": "i1"},
            coverage={"host": {"requested": len(hosts), "scanned": len(hosts)}},
        ),
    )
    return scan_id


def test_shards_are_stable_disjoint_and_cover_the_fleet():
    # sha256, not hash(): these values hold on every machine and every Python run
    assert [slot(name, 4) for name in ("web-1", "web-2", "db-1", "bastion")] == [
        slot(name, 4) for name in ("web-1", "web-2", "db-1", "bastion")
    ]
    assert (
        slot("web-1", 4)
        == 1 + int.from_bytes(__import__("hashlib").sha256(b"web-1").digest()[:8], "big") % 4
    )
    hosts = [Host(name=f"host-{i:03}", address="127.0.0.1") for i in range(300)]
    owners = Counter(h.name for n in range(1, 5) for h in Shard(n, 4).select(hosts))
    assert set(owners) == {h.name for h in hosts} and set(owners.values()) == {1}
    sizes = [len(Shard(n, 4).select(hosts)) for n in range(1, 5)]
    assert min(sizes) > 40  # a hash split, not everything in one slice
    # adding hosts never moves the others
    more = [*hosts, *(Host(name=f"new-{i}", address="x") for i in range(50))]
    assert Shard(2, 4).select(hosts) == tuple(h for h in Shard(2, 4).select(more) if h in hosts)


@pytest.mark.parametrize("spec", ["0/4", "5/4", "1/0", "a/b", "3", "1/1001", "-1/2"])
def test_bad_shard_specs_are_config_errors(spec):
    with pytest.raises(ConfigError, match="--shard"):
        Shard.parse(spec)


def test_group_verdict_is_the_worst_shard(store_url):
    store = Store.open(store_url)
    record_shard(store, "1/3", {"a": True, "b": True})
    record_shard(store, "2/3", {"c": False})
    record_shard(store, "3/3", {})  # a slice with no hosts still reports
    verdict = judge_group(store, "g1")
    assert verdict.exit_code == 1 and not verdict.problems
    report, _ = load_group_report(store, "g1")
    assert Counter(c.host for c in report.host_checks) == {"a": 1, "b": 1, "c": 1}
    assert [f.host for f in report.findings] == ["c"]
    assert report.scan.status == "complete" and report.scan.verdict == "fail"
    assert report.scan.summary["hosts"] == 3 and report.scan.coverage["host"]["scanned"] == 3


def test_missing_unfinished_or_mismatched_shards_cannot_pass(store_url):
    store = Store.open(store_url)
    record_shard(store, "1/3", {"a": True}, group="missing")
    record_shard(store, "3/3", {"c": True}, group="missing")
    missing = judge_group(store, "missing")
    assert missing.exit_code == 2 and missing.status == "incomplete"
    assert any("shard 2/3 stored no scan" in p.reason for p in missing.problems)

    record_shard(store, "1/2", {"a": True}, group="killed")
    record_shard(store, "2/2", {"b": True}, group="killed", finish=False)  # SIGKILLed
    killed = judge_group(store, "killed")
    assert killed.exit_code == 2 and "2/2" in killed.problems[0].reason

    interrupted = record_shard(store, "2/2", {"b": True}, group="stopped", finish=False)
    record_shard(store, "1/2", {"a": True}, group="stopped")
    store.mark_interrupted(interrupted, "SIGTERM")
    assert judge_group(store, "stopped").exit_code == 2

    record_shard(store, "1/2", {"a": True}, group="counts")
    record_shard(store, "2/2", {"b": True}, group="counts")
    record_shard(store, "1/3", {"a": True}, group="counts")
    assert judge_group(store, "counts").exit_code == 2

    record_shard(store, "1/2", {"a": True}, group="twice")
    record_shard(store, "2/2", {"a": True, "b": True}, group="twice")
    twice = judge_group(store, "twice")
    assert twice.exit_code == 2 and "host a was audited by shards 1/2 and 2/2" in " ".join(
        p.reason for p in twice.problems
    )

    with pytest.raises(StoreError, match="no scans in scan group 'nope'"):
        judge_group(store, "nope")


def test_a_retried_shard_replaces_its_failed_run(store_url):
    store = Store.open(store_url)
    record_shard(store, "1/2", {"a": True}, group="retry")
    record_shard(store, "2/2", {"b": True}, group="retry", finish=False)  # the job died
    record_shard(store, "2/2", {"b": True}, group="retry")  # its retry
    assert judge_group(store, "retry").exit_code == 0


def test_a_shard_marks_fixed_only_what_it_audited(store_url):
    """Shard 2 does not see shard 1's hosts: their findings are not 'fixed' by its scan."""
    store = Store.open(store_url)
    record_shard(store, "1/2", {"a": False}, group="night-1")
    record_shard(store, "2/2", {"b": True}, group="night-1")
    assert {r.fingerprint: r.state for r in store.lifecycle("fleet")} == {"a:ssh-root": "open"}
    record_shard(store, "1/2", {"a": True}, group="night-2")  # really fixed now
    assert {r.fingerprint: r.state for r in store.lifecycle("fleet")} == {"a:ssh-root": "fixed"}


def test_cli_report_and_scans_for_a_group(store_url, tmp_path):
    store = Store.open(store_url)
    record_shard(store, "1/2", {"a": True, "b": True}, group="night")
    record_shard(store, "2/2", {"c": False}, group="night")
    record_shard(store, "1/2", {"a": True}, group="half")
    for fmt in sorted(FORMATS):  # in-process: seven formats on two backends add up
        out = tmp_path / f"group.{fmt}"
        args = ["report", "--db", store_url, "--group", "night", "--format", fmt, "--output"]
        run = CliRunner().invoke(main, [*args, str(out)])
        assert run.exit_code == 1, (fmt, run.output)
        assert out.stat().st_size > 0 and "2 of 2 shard(s)" in run.stderr
    data = run_cli(
        "report", "--db", store_url, "--group", "night", "--format", "json", "--output", "-"
    ).json()
    assert data["scan"]["verdict"] == "fail" and data["scan"]["scan_group"] == "night"
    assert {f["host"] for f in data["findings"]} == {"c"}
    half = run_cli(
        "report",
        "--db",
        store_url,
        "--group",
        "half",
        "--format",
        "junit",
        "--output",
        tmp_path / "half.xml",
    )
    assert half.code == 2 and "shard 2/2 stored no scan" in half.stderr
    assert "could not decide" in (tmp_path / "half.xml").read_text()
    listed = run_cli("scans", "--db", store_url, "--group", "night", "--json").json()
    assert sorted(s["shard"] for s in listed) == ["1/2", "2/2"]
    text = run_cli("scans", "--db", store_url, "--group", "half")
    assert text.code == 0 and "group half: error (exit 2)" in text.stdout


def test_first_schema_upgrades_to_head_keeping_data(store_url, tmp_path):
    """A database at revision 0001 (SQLite: the dump of a real one; PostgreSQL: built by the
    0001 migration) upgrades to head, keeps every row, and then stores sharded scans."""
    if store_url.startswith("sqlite"):
        with sqlite3.connect(store_url.split(":///", 1)[1]) as old:
            old.executescript((FIXTURES / "schema-0001.sql").read_text(encoding="utf-8"))
        expected_target = "example/vulnerable-app"
    else:
        engine = create_engine(store_url)
        with engine.begin() as connection:
            command.upgrade(_config(connection), "0001")
            connection.exec_driver_sql(
                "INSERT INTO scan (kind, target, started_at, status, verdict, exit_code) "
                "VALUES ('hosts', 'old-fleet', now(), 'complete', 'pass', 0)"
            )
        engine.dispose()
        expected_target = "old-fleet"
    upgraded = run_cli("db", "upgrade", "--db", store_url)
    assert upgraded.code == 0 and f"revision {head_revision()}" in upgraded.stdout
    store = Store.open(store_url)
    columns = {c["name"] for c in inspect(store.engine).get_columns("scan")}
    assert {"shard_index", "shard_count"} <= columns
    (old,) = store.scans()
    assert old.target == expected_target and old.shard_index is None
    record_shard(store, "1/1", {"a": True}, group="after-upgrade", target=old.target)
    assert judge_group(store, "after-upgrade").exit_code == 0


def test_a_shards_own_report_compares_with_the_same_slice(store_url):
    store = Store.open(store_url)
    first = record_shard(store, "1/2", {"a": False}, group="n1")
    record_shard(store, "2/2", {"b": False}, group="n1")
    again = record_shard(store, "1/2", {"a": False}, group="n2")
    report = load_report(store, again)
    assert report.previous is not None and report.previous.id == first
    assert not report.new_fingerprints  # host a's finding was there the night before
    assert store.previous_scan(store.resolve_scan(str(again))).id == first  # drift alerts


def test_host_identities_stored_before_0004_keep_their_lifecycle(store_url):
    """Lifecycle rows written at revision 0003 (coverage matched on the display string) get
    their host from the finding row of their last sighting, or, where that row was pruned,
    from the host audit's location; a partial audit then fixes exactly the hosts it saw."""
    engine = create_engine(store_url)
    when = "'2026-11-24 19:33:24'"
    with engine.begin() as connection:
        command.upgrade(_config(connection), "0003")
        connection.exec_driver_sql(
            "INSERT INTO scan (kind, target, started_at, status, verdict, exit_code) "
            f"VALUES ('hosts', 'fleet', {when}, 'complete', 'fail', 1)"
        )
        old = connection.exec_driver_sql("SELECT max(id) FROM scan").scalar_one()
        connection.exec_driver_sql(
            "INSERT INTO finding (scan_id, fingerprint, scanner, rule_id, severity, "
            "severity_rank, title, message, host, evidence, remediation, status, blocking, "
            f"reported, note) VALUES ({old}, 'a:ssh-root', 'host', 'ssh-root', 'high', 3, "
            "'ssh-root', 'm', 'a', '', '', 'open', TRUE, TRUE, '')"
        )
        for fp, scanner, location in [
            ("a:ssh-root", "host", "a"),
            ("b:ssh-root", "host", "b"),  # its finding row was pruned
            ("code", "bandit", "app.py:3"),
        ]:
            connection.exec_driver_sql(
                "INSERT INTO finding_lifecycle (target, fingerprint, scanner, rule_id, severity, "
                "title, location, first_seen_at, first_seen_scan_id, last_seen_at, "
                f"last_seen_scan_id, state) VALUES ('fleet', '{fp}', '{scanner}', 'r', 'high', "
                f"'t', '{location}', {when}, {old}, {when}, {old}, 'open')"
            )
    engine.dispose()
    store = Store.open(store_url)
    assert store.schema_revision() == head_revision()
    rows = {r.fingerprint: r for r in store.lifecycle("fleet")}
    hosts = {fp: r.host for fp, r in rows.items()}
    assert hosts == {"a:ssh-root": "a", "b:ssh-root": "b", "code": None}
    record_shard(store, "1/2", {"a": True}, group="after-0004")  # a really fixed; b not seen
    states = {r.fingerprint: (r.state, r.first_seen_scan_id) for r in store.lifecycle("fleet")}
    assert states == {
        "a:ssh-root": ("fixed", old),
        "b:ssh-root": ("open", old),
        "code": ("open", old),
    }
    record_shard(store, "2/2", {"b": False}, group="after-0004")  # still there: same identity
    assert {r.fingerprint: r.state for r in store.lifecycle("fleet")}["b:ssh-root"] == "open"
    assert store.first_seen("fleet", ["b:ssh-root"]).keys() == {"b:ssh-root"}
    record_shard(store, "2/2", {"b": True}, group="after-0005")
    assert {r.fingerprint: r.state for r in store.lifecycle("fleet")}["b:ssh-root"] == "fixed"
