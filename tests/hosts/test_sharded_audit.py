"""Sharded audits end to end: N real `compliance audit --shard i/N` processes against real
sshd lab hosts, all writing one real PostgreSQL, then `report --group` over the fleet.

The fleet has more names than the lab has sshd hosts: several inventory names point at
the same real sshd (good or bad), which is what a shard sees of a fleet anyway: names.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from compliance.hosts.inventory import load_inventory
from compliance.hosts.shard import Shard
from tests.hosts.lab import Lab

COMPLIANCE = str(Path(sys.executable).parent / "compliance")
# sha256 slots of 3: good-1 1, good-2 2, good-3 1, good-e 3, bad-1 1, bad-a 2, so shards 1
# and 2 hold a bad host (exit 1) and shard 3 only a good one (exit 0)
GOOD = ["good-1", "good-2", "good-3", "good-e"]
BAD = ["bad-1", "bad-a"]
SHARDS = 3


def fleet_inventory(lab: Lab, path: Path) -> Path:
    lines = [
        "defaults:",
        "  address: 127.0.0.1",
        "  user: root",
        f"  key: {lab.client_key}",
        f"  known_hosts: {lab.known_hosts}",
        "hosts:",
        *(f"  {name}: {{port: {lab.hosts['good'].port}}}" for name in GOOD),
        *(f"  {name}: {{port: {lab.hosts['bad'].port}}}" for name in BAD),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def audit(inventory: Path, policy: Path, db: str, shard: str, group: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(COMPLIANCE, "audit", "--inventory", str(inventory), "--host-policy", str(policy)),
            *("--db", db, "--shard", shard, "--group", group, "--output", "json:-"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMPLIANCE, *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_parallel_shards_report_the_whole_fleet_once(
    lab: Lab, lab_policy: Path, tmp_path: Path, postgres
) -> None:
    db = postgres.new_database()
    inventory = fleet_inventory(lab, tmp_path / "fleet.yml")
    hosts = load_inventory(inventory).hosts
    slices = [{h.name for h in Shard(i, SHARDS).select(hosts)} for i in range(1, SHARDS + 1)]
    assert [bool(s & set(BAD)) for s in slices] == [True, True, False], slices

    procs = [audit(inventory, lab_policy, db, f"{i}/{SHARDS}", "night-1") for i in (1, 2, 3)]
    runs = [(p, *p.communicate(timeout=300)) for p in procs]
    for i, (proc, out, err) in enumerate(runs, start=1):
        wanted = 1 if slices[i - 1] & set(BAD) else 0
        assert proc.returncode == wanted, (i, out, err)
        # --output json:- : stdout holds the shard's report alone, the summary is on stderr
        assert json.loads(out)["scan"]["scan_group"] == "night-1"
        assert f"(shard {i}/{SHARDS} of group night-1)" in err

    group = cli("report", "--db", db, "--group", "night-1", "--format", "json", "--output", "-")
    assert group.returncode == 1, group.stderr  # the bad hosts violate the policy
    data = json.loads(group.stdout)
    checks_per_host = Counter(c["host"] for c in data["host_checks"])
    assert set(checks_per_host) == set(GOOD) | set(BAD)  # every host …
    assert len(set(checks_per_host.values())) == 1  # … exactly once (same number of checks)
    assert {f["host"] for f in data["findings"] if f["blocking"]} == set(BAD)
    assert data["scan"]["scan_group"] == "night-1" and data["scan"]["verdict"] == "fail"

    listed = json.loads(cli("scans", "--db", db, "--group", "night-1", "--json").stdout)
    assert sorted(s["shard"] for s in listed) == [f"{i}/{SHARDS}" for i in (1, 2, 3)]
    assert all(s["status"] == "complete" for s in listed)

    # a night where shard 2's job never ran: the fleet is not judged on two thirds of it
    for i in (1, 3):
        proc = audit(inventory, lab_policy, db, f"{i}/{SHARDS}", "night-2")
        proc.communicate(timeout=300)
    missing = cli(
        "report",
        "--db",
        db,
        "--group",
        "night-2",
        "--format",
        "junit",
        "--output",
        str(tmp_path / "night-2.xml"),
    )
    assert missing.returncode == 2, missing.stderr
    assert f"shard 2/{SHARDS} stored no scan in group night-2" in missing.stderr
