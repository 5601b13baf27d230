"""Upgrades from the first schema, retention, and crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from compliance.store import Store
from compliance.store.models import LifecycleRecord, ScanRecord
from compliance.store.repository import utcnow
from tests.conftest import run_cli, write_tree
from tests.test_scan_bandit_e2e import VERSION_OK, fake_bandit
from tests.test_store import finding, record_scan

FIXTURES = Path(__file__).parent / "fixtures"


def test_database_from_the_first_schema_opens_and_upgrades(tmp_path):
    """schema-0001.sql is a dump of a database the first release (revision 0001) wrote.

    Kept as SQL text rather than a .db file so it is reviewable and not caught by
    the *.db ignore rule (which once left it out of a clean clone)."""
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as old:
        old.executescript((FIXTURES / "schema-0001.sql").read_text(encoding="utf-8"))
    run = run_cli("db", "upgrade", "--db", db)
    assert run.code == 0, run.stderr
    assert "schema is at revision" in run.stdout
    (scan,) = run_cli("scans", "--db", db, "--json").json()
    assert scan["target"] == "example/vulnerable-app" and scan["verdict"] == "fail"
    stored = run_cli("findings", "--db", db, "--json").json()
    assert {f["rule_id"] for f in stored if f["blocking"]} == {"B602", "B324"}


def test_a_scan_from_the_first_schema_is_never_a_baseline(tmp_path):
    """Its tree state was not recorded, so it may have been dirty: refused, not trusted."""
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as old:
        old.executescript((FIXTURES / "schema-0001.sql").read_text(encoding="utf-8"))
    tree = write_tree(tmp_path / "app", {"app.py": "print('hello')\n"})
    run = run_cli("scan", tree, "--db", db, "--target", "example/vulnerable-app", "--baseline", "1")
    assert run.code == 2, run.stdout + run.stderr
    assert "scan 1 cannot serve as a baseline: its tree state is unknown" in run.stderr
    (scan,) = [s for s in run_cli("scans", "--db", db, "--json").json() if s["id"] == 1]
    assert (scan["tree_dirty"], scan["scan_root"], scan["scanners"]) == (None, None, None)


def test_prune_keeps_newest_complete_scan_and_open_history(store_url):
    store = Store.open(store_url)
    first = record_scan(store, [finding("B1", "a"), finding("B2", "b")])
    second = record_scan(store, [finding("B1", "a")])  # b fixed here
    third = record_scan(store, [finding("B1", "a")], target="other")
    with Session(store.engine) as session:
        for scan in session.exec(select(ScanRecord)).all():
            scan.started_at = utcnow() - timedelta(days=100)
            session.add(scan)
        session.commit()
    with Session(store.engine) as session:
        for row in session.exec(select(LifecycleRecord)).all():
            if row.state == "fixed":
                row.fixed_at = utcnow() - timedelta(days=100)
                session.add(row)
        session.commit()
    counts = store.prune(keep_days=30)
    assert counts["scans"] == 1 and counts["findings"] == 2 and counts["fixed_history"] == 1
    assert {s.id for s in store.scans()} == {second, third}
    assert first not in {s.id for s in store.scans()}
    rows = {r.fingerprint: r for r in store.lifecycle("repo")}
    assert set(rows) == {"a"} and rows["a"].first_seen_scan_id == first


def test_sigkill_mid_scan_leaves_an_incomplete_scan_never_a_pass(tmp_path, db):
    """Mock: a stand-in bandit that hangs, so the kill lands mid-scan deterministically."""
    pidfile = tmp_path / "tool.pid"
    env = {
        **os.environ,
        **fake_bandit(
            tmp_path,
            VERSION_OK
            + f"""
import os, time
open({str(pidfile)!r}, "w").write(str(os.getpid()))
time.sleep(120)
""",
        ),
    }
    env.pop("COMPLIANCE_DB", None)
    tree = write_tree(tmp_path / "repo", {"a.py": "x = 1\n"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "compliance", "scan", str(tree), "--db", db],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        if pidfile.exists() and pidfile.read_text():
            break
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    os.kill(int(pidfile.read_text()), signal.SIGKILL)
    (scan,) = run_cli("scans", "--db", db, "--json").json()
    assert scan["status"] == "incomplete" and scan["verdict"] is None
    run = run_cli("scan", tree, "--db", db, "--baseline", str(scan["id"]))
    assert run.code == 2
    assert "is incomplete, not complete, and cannot serve as a baseline" in run.stderr
    assert run_cli("scan", tree, "--db", db).code == 0  # the database is still fine
