"""Two real sshd lab hosts whose files differ, for the Wazuh SCA tests.

They reuse the lab's host specs (tests/hosts/conftest.py) and add, inside each host's own
/tmp (a tmpfs in its mount namespace), the files the Wazuh fixture policy looks at.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hosts.conftest import bad_spec, good_spec
from tests.hosts.lab import Lab, missing_requirements

DATA = Path(__file__).parent.parent / "data"
SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "wazuh-sca"

DEBIAN_11 = {  # so the shipped CIS Debian 11 policy's requirements hold on wzgood
    "/etc/debian_version": "11.9\n",
    "/etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nNAME="Debian GNU/Linux"\n'
    'VERSION_ID="11"\nVERSION="11 (bullseye)"\nID=debian\n',
}
UBUNTU_22_04 = {  # … and the CIS Ubuntu 22.04 policy's on wzbad
    "/etc/os-release": 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\n'
    'VERSION="22.04.4 LTS (Jammy Jellyfish)"\nID=ubuntu\nID_LIKE=debian\n',
}
GOOD_SETUP = (
    "mkdir -p /tmp/wz/conf.d/nested",
    "printf 'Storage=persistent\\n' > /tmp/wz/conf.d/nested/journal.conf",
    "printf 'not a conf\\n' > /tmp/wz/conf.d/readme.txt",
    "mkfifo /tmp/wz/fifo",
    "mkdir -p /tmp/wz/onlydirs/sub",
    "printf 'x\\n' > /tmp/wz/onlydirs/sub/match.conf",
    "printf '#!/bin/sh\\necho denied\\nexit 126\\n' > /tmp/wz/e126 && chmod 755 /tmp/wz/e126",
)
BAD_SETUP = (
    "mkdir -p /tmp/wz/conf.d",
    "printf '#Storage=persistent\\nStorage=auto\\n' > /tmp/wz/conf.d/journal.conf",
)


@pytest.fixture(scope="session")
def wazuh_lab() -> Iterator[Lab]:
    missing = missing_requirements()
    if missing:
        message = f"real sshd test hosts need: {', '.join(missing)} (scripts/test.sh installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    good = good_spec("wzgood")
    bad = bad_spec("wzbad")
    with Lab() as running:
        running.start(
            dataclasses.replace(
                good, setup=good.setup + GOOD_SETUP, files={**good.files, **DEBIAN_11}
            )
        )
        running.start(
            dataclasses.replace(
                bad, setup=bad.setup + BAD_SETUP, files={**bad.files, **UBUNTU_22_04}
            )
        )
        running.wait_ready()
        running.write_known_hosts()
        yield running
