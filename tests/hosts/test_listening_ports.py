"""`listening_ports` reads `ss` where it works and /proc/net where not: both must agree.

Each test runs the shipped script with the real `sh`, `ss` and `awk` in a fresh network
namespace (root, `unshare --net`) holding sockets of every kind the check tells apart:
dual-stack and v6-only wildcards, loopback, an interface-bound listener, bound and
connected UDP. A stand-in `ss` bound over the real one shows the fallback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compliance.hosts.batch import SectionResult
from compliance.hosts.checks.interface import CheckStatus
from compliance.hosts.checks.listening_ports import (
    SCRIPT,
    ListeningPorts,
    ListeningPortsParams,
    listening,
)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ss") is None,
    reason="needs root, unshare and ss (iproute2)",
)

SOCKETS = """
import json, socket, subprocess, sys
s = socket.socket
a = s(socket.AF_INET6, socket.SOCK_STREAM); a.bind(("::", 7001)); a.listen()
b = s(socket.AF_INET6, socket.SOCK_STREAM)
b.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); b.bind(("::1", 7002)); b.listen()
c = s(socket.AF_INET6, socket.SOCK_DGRAM); c.bind(("::", 7003))
d = s(socket.AF_INET, socket.SOCK_DGRAM); d.bind(("127.0.0.1", 7004))
e = s(socket.AF_INET, socket.SOCK_STREAM)
e.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
e.bind(("127.0.0.1", 7005)); e.listen()
f = s(socket.AF_INET6, socket.SOCK_DGRAM)
f.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); f.bind(("::", 7006))
g = s(socket.AF_INET, socket.SOCK_DGRAM); g.bind(("127.0.0.1", 7007)); g.connect(("127.0.0.1", 9))
h = s(socket.AF_INET, socket.SOCK_STREAM); h.bind(("0.0.0.0", 7008))  # bound, not listening
print(json.dumps([subprocess.run(["sh", "-c", x], capture_output=True, text=True).stdout
                  for x in sys.argv[1:]]))
"""

EXPECTED = {
    ("tcp", 7001, "::"),
    ("tcp", 7002, "::1"),
    ("tcp", 7005, "127.0.0.1"),
    ("udp", 7003, "::"),
    ("udp", 7004, "127.0.0.1"),
    ("udp", 7006, "::"),
}


def in_netns(*scripts: str, wrap: list[str] | None = None) -> list[str]:
    command = [
        *(wrap or []),
        "unshare",
        "--net",
        "sh",
        "-c",
        'ip link set lo up && exec "$@"',
        "-",
        sys.executable,
        "-c",
        SOCKETS,
        *scripts,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    outputs: list[str] = json.loads(done.stdout)
    return outputs


def proc_only(script: str) -> str:
    return script.replace("command -v ss ", "command -v no-such-ss-here ")


def test_ss_and_proc_net_give_the_same_sockets() -> None:
    ours, proc = in_netns(SCRIPT, proc_only(SCRIPT))
    assert ours.startswith("== ss-tcp\n") and "== proc" not in ours
    assert "== proc\n" in proc
    assert listening(ours, False) == listening(proc, False) == EXPECTED
    loopback_free = {s for s in EXPECTED if s[2] not in ("127.0.0.1", "::1")}
    assert listening(ours, True) == listening(proc, True) == loopback_free


def test_a_failing_ss_falls_back_to_proc_net(tmp_path: Path) -> None:
    """A locked-down container refuses netlink: ss prints an error and exits 1."""
    ss = shutil.which("ss")
    assert ss is not None
    stand_in = tmp_path / "ss"
    stand_in.write_text(
        "#!/bin/sh\necho 'Cannot open netlink socket: Permission denied' >&2\nexit 1\n"
    )
    stand_in.chmod(0o755)
    wrap = ["unshare", "--mount", "sh", "-c", f'mount --bind {stand_in} {ss} && exec "$@"', "-"]
    (output,) = in_netns(SCRIPT, wrap=wrap)
    assert "== proc\n" in output
    assert listening(output, False) == EXPECTED


def judge(output: str) -> CheckStatus:
    params = ListeningPortsParams(allow=("tcp/22",))
    return ListeningPorts().evaluate(params, SectionResult(output, 0)).status


def test_output_that_does_not_parse_is_an_error_never_nothing_listening() -> None:
    assert judge("== ss-tcp\n0 128 0.0.0.0:22 0.0.0.0:*\n== ss-udp\n") is CheckStatus.PASS
    assert judge("== ss-tcp\nLISTEN 0 128 [::]:22 [::]:*\n== ss-udp\n") is CheckStatus.PASS
    assert judge("== ss-tcp\n0 128 0.0.0.0:23 0.0.0.0:*\n== ss-udp\n") is CheckStatus.FAIL
    for output in (
        "",  # nothing at all
        "== ss-tcp\n0 128 0.0.0.0:22 0.0.0.0:*\n",  # UDP table missing (cut short)
        "== ss-tcp\nsomething else entirely\n== ss-udp\n",
        "== ss-tcp\n0 128 not-an-address:22 0.0.0.0:*\n== ss-udp\n",
        "== ss-tcp\n0 128 0.0.0.0:ssh 0.0.0.0:*\n== ss-udp\n",
        "== proc\n",  # /proc/net unreadable
    ):
        assert judge(output) is CheckStatus.ERROR, output
