"""End to end against real OpenSSH sshd hosts in their own mount and network namespaces."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from compliance.hosts.audit import audit_host
from compliance.hosts.checks.interface import CheckStatus
from compliance.hosts.inventory import load_inventory
from compliance.hosts.policy import load_host_policy
from compliance.hosts.ssh import Connector, SshOptions
from tests.hosts.lab import Lab

COMPLIANCE = [str(Path(sys.executable).parent / "compliance")]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMPLIANCE, *args], capture_output=True, text=True, timeout=300, check=False
    )


def statuses(lab: Lab, tmp_path: Path, policy: Path, name: str) -> dict[str, tuple[str, str]]:
    inventory = load_inventory(lab.inventory(tmp_path / "inv.yml"))
    host = next(h for h in inventory.hosts if h.name == name)
    checks = load_host_policy(policy).checks
    report = audit_host(host, checks, Connector(SshOptions()))
    assert report.failure is None, report.failure
    return {r.check.id: (r.verdict.status.value, r.verdict.observed) for r in report.results}


def test_compliant_host_passes_every_check(lab: Lab, lab_policy: Path, tmp_path: Path) -> None:
    result = statuses(lab, tmp_path, lab_policy, "good")
    expected_na = {"sshd-service", "rhel-only"}  # no systemd in the lab; lab hosts are Debian
    for check_id, (status, observed) in result.items():
        wanted = CheckStatus.NOT_APPLICABLE if check_id in expected_na else CheckStatus.PASS
        assert status == wanted, (check_id, status, observed)
    assert result["tmp-noexec"][1].startswith("/tmp tmpfs rw,nosuid,nodev,noexec")
    assert result["ip-forward"][1] == "net.ipv4.ip_forward = 0"


def test_non_compliant_host_fails_what_differs(lab: Lab, lab_policy: Path, tmp_path: Path) -> None:
    result = statuses(lab, tmp_path, lab_policy, "bad")
    failed = {k for k, (status, _) in result.items() if status == "fail"}
    assert failed == {
        "sshd-root-login",
        "sshd-max-auth-tries",
        "sshd-config-mode",
        "login-defs-max-days",
        "login-defs-content",
        "no-hosts-equiv",
        "uid0",
        "empty-passwords",
        "ip-forward",
        "tmp-noexec",
        "ports",
    }
    assert result["uid0"][1] == "UID 0: root, toor"
    assert "guest" in result["empty-passwords"][1]
    assert "tcp/23" in result["ports"][1]
    assert result["login-defs-max-days"][1] == "PASS_MAX_DAYS\t99999"  # the comment is skipped
    assert "$" not in result["empty-passwords"][1]  # names only, never hashes


def test_cli_audit_stores_every_check_and_gates(lab: Lab, lab_policy: Path, tmp_path: Path) -> None:
    inventory = lab.inventory(tmp_path / "fleet.yml", ["good", "bad"])
    db = tmp_path / "audit.db"
    good = run_cli(
        "audit",
        "--inventory",
        str(inventory),
        "--host-policy",
        str(lab_policy),
        "--hosts",
        "good",
        "--db",
        str(db),
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert "good: ok 14 pass, 0 fail, 2 n/a, 0 error" in good.stdout
    both = run_cli(
        "audit", "--inventory", str(inventory), "--host-policy", str(lab_policy), "--db", str(db)
    )
    assert both.returncode == 1, both.stdout + both.stderr
    assert "bad: ok 3 pass, 11 fail, 2 n/a, 0 error" in both.stdout
    findings = json.loads(run_cli("findings", "--scan", "latest", "--json", "--db", str(db)).stdout)
    assert {f["host"] for f in findings} == {"bad"}
    root_login = next(f for f in findings if f["rule_id"] == "sshd-root-login")
    assert root_login["evidence"] == "permitrootlogin yes"
    assert "cis-debian-12:5.1.20" in root_login["references"]
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT host, count(*) FROM host_check WHERE scan_id = "
            "(SELECT max(id) FROM scan) GROUP BY host"
        ).fetchall()
    assert dict(rows) == {"good": 16, "bad": 16}


def test_ansible_inventory_and_baseline_policy(lab: Lab, tmp_path: Path) -> None:
    host = lab.hosts["bad"]
    inventory = tmp_path / "ansible.yml"
    inventory.write_text(
        "all:\n  vars:\n    ansible_user: root\n"
        f"    ansible_ssh_private_key_file: {lab.client_key}\n"
        f"    compliance_known_hosts: {lab.known_hosts}\n"
        "  children:\n    web:\n      hosts:\n"
        f"        bad: {{ansible_host: 127.0.0.1, ansible_port: {host.port}}}\n"
    )
    db = tmp_path / "a.db"
    result = run_cli("audit", "--inventory", str(inventory), "--hosts", "web", "--db", str(db))
    # the shipped baseline: the bad host violates it; no systemd in the lab → service errors
    assert result.returncode == 2, result.stdout + result.stderr
    assert "systemd is not PID 1" in result.stderr
    findings = json.loads(run_cli("findings", "--json", "--db", str(db)).stdout)
    ids = {f["rule_id"] for f in findings}
    assert {"ssh-permit-root-login", "users-only-root-uid0", "net-ip-forward", "tmp-noexec"} <= ids


def test_policy_values_cannot_inject_shell(lab: Lab, tmp_path: Path) -> None:
    marker = "/var/tmp/compliance-injected"
    Path(marker).unlink(missing_ok=True)
    policy = tmp_path / "evil.yml"
    evil = [
        f"/etc/x'; touch {marker}; echo '",
        f'/etc/x"; touch {marker}; echo "',
        f"/etc/$(touch {marker})",
        f"/etc/`touch {marker}`",
    ]
    lines = ["version: 1", "name: evil", "checks:"]
    for i, path in enumerate(evil):
        quoted = json.dumps(path)
        lines.append(f"  - {{id: c{i}, title: evil path, kind: file_absent, path: {quoted}}}")
        lines.append(f"  - {{id: m{i}, title: evil mode, kind: file_mode, path: {quoted}}}")
        lines.append(
            f"  - {{id: f{i}, title: evil content, kind: file_content, path: {quoted},"
            " pattern: x, missing: pass}"
        )
    lines.append(f'  - {{id: p, title: evil pkg, kind: package, name: "a;touch {marker}"}}')
    policy.write_text("\n".join(lines[:-1]) + "\n")
    result = statuses(lab, tmp_path, policy, "good")
    assert not Path(marker).exists()
    assert all(status in ("pass", "fail") for status, _ in result.values()), result
    assert result["c0"][0] == "pass" and result["m0"][0] == "fail"
    # a package name with shell syntax is refused when the policy loads
    policy.write_text("\n".join(lines) + "\n")
    rejected = run_cli("policy", "check-hosts", str(policy))
    assert rejected.returncode == 2 and f"{policy}:" in rejected.stderr
    assert "is not a package name" in rejected.stderr
