"""`sshd_config` against real sshd hosts: Match blocks that relax an audited key fail.

Each host is a real OpenSSH sshd in its own mount namespace with its own
/etc/ssh/sshd_config; the check asks that host's real `sshd -T -C …`, over SSH.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from compliance.hosts.audit import audit_host
from compliance.hosts.inventory import load_inventory
from compliance.hosts.policy import load_host_policy
from compliance.hosts.ssh import Connector, SshOptions
from tests.hosts.conftest import PASSWD
from tests.hosts.lab import HostSpec, Lab, lab_hosts, missing_requirements

HARDENED = "HostKey @HOSTKEY@\nPermitRootLogin no\nPasswordAuthentication no\nMaxAuthTries 3\n"
CONFIGS = {
    "plain": HARDENED,
    "match-address": HARDENED + "Match Address *\n  PermitRootLogin yes\n",
    "match-user": HARDENED + "Match User alice\n  PasswordAuthentication yes\n",
    "match-tightens": HARDENED + "Match User alice\n  MaxAuthTries 2\n",
    "match-group": HARDENED + "Match Group admins\n  MaxAuthTries 10\n",
    "match-group-empty": HARDENED + "Match Group nobody-here\n  MaxAuthTries 10\n",
    "match-include": HARDENED.replace("HostKey", "Include /etc/ssh/sshd_config.d/*.conf\nHostKey"),
}
GROUP = "root:x:0:\nadmins:x:1001:bob\nnobody-here:x:1002:\n"
USERS = PASSWD + "alice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n"
POLICY = """\
version: 1
name: sshd-match
checks:
  - {id: root-login, title: no root login, kind: sshd_config, key: permitrootlogin, equals: "no"}
  - {id: passwords, title: no passwords, kind: sshd_config, key: passwordauthentication,
     equals: "no"}
  - {id: auth-tries, title: at most 4 tries, kind: sshd_config, key: maxauthtries, max: 4}
"""


@pytest.fixture(scope="module")
def match_lab() -> Iterator[Lab]:
    if missing_requirements():
        pytest.skip(f"real sshd test hosts need: {', '.join(missing_requirements())}")
    specs = []
    for name, config in CONFIGS.items():
        files = {"/etc/ssh/sshd_config": config, "/etc/passwd": USERS, "/etc/group": GROUP}
        setup: tuple[str, ...] = ()
        if name == "match-include":  # a private sshd_config.d with one drop-in
            setup = (
                "mount -t tmpfs lab-sshd /etc/ssh/sshd_config.d",
                "printf 'Match Address 10.0.0.0/8\\n  MaxAuthTries 9\\n' "
                "> /etc/ssh/sshd_config.d/lab.conf",
            )
        specs.append(HostSpec(name, files=files, setup=setup))
    yield from lab_hosts(specs)


def verdicts(lab: Lab, tmp_path: Path, name: str) -> dict[str, tuple[str, str, str]]:
    inventory = load_inventory(lab.inventory(tmp_path / "inv.yml", [name]))
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    report = audit_host(
        inventory.hosts[0], load_host_policy(policy).checks, Connector(SshOptions())
    )
    assert report.failure is None, report.failure
    return {
        r.check.id: (r.verdict.status.value, r.verdict.observed, r.verdict.reason)
        for r in report.results
    }


def test_hardened_without_match_passes(match_lab: Lab, tmp_path: Path) -> None:
    result = verdicts(match_lab, tmp_path, "plain")
    assert {k: v[0] for k, v in result.items()} == dict.fromkeys(result, "pass")
    assert result["root-login"][1] == "permitrootlogin no"


@pytest.mark.parametrize(
    ("host", "check", "observed"),
    [
        # hardened global settings, and a Match block that relaxes one key for everyone
        (
            "match-address",
            "root-login",
            "permitrootlogin yes under Match Address * (sshd -T -C "
            "user=root,host=audit.invalid,addr=192.0.2.1,",
        ),
        (
            "match-user",
            "passwords",
            "passwordauthentication yes under Match User alice (sshd -T -C user=alice,",
        ),
        (
            "match-group",
            "auth-tries",
            "maxauthtries 10 under Match Group admins (sshd -T -C user=bob,",
        ),  # bob is admins' member in /etc/group
        (
            "match-include",
            "auth-tries",
            "maxauthtries 9 under Match Address 10.0.0.0/8 (sshd "
            "-T -C user=root,host=audit.invalid,addr=10.0.0.0,",
        ),  # in sshd_config.d/lab.conf
    ],
)
def test_match_block_relaxing_a_key_fails(
    match_lab: Lab, tmp_path: Path, host: str, check: str, observed: str
) -> None:
    result = verdicts(match_lab, tmp_path, host)
    status, seen, _ = result[check]
    assert status == "fail", result[check]
    assert observed in seen
    assert "global: " in seen  # the global value passed: the Match block is what failed
    others = {k: v[0] for k, v in result.items() if k != check}
    assert others == dict.fromkeys(others, "pass")


def test_match_block_that_tightens_passes(match_lab: Lab, tmp_path: Path) -> None:
    result = verdicts(match_lab, tmp_path, "match-tightens")
    assert result["auth-tries"][0] == "pass"
    assert "connection contexts" in result["auth-tries"][1]


def test_match_group_without_member_is_an_error(match_lab: Lab, tmp_path: Path) -> None:
    result = verdicts(match_lab, tmp_path, "match-group-empty")
    status, _, reason = result["auth-tries"]
    assert status == "error"
    assert "group nobody-here has no member" in reason
