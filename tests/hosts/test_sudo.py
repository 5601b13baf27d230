"""`sudo: true` against a real sshd and the real sudo: a root-only check passes only through it.

One lab host (its own mount namespace) with two unprivileged users: `audit`, whom
/etc/sudoers lets run `/bin/sh` as root without a password, and `nosudo`, who has no rule.
/etc/shadow there is 0640 root:root, so the `no-empty-passwords` check can only read it as
root. The audit logs in as the user and runs the whole batch through `sudo -n /bin/sh -s`.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hosts.conftest import PASSWD, SHADOW
from tests.hosts.lab import HostSpec, Lab, missing_requirements

COMPLIANCE = str(Path(sys.executable).parent / "compliance")
POLICY = """\
version: 1
name: root-only
checks:
  - {id: shadow-readable, title: no empty passwords, severity: high, kind: local_users,
     rule: no-empty-passwords}
"""


@pytest.fixture(scope="module")
def sudo_lab() -> Iterator[Lab]:
    missing = missing_requirements() + ([] if shutil.which("sudo") else ["sudo"])
    if missing:
        pytest.skip(f"the sudo test host needs: {', '.join(missing)}")
    # unprivileged users read the lab's authorized key file, so they may traverse its folder
    root = Path(tempfile.mkdtemp(prefix="compliance-sudo-lab-", dir="/var/tmp"))
    root.chmod(0o711)
    users = "audit:x:1500:1500::/:/bin/sh\nnosudo:x:1501:1501::/:/bin/sh\n"
    with Lab(root) as lab:
        lab.start(
            HostSpec(
                "sudohost",
                files={
                    "/etc/passwd": PASSWD + users,
                    "/etc/shadow": SHADOW + "audit:*:19000:0:99999:7:::\nnosudo:*:19000::::::\n",
                    "/etc/sudoers": "Defaults !lecture\naudit ALL=(root) NOPASSWD: /bin/sh\n",
                },
                modes={"/etc/shadow": 0o640, "/etc/sudoers": 0o440},
            )
        )
        lab.wait_ready()
        lab.write_known_hosts()
        yield lab


def audit(
    lab: Lab, tmp_path: Path, user: str, sudo: bool, ansible: bool = False
) -> tuple[int, str, list[dict[str, str]]]:
    host = lab.hosts["sudohost"]
    inventory = tmp_path / f"{user}-{sudo}.yml"
    flag = str(sudo).lower()
    if ansible:
        inventory.write_text(
            "all:\n  hosts:\n    sudohost:\n"
            f"      {{ansible_host: 127.0.0.1, ansible_port: {host.port}, ansible_user: {user},"
            f" ansible_become: {flag}, ansible_ssh_private_key_file: {lab.client_key},"
            f" compliance_known_hosts: {lab.known_hosts}}}\n"
        )
    else:
        inventory.write_text(
            f"defaults: {{address: 127.0.0.1, key: {lab.client_key}, "
            f"known_hosts: {lab.known_hosts}}}\n"
            f"hosts:\n  sudohost: {{port: {host.port}, user: {user}, sudo: {flag}}}\n"
        )
    policy = tmp_path / "root-only.yml"
    policy.write_text(POLICY)
    db = tmp_path / f"{user}-{sudo}.db"
    args = ["audit", "--inventory", str(inventory), "--host-policy", str(policy), "--db", str(db)]
    done = subprocess.run(
        [COMPLIANCE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT status, observed FROM host_check").fetchall()
    checks = [{"status": status, "observed": observed} for status, observed in rows]
    return done.returncode, done.stdout + done.stderr, checks


@pytest.mark.parametrize("ansible", [False, True], ids=["sudo", "ansible_become"])
def test_root_only_check_passes_through_sudo(sudo_lab: Lab, tmp_path: Path, ansible: bool) -> None:
    code, output, checks = audit(sudo_lab, tmp_path, "audit", sudo=True, ansible=ansible)
    assert code == 0, output
    assert [c["status"] for c in checks] == ["pass"], checks


def test_the_same_check_without_sudo_is_an_error_not_a_pass(sudo_lab: Lab, tmp_path: Path) -> None:
    code, output, checks = audit(sudo_lab, tmp_path, "audit", sudo=False)
    assert code == 2, output
    assert [c["status"] for c in checks] == ["error"]
    assert "cannot read /etc/shadow" in checks[0]["observed"]


def test_a_user_without_sudo_rights_fails_the_host_clearly(sudo_lab: Lab, tmp_path: Path) -> None:
    code, output, checks = audit(sudo_lab, tmp_path, "nosudo", sudo=True)
    assert code == 2, output
    assert "`sudo -n` failed for nosudo on sudohost" in output, output
    assert [c["status"] for c in checks] == ["not-run"]
