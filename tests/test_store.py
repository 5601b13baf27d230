"""The store on SQLite and on a real PostgreSQL server: the same tests, both backends."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from compliance.findings import Finding, Location, Severity
from compliance.gate import GateInput, judge
from compliance.policy import Policy
from compliance.scanners.interface import ScanError
from compliance.store import ScanMeta, ScanOutcome, Store, StoreError
from compliance.store.baseline_match import BaselineKey, baseline_mismatch
from compliance.store.migrate import HEAD_REVISION, head_revision
from compliance.store.models import HostCheckRecord
from tests.conftest import run_cli, write_tree


def finding(rule: str, fp: str, severity: Severity = Severity.HIGH) -> Finding:
    return Finding(
        scanner="bandit",
        rule_id=rule,
        severity=severity,
        title=f"{rule} title",
        message="m",
        location=Location(path="app.py", start_line=1),
        fingerprint=fp,
        evidence="x = 1",
    )


CLEAN = {"tree_dirty": False, "scan_root": ".", "policy_digest": "p1", "scanners": ["bandit"]}
KEY = BaselineKey(target="repo", scan_root=".", policy_digest="p1", scanners={"bandit": "1.9"})


def record_scan(
    store: Store,
    findings: list[Finding],
    errors=(),
    target="repo",
    commit: str | None = None,
    **meta: Any,
) -> int:
    scan_id = store.begin_scan(ScanMeta(kind="code", target=target, git_commit=commit, **meta))
    seen = store.first_seen(target, [f.fingerprint for f in findings])
    verdict = judge(
        GateInput(
            findings=findings,
            policy=Policy(),
            target=target,
            errors=errors,
            first_seen=seen,
            today=date(2026, 11, 24),
        )
    )
    store.finish_scan(
        scan_id,
        ScanOutcome(
            verdict=verdict, completed_scanners=["bandit"], tool_versions={"bandit": "1.9"}
        ),
    )
    return scan_id


def test_scan_round_trip_and_lifecycle(store_url):
    store = Store.open(store_url)
    first = record_scan(store, [finding("B1", "a"), finding("B2", "b")], commit="c1", **CLEAN)
    scan = store.resolve_scan("latest")
    assert scan.id == first and scan.status == "complete" and scan.verdict == "fail"
    assert scan.tool_versions == {"bandit": "1.9"} and scan.started_at.tzinfo is not None
    assert store.fingerprints(first) == {"a", "b"}
    assert store.complete_scan_at(KEY, "c1") == first

    second = record_scan(store, [finding("B1", "a")])
    (fixed,) = store.fixed_in(second)
    assert fixed.fingerprint == "b" and fixed.status == "fixed"
    lifecycle = {row.fingerprint: row for row in store.lifecycle("repo")}
    assert lifecycle["b"].state == "fixed" and lifecycle["b"].fixed_scan_id == second
    assert lifecycle["a"].first_seen_scan_id == first and lifecycle["a"].last_seen_scan_id == second

    third = record_scan(store, [finding("B1", "a"), finding("B2", "b")])
    reopened = {row.fingerprint: row for row in store.lifecycle("repo")}["b"]
    assert reopened.state == "open" and reopened.fixed_at is None
    assert reopened.first_seen_scan_id == first and reopened.last_seen_scan_id == third


def test_only_a_clean_scan_of_the_same_root_policy_and_scanners_is_a_baseline(store_url):
    """Each stored scan at commit c1 differs from KEY in one way; none may be its baseline,
    and the explicit-id check says why in words."""
    store = Store.open(store_url)
    unlike = {
        "dirty": record_scan(
            store, [finding("B1", "a")], commit="c1", **{**CLEAN, "tree_dirty": True}
        ),
        "unknown": record_scan(
            store, [finding("B1", "a")], commit="c1", **{**CLEAN, "tree_dirty": None}
        ),
        "root": record_scan(
            store, [finding("B1", "a")], commit="c1", **{**CLEAN, "scan_root": "services/b"}
        ),
        "policy": record_scan(
            store, [finding("B1", "a")], commit="c1", **{**CLEAN, "policy_digest": "p2"}
        ),
        "scanners": record_scan(
            store, [finding("B1", "a")], commit="c1", **{**CLEAN, "scanners": ["bandit", "semgrep"]}
        ),
        "target": record_scan(store, [finding("B1", "a")], commit="c1", target="other", **CLEAN),
    }
    assert store.complete_scan_at(KEY, "c1") is None
    reasons = {
        what: baseline_mismatch(store.resolve_scan(str(i)), KEY) for what, i in unlike.items()
    }
    assert "uncommitted or untracked" in reasons["dirty"]
    assert "tree state is unknown" in reasons["unknown"]
    assert "root 'services/b'" in reasons["root"]
    assert "another policy" in reasons["policy"]
    assert "scanners bandit, semgrep" in reasons["scanners"]
    assert "target 'other'" in reasons["target"]
    assert store.complete_scan_at(replace(KEY, scanners={"bandit": "1.10"}), "c1") is None

    clean = record_scan(store, [finding("B1", "a")], commit="c1", **CLEAN)
    newer_elsewhere = record_scan(
        store, [finding("B1", "a")], commit="c1", **{**CLEAN, "scan_root": "x"}
    )
    assert store.complete_scan_at(KEY, "c1") == clean != newer_elsewhere
    assert baseline_mismatch(store.resolve_scan(str(clean)), KEY) is None
    assert store.complete_scan_at(replace(KEY, scan_root="x"), "c1") == newer_elsewhere


def test_baseline_sets_keep_inline_suppressions_whatever_their_status(store_url):
    store = Store.open(store_url)
    hidden = replace(finding("B602", "s"), suppressed=True)
    scan_id = record_scan(store, [finding("B1", "a"), hidden], **CLEAN)
    assert store.baseline_sets(scan_id) == ({"a", "s"}, {"s"})
    # the same suppression, new against a baseline that lacks it: judged open, still inline
    again = store.begin_scan(ScanMeta(kind="code", target="repo"))
    verdict = judge(
        GateInput(findings=[hidden], policy=Policy(), target="repo", baseline=frozenset())
    )
    assert verdict.decisions[0].status.value == "open" and verdict.decisions[0].blocking
    store.finish_scan(again, ScanOutcome(verdict=verdict, completed_scanners=["bandit"]))
    assert store.baseline_sets(again) == ({"s"}, {"s"})


def test_errored_scan_marks_nothing_fixed(store_url):
    store = Store.open(store_url)
    record_scan(store, [finding("B1", "a")])
    errored = record_scan(store, [], errors=[ScanError("bandit", "scanner.timeout", "slow")])
    assert store.resolve_scan(str(errored)).status == "errored"
    assert store.fixed_in(errored) == []
    assert {r.state for r in store.lifecycle("repo")} == {"open"}
    assert store.complete_scan_at(KEY, "none") is None


def test_incomplete_and_interrupted_scans(store_url):
    store = Store.open(store_url)
    left = store.begin_scan(ScanMeta(kind="code", target="repo"))
    assert store.resolve_scan(str(left)).status == "incomplete"
    stopped = store.begin_scan(ScanMeta(kind="code", target="repo"))
    store.mark_interrupted(stopped, "SIGTERM")
    scan = store.resolve_scan(str(stopped))
    assert (scan.status, scan.verdict, scan.exit_code) == ("interrupted", "error", 2)


def test_host_checks_are_stored(store_url):
    store = Store.open(store_url)
    scan_id = store.begin_scan(ScanMeta(kind="hosts", target="fleet"))
    verdict = judge(GateInput(findings=[], policy=Policy(), target="fleet"))
    check = HostCheckRecord(
        scan_id=0,
        host="web1",
        check_id="ssh-root-login",
        status="fail",
        expected="no",
        observed="yes",
        references=["CIS 5.2.7"],
    )
    store.finish_scan(scan_id, ScanOutcome(verdict=verdict, host_checks=[check]))
    (stored,) = store.host_checks(scan_id)
    assert (stored.host, stored.status, stored.references) == ("web1", "fail", ["CIS 5.2.7"])


def test_resolve_scan_errors_are_clear(store_url):
    store = Store.open(store_url)
    with pytest.raises(StoreError, match="holds no scans yet"):
        store.resolve_scan("latest")
    with pytest.raises(StoreError, match="'latest' or a scan id"):
        store.resolve_scan("yesterday")


def test_reopening_the_store_keeps_data_and_schema(store_url):
    record_scan(Store.open(store_url), [finding("B1", "a")])
    again = Store.open(store_url)
    assert len(again.scans()) == 1
    with create_engine(store_url).connect() as conn:
        revision = conn.execute(text("select version_num from alembic_version")).scalar()
    assert revision == head_revision()


def test_head_revision_constant_names_the_newest_migration():
    """Opening a store skips Alembic when the database is at HEAD_REVISION: a migration
    added without moving the constant would never run."""
    assert head_revision() == HEAD_REVISION


def test_database_from_a_newer_release_is_refused(store_url):
    Store.open(store_url)
    with create_engine(store_url).begin() as conn:
        conn.execute(text("update alembic_version set version_num = '9999'"))
    with pytest.raises(StoreError, match="newer compliance release"):
        Store.open(store_url)


def test_cli_scan_on_either_backend(store_url, tmp_path):
    tree = write_tree(tmp_path / "repo", {"a.py": "import pickle\npickle.loads(b'')\n"})
    run = run_cli("scan", tree, "--db", store_url)
    # pickle.loads of a constant is a sink no request reaches: reported at medium, it does
    # not block (classification.sinks: confirmed); the class and bandit's own label are kept
    assert run.code == 0, run.stderr
    rows = run_cli("findings", "--db", store_url, "--json").json()
    assert {r["rule_id"] for r in rows} == {"B403", "B301"}
    load = next(r for r in rows if r["rule_id"] == "B301")
    assert (load["severity"], load["tool_severity"], load["weakness"]) == (
        "medium",
        "MEDIUM",
        "CWE-502 deserialization",
    )
    assert run_cli("scans", "--db", store_url, "--json").json()[0]["status"] == "complete"


def test_unreachable_postgres_is_a_clear_error(tmp_path):
    tree = write_tree(tmp_path / "repo", {"a.py": "x = 1\n"})
    run = run_cli("scan", tree, "--db", "postgresql+psycopg://u:secret@127.0.0.1:1/db")
    assert run.code == 2
    assert "cannot open database postgresql+psycopg://u:***@127.0.0.1:1/db" in run.stderr
    assert "secret" not in run.stderr
