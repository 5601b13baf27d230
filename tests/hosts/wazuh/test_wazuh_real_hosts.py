"""Wazuh SCA policies against real OpenSSH sshd lab hosts whose files differ."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from compliance.hosts.audit import HostReport, audit_host
from compliance.hosts.inventory import load_inventory
from compliance.hosts.ssh import Connector, SshOptions
from compliance.hosts.wazuh.loader import load_wazuh_policy
from tests.hosts.lab import Lab
from tests.hosts.wazuh.conftest import DATA, SHARED

COMPLIANCE = str(Path(sys.executable).parent / "compliance")
FIXTURE = DATA / "wazuh-lab.yml"

EXPECTED = {
    "wzgood": {
        9001: "pass", 9002: "pass", 9003: "pass", 9004: "pass", 9005: "pass", 9006: "pass",
        9007: "not-applicable", 9008: "pass", 9009: "pass", 9010: "not-applicable",
        9011: "pass", 9012: "not-applicable", 9013: "error", 9014: "pass", 9015: "pass",
        9016: "pass", 9017: "pass", 9018: "pass", 9019: "not-applicable", 9020: "pass",
    },
    "wzbad": {
        9001: "fail", 9002: "fail", 9003: "fail", 9004: "fail", 9005: "fail", 9006: "fail",
        9007: "not-applicable", 9008: "not-applicable", 9009: "fail", 9010: "not-applicable",
        9011: "fail", 9012: "not-applicable", 9013: "error", 9014: "pass", 9015: "fail",
        9016: "fail", 9017: "fail", 9018: "fail", 9019: "fail", 9020: "pass",
    },
}  # fmt: skip


class CountingConnector(Connector):
    """The real connector; counts remote executions (one per host is the contract)."""

    runs = 0

    def open(self, host):  # type: ignore[no-untyped-def]
        session = super().open(host)
        original = session.run

        def run(*args, **kwargs):  # type: ignore[no-untyped-def]
            CountingConnector.runs += 1
            return original(*args, **kwargs)

        session.run = run  # type: ignore[method-assign]
        return session


def audit(lab: Lab, tmp_path: Path, name: str, policy: Path, timeout: float = 1) -> HostReport:
    inventory = load_inventory(lab.inventory(tmp_path / "inv.yml"))
    host = next(h for h in inventory.hosts if h.name == name)
    checks = load_wazuh_policy(policy, command_timeout=timeout).policy.checks
    report = audit_host(host, checks, Connector(SshOptions()))
    assert report.failure is None, report.failure
    return report


@pytest.mark.parametrize("name", ["wzgood", "wzbad"])
def test_fixture_policy_on_hosts_whose_files_differ(
    wazuh_lab: Lab, tmp_path: Path, name: str
) -> None:
    report = audit(wazuh_lab, tmp_path, name, FIXTURE)
    got = {int(r.check.id.rsplit("-", 1)[1]): r.verdict.status.value for r in report.results}
    assert got == EXPECTED[name]
    by_id = {int(r.check.id.rsplit("-", 1)[1]): r.verdict for r in report.results}
    assert "not run" in by_id[9013].reason and "time budget" in by_id[9013].reason
    if name == "wzbad":
        # the evidence is the line that decided and the rule that decided
        assert "/etc/login.defs: PASS_MAX_DAYS\t99999" in by_id[9002].observed
        assert "rule: f:$login -> n:^PASS_MAX_DAYS" in by_id[9002].observed
        assert "/etc/shadow: guest::" in by_id[9004].observed
        assert "/etc/ssh/sshd_config: PermitRootLogin yes" in by_id[9016].observed
        assert "could not open /tmp/wz/missing.defs" in by_id[9008].reason
    else:
        assert "/tmp/wz/conf.d/nested/journal.conf: Storage=persistent" in by_id[9009].observed
        assert "not a regular file" in by_id[9019].reason
        assert "command not found" in by_id[9012].reason


def test_4x_form_uses_os_regex(wazuh_lab: Lab, tmp_path: Path) -> None:
    policy = DATA / "wazuh-lab-4x.yml"
    good = {
        r.check.id: r.verdict.status.value
        for r in audit(wazuh_lab, tmp_path, "wzgood", policy).results
    }
    bad = {
        r.check.id: r.verdict.status.value
        for r in audit(wazuh_lab, tmp_path, "wzbad", policy).results
    }
    assert good == {"wazuh_lab_4x-9101": "pass", "wazuh_lab_4x-9102": "pass"}
    assert bad == {"wazuh_lab_4x-9101": "fail", "wazuh_lab_4x-9102": "fail"}


def test_one_remote_execution_and_each_file_read_once(wazuh_lab: Lab, tmp_path: Path) -> None:
    loaded = load_wazuh_policy(FIXTURE, command_timeout=1)
    script = loaded.program.plan.section.script
    # sshd_config, login.defs and shadow are each used by several checks: read once
    for path in ("/etc/ssh/sshd_config", "/etc/login.defs", "/etc/shadow"):
        assert script.count(f" {path} 1\n") == 1, path
    inventory = load_inventory(wazuh_lab.inventory(tmp_path / "inv.yml"))
    CountingConnector.runs = 0
    connector = CountingConnector(SshOptions())
    for host in inventory.hosts:
        report = audit_host(host, loaded.policy.checks, connector)
        assert report.failure is None
    assert CountingConnector.runs == len(inventory.hosts) == 2


def test_requirements_unmet_make_the_whole_policy_not_applicable(
    wazuh_lab: Lab, tmp_path: Path
) -> None:
    text = FIXTURE.read_text().replace("r:^lab-", "r:^production-")
    policy = tmp_path / "unmet.yml"
    policy.write_text(text)
    report = audit(wazuh_lab, tmp_path, "wzbad", policy)
    assert {r.verdict.status.value for r in report.results} == {"not-applicable"}
    assert "policy requirements not met (Only on lab hosts)" in report.results[0].verdict.observed
    assert "/etc/hostname: no line matches" in report.results[0].verdict.observed


def test_cli_audit_detects_a_wazuh_file_and_stores_results(wazuh_lab: Lab, tmp_path: Path) -> None:
    inventory = wazuh_lab.inventory(tmp_path / "fleet.yml", ["wzgood", "wzbad"])
    db = tmp_path / "audit.db"
    gate = tmp_path / "gate.yml"  # Wazuh checks carry no severity: they are medium
    gate.write_text("version: 1\nscanners: [bandit]\ngate:\n  fail_on: medium\n")
    run = subprocess.run(
        [COMPLIANCE, "audit", "--inventory", str(inventory), "--host-policy", str(FIXTURE),
         "--policy", str(gate), "--db", str(db)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr  # failed checks block; nothing errored
    assert "Traceback" not in run.stderr
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT host, check_id, status, observed FROM host_check").fetchall()
        findings = con.execute("SELECT rule_id, host FROM finding").fetchall()
    statuses = {(h, c): s for h, c, s, _ in rows}
    assert len(rows) == 40
    assert statuses[("wzgood", "wazuh_lab-9001")] == "pass"
    assert statuses[("wzbad", "wazuh_lab-9001")] == "fail"
    assert statuses[("wzbad", "wazuh_lab-9008")] == "not-applicable"
    # with the default 30 s budget `sleep 4` finishes and prints nothing: failed, not errored
    assert statuses[("wzgood", "wazuh_lab-9013")] == "fail"
    observed = {(h, c): o for h, c, _, o in rows}
    assert observed[("wzbad", "wazuh_lab-9001")].startswith("/etc/ssh/sshd_config: no line matches")
    assert "/etc/ssh/sshd_config: PermitRootLogin yes" in observed[("wzbad", "wazuh_lab-9016")]
    assert ("wazuh_lab-9001", "wzbad") in findings
    assert ("wazuh_lab-9001", "wzgood") not in findings


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/wazuh-sca is not present")
@pytest.mark.parametrize(
    ("name", "host"),
    [
        ("cis_debian11.yml", "wzgood"),  # wzgood says it is Debian 11
        ("cis_ubuntu22-04.yml", "wzbad"),  # wzbad says it is Ubuntu 22.04
        ("sca_unix_audit_4x_removed2025.yml", "wzgood"),
    ],
)
def test_shipped_wazuh_policies_load_and_run(
    wazuh_lab: Lab, tmp_path: Path, name: str, host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real CIS content: loads without error and runs; results are printed, not asserted."""
    loaded = load_wazuh_policy(SHARED / name)
    assert len(loaded.policy.checks) > 20
    report = audit(wazuh_lab, tmp_path, host, SHARED / name, timeout=30)
    counts = Counter(r.verdict.status.value for r in report.results)
    with capsys.disabled():
        print(f"\n{name}: {len(report.results)} checks in {report.seconds:.1f} s: {dict(counts)}")
        for warning in loaded.warnings:
            print(f"  {warning}")
        for result in report.results[:: max(1, len(report.results) // 8)]:
            first = result.verdict.observed.splitlines()[0] if result.verdict.observed else ""
            print(f"  {result.check.id} {result.verdict.status.value}: {first[:120]}")
