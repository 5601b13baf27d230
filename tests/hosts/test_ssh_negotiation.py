"""What our side of the handshake picks with a real OpenSSH server (the lab's sshd)."""

from __future__ import annotations

from compliance.hosts.ssh import CIPHER_PREFERENCE, Connector, SshOptions
from tests.hosts.lab import Lab
from tests.hosts.test_ssh_faults import lab_host


def test_an_openssh_server_gets_aes_gcm_and_our_preferred_key_exchange(lab: Lab) -> None:
    """AES-GCM, not CTR + HMAC: paramiko checks an HMAC per packet in a Python loop."""
    session = Connector(SshOptions()).open(lab_host(lab, "good"))
    try:
        transport = session.transport()
        assert transport.local_cipher == transport.remote_cipher == CIPHER_PREFERENCE[0]
        assert transport.host_key_type == "ssh-ed25519"
        result = session.run("echo ok", b"", timeout=10, limit=100)
        assert (result.output, result.exit_status) == (b"ok\n", 0)
    finally:
        session.close()
