"""Hosts that fail: closed port, wrong host key, refused key, TOFU, hanging and flooding.

The first four use the real sshd lab hosts. A host whose command hangs and a host that
floods output cannot be made from a real sshd without changing it, so those two use a
small HOSTILE SSH SERVER written with paramiko (a stand-in, labelled as such here).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from compliance.hosts.audit import audit_host, audit_hosts
from compliance.hosts.checks.interface import CheckStatus
from compliance.hosts.inventory import Host
from compliance.hosts.policy import load_host_policy
from compliance.hosts.ssh import Connector, SshOptions
from tests.hosts.lab import Lab, free_port, keygen

ONE_CHECK = (
    "version: 1\nname: one\nchecks:\n  - {id: c, title: one check, kind: file_absent, path: /x}\n"
)


def lab_host(lab: Lab, lab_name: str, **changes: object) -> Host:
    base = Host(
        name=lab_name,
        address="127.0.0.1",
        port=lab.hosts[lab_name].port,
        user="root",
        key=lab.client_key,
        known_hosts=lab.known_hosts,
    )
    return Host(**{**base.__dict__, **changes})


def checks(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "one.yml"
    path.write_text(ONE_CHECK)
    return load_host_policy(path).checks


def test_closed_port_is_unreachable_and_others_finish(lab: Lab, tmp_path: Path) -> None:
    closed = lab_host(lab, "good", name="closed", port=free_port())
    reports = audit_hosts(
        [closed, lab_host(lab, "good")], checks(tmp_path), Connector(SshOptions())
    )
    assert reports[0].failure is not None and reports[0].failure.kind == "unreachable"
    assert "Connection refused" in reports[0].failure.reason
    assert reports[1].failure is None
    assert reports[1].results[0].verdict.status is CheckStatus.PASS


def test_wrong_host_key_is_refused(lab: Lab, tmp_path: Path) -> None:
    keygen(tmp_path / "other_key")
    pub = (tmp_path / "other_key.pub").read_text().split()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{lab.hosts['good'].port} {pub[0]} {pub[1]}\n")
    host = lab_host(lab, "good", known_hosts=known)
    report = audit_host(host, checks(tmp_path), Connector(SshOptions(trust_on_first_use=True)))
    assert report.failure is not None and report.failure.kind == "host-key"
    assert "CHANGED" in report.failure.reason
    assert f"known_hosts {known} has ssh-ed25519 SHA256:" in report.failure.reason
    assert known.read_text().count("\n") == 1  # TOFU never overwrites a changed key


def test_unknown_host_key_fails_unless_tofu_which_records_it(lab: Lab, tmp_path: Path) -> None:
    known = tmp_path / "kh"
    host = lab_host(lab, "good", known_hosts=known)
    report = audit_host(host, checks(tmp_path), Connector(SshOptions()))
    assert report.failure is not None and report.failure.kind == "host-key"
    assert "is not in" in report.failure.reason
    report = audit_host(host, checks(tmp_path), Connector(SshOptions(trust_on_first_use=True)))
    assert report.failure is None
    assert f"[127.0.0.1]:{lab.hosts['good'].port} ssh-ed25519 " in known.read_text()
    # the recorded key now verifies without the flag
    assert audit_host(host, checks(tmp_path), Connector(SshOptions())).failure is None


def test_hashed_known_hosts_entry(lab: Lab, tmp_path: Path) -> None:
    known = tmp_path / "hashed"
    known.write_text(lab.known_hosts.read_text())
    import subprocess

    subprocess.run(["ssh-keygen", "-H", "-f", str(known)], check=True, capture_output=True)
    assert "|1|" in known.read_text()
    host = lab_host(lab, "good", known_hosts=known)
    assert audit_host(host, checks(tmp_path), Connector(SshOptions())).failure is None


def test_refused_key_is_an_auth_failure(lab: Lab, tmp_path: Path) -> None:
    stranger = keygen(tmp_path / "stranger")
    host = lab_host(lab, "good", key=stranger)
    report = audit_host(host, checks(tmp_path), Connector(SshOptions()))
    assert report.failure is not None and report.failure.kind == "auth"
    assert "authentication failed for root@127.0.0.1" in report.failure.reason


def test_jump_host_via_direct_tcpip(lab: Lab, tmp_path: Path) -> None:
    jump = lab_host(lab, "bastion")
    target = lab_host(lab, "good", jump=jump)
    report = audit_host(target, checks(tmp_path), Connector(SshOptions()))
    assert report.failure is None, report.failure


class _Hostile(paramiko.ServerInterface):
    def __init__(self, mode: str):
        self.mode = mode

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        return paramiko.AUTH_SUCCESSFUL

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        def act() -> None:
            try:
                if self.mode == "flood":
                    block = b"A" * 65536
                    while not channel.closed:
                        channel.sendall(block)
                else:
                    time.sleep(60)
            except Exception:
                return

        threading.Thread(target=act, daemon=True).start()
        return True


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A HOSTILE paramiko SSH server (stand-in): mode chosen by the first byte of the port."""
    root = tmp_path_factory.mktemp("hostile")
    key = paramiko.RSAKey.generate(2048)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    known = root / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {key.get_name()} {key.get_base64()}\n")
    modes = iter(["hang", "flood"] * 10)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(key)
            transport.start_server(server=_Hostile(next(modes)))

    threading.Thread(target=serve, daemon=True).start()
    yield port, known
    listener.close()


def test_hanging_and_flooding_hosts_are_cut_off(
    hostile: tuple[int, Path], lab: Lab, tmp_path: Path
) -> None:
    port, known = hostile
    host = Host(
        name="hostile", address="127.0.0.1", port=port, key=lab.client_key, known_hosts=known
    )
    options = SshOptions(batch_timeout=2)
    hang = audit_host(host, checks(tmp_path), Connector(options))
    assert hang.failure is not None and "did not finish within 2 s" in hang.failure.reason
    started = time.monotonic()
    flood = audit_host(host, checks(tmp_path), Connector(options))
    assert flood.failure is not None and "output cut off after" in flood.failure.reason
    assert time.monotonic() - started < 30
