"""Session-wide real sshd test hosts (see lab.py). They need root: CI runs as root.

Outside CI a machine without root/sshd/socat skips these tests; in CI (CI=true) the
fixture fails instead, so the SSH tests can never silently stop running there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hosts.lab import HostSpec, Lab, missing_requirements

DATA = Path(__file__).parent / "data"

GOOD_SSHD = """\
HostKey @HOSTKEY@
PermitRootLogin no
MaxAuthTries 3
PasswordAuthentication no
"""
BAD_SSHD = """\
HostKey @HOSTKEY@
PermitRootLogin yes
MaxAuthTries 6
"""
PASSWD = "root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n"
SHADOW = "root:*:19000:0:99999:7:::\nsshd:!:19000::::::\n"
LOGIN_GOOD = "PASS_MAX_DAYS\t90\nPASS_MIN_DAYS 1\nENCRYPT_METHOD SHA512\n"
LOGIN_BAD = "# PASS_MAX_DAYS 90\nPASS_MAX_DAYS\t99999\nENCRYPT_METHOD MD5\n"


def good_spec(name: str = "good") -> HostSpec:
    return HostSpec(
        name,
        files={
            "/etc/ssh/sshd_config": GOOD_SSHD,
            "/etc/passwd": PASSWD,
            "/etc/shadow": SHADOW,
            "/etc/login.defs": LOGIN_GOOD,
            "/etc/hostname": f"lab-{name}\n",
        },
        modes={"/etc/ssh/sshd_config": 0o600, "/etc/shadow": 0o640},
        tmp_options="nodev,nosuid,noexec",
        netns=True,
        sysctls={"net.ipv4.ip_forward": "0"},
    )


def bad_spec(name: str = "bad") -> HostSpec:
    return HostSpec(
        name,
        files={
            "/etc/ssh/sshd_config": BAD_SSHD,
            "/etc/passwd": PASSWD + "toor:x:0:0::/root:/bin/sh\nguest:x:1000:1000::/home:/bin/sh\n",
            "/etc/shadow": SHADOW + "toor:*:19000::::::\nguest::19000::::::\n",
            "/etc/login.defs": LOGIN_BAD,
            "/etc/hostname": f"lab-{name}\n",
        },
        modes={"/etc/ssh/sshd_config": 0o644, "/etc/shadow": 0o640},
        tmp_options="nodev,nosuid",
        netns=True,
        sysctls={"net.ipv4.ip_forward": "1"},
        extra_listeners=(23,),
        setup=("echo '+ +' > /tmp/hosts.equiv",),
    )


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    missing = missing_requirements()
    if missing:
        message = f"real sshd test hosts need: {', '.join(missing)} (scripts/test.sh installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with Lab() as running:
        running.start(good_spec())
        running.start(bad_spec())
        running.start(HostSpec("bastion"))  # root network namespace: can reach the others
        running.wait_ready()
        running.write_known_hosts()
        yield running


@pytest.fixture
def lab_policy() -> Path:
    return DATA / "lab-policy.yml"
