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

GOOD_SETUP = (
    "mkdir -p /tmp/wz/conf.d/nested",
    "printf 'Storage=persistent\\n' > /tmp/wz/conf.d/nested/journal.conf",
    "printf 'not a conf\\n' > /tmp/wz/conf.d/readme.txt",
    "mkfifo /tmp/wz/fifo",
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
        running.start(dataclasses.replace(good, setup=good.setup + GOOD_SETUP))
        running.start(dataclasses.replace(bad, setup=bad.setup + BAD_SETUP))
        running.wait_ready()
        running.write_known_hosts()
        yield running
