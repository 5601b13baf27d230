"""One paramiko connection per host: verified host key, bounded output, hard deadlines.

Everything that can go wrong before a host's checks run (no route, refused, not SSH, host
key unknown or changed, key refused, sudo wants a password) becomes a `HostFailure` with
one line a person can act on. Nothing here ever logs or returns a password, a key or a
passphrase: the error texts are built from the host's name, address and user only.

Host keys are checked as OpenSSH does: against known_hosts (default ~/.ssh/known_hosts),
including hashed entries and `[host]:port` entries for non-default ports (paramiko's
HostKeys understands both). An unknown key fails the host unless trust-on-first-use was
asked for explicitly, in which case the key is appended to that known_hosts file and the
next run verifies against it. A changed key always fails.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from compliance.hosts.inventory import Host
from compliance.hosts.known_hosts import KnownHosts, KnownHostsCache, KnownHostsError


@dataclass(frozen=True)
class SshOptions:
    connect_timeout: float = 10.0
    """TCP connect and SSH banner."""
    auth_timeout: float = 15.0
    trust_on_first_use: bool = False
    batch_timeout: float | None = None
    """Whole-batch deadline; None: the sum of the sections' budgets plus slack."""


class HostFailure(Exception):
    """The host could not be audited at all. `kind`: unreachable, host-key, auth, sudo."""

    def __init__(self, kind: str, reason: str, hint: str = ""):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.hint = hint


@dataclass(frozen=True)
class CommandResult:
    output: bytes
    """stdout and stderr combined, at most `limit` bytes."""
    exit_status: int | None
    timed_out: bool = False
    cut_off: bool = False
    """The host printed more than the limit; we stopped reading and closed the channel."""


class _RejectUnknown(paramiko.MissingHostKeyPolicy):
    def __init__(self, known: KnownHosts):
        self.known = known

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        path = self.known.path
        where = path if path.exists() else f"{path} (missing)"
        raise HostFailure(
            "host-key",
            f"host key for {hostname} is not in {where} ({key.get_name()} SHA256:{_sha256(key)})",
            hint="verify the fingerprint out of band, then add it with ssh-keyscan, or run "
            "once with --trust-on-first-use",
        )


class _TrustOnFirstUse(paramiko.MissingHostKeyPolicy):
    """Record an unknown key (never a changed one: paramiko rejects that before us)."""

    def __init__(self, known: KnownHosts):
        self.known = known

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        self.known.record(hostname, key)


def _sha256(key: paramiko.PKey) -> str:
    import base64
    import hashlib

    digest = hashlib.sha256(key.asbytes()).digest()
    return base64.b64encode(digest).decode().rstrip("=")


class Connector:
    """Opens sessions; shares one connection per jump host among all hosts behind it.

    One Connector serves one audit: known_hosts files and private keys are read once here
    and shared by every host (parsing them per host made the auditor's CPU grow with the
    square of the fleet).
    """

    def __init__(self, options: SshOptions):
        self.options = options
        self._jumps: dict[str, HostSession] = {}
        self._jump_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.known_hosts = KnownHostsCache()
        self.keys = KeyCache()

    def open(self, host: Host) -> HostSession:
        sock = self._jump_channel(host.jump, host) if host.jump else self._tcp(host)
        session = HostSession(host, self.options, self.known_hosts, self.keys)
        session.connect(sock)
        return session

    def close(self) -> None:
        for session in self._jumps.values():
            session.close()
        self._jumps.clear()

    def _tcp(self, host: Host) -> Any:
        timeout = self.options.connect_timeout
        try:
            sock = socket.create_connection((host.address, host.port), timeout=timeout)
        except TimeoutError:
            raise HostFailure(
                "unreachable",
                f"no answer from {host.address}:{host.port} within {timeout:g} s",
                hint="check the address, the port and any firewall in between",
            ) from None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise HostFailure(
                "unreachable",
                f"cannot connect to {host.address}:{host.port}: {reason}",
                hint="is sshd running and listening on that port?",
            ) from None
        # paramiko leaves Nagle on: every small packet of the exchange then waits ~40 ms
        # for the delayed ACK, which dominates a batch of quick commands.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _QuickAck(sock) if _QUICKACK is not None else sock

    def _jump_channel(self, jump: Host, host: Host) -> Any:
        with self._lock:
            lock = self._jump_locks.setdefault(jump.name, threading.Lock())
        with lock:
            session = self._jumps.get(jump.name)
            if session is None or not session.alive():
                try:
                    session = self.open(jump)
                except HostFailure as exc:
                    raise HostFailure(
                        exc.kind, f"via jump host {jump.name}: {exc.reason}", exc.hint
                    ) from None
                self._jumps[jump.name] = session
        transport = session.transport()
        try:
            return transport.open_channel(
                "direct-tcpip",
                (host.address, host.port),
                ("127.0.0.1", 0),
                timeout=self.options.connect_timeout,
            )
        except (paramiko.SSHException, OSError) as exc:
            raise HostFailure(
                "unreachable",
                f"jump host {jump.name} could not reach {host.address}:{host.port}: {exc}",
                hint="check AllowTcpForwarding on the jump host and the target address",
            ) from None


_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


class _QuickAck:
    """A socket that acknowledges every segment at once (Linux TCP_QUICKACK).

    sshd leaves Nagle on for sessions without a pty, so after authentication it holds its
    answer to our channel-open until we acknowledge its previous small packet, and our
    kernel delays that ACK by up to 40 ms: every host paid one such stall per audit. The
    kernel drops quick-ack mode on its own, so it is set again before each read (one
    cheap setsockopt per packet read).
    """

    def __init__(self, sock: socket.socket):
        self._sock = sock

    def recv(self, size: int) -> bytes:
        with contextlib.suppress(OSError):
            self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)  # type: ignore[arg-type]
        return self._sock.recv(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


KEX_PREFERENCE = ("mlkem768x25519-sha256", "ecdh-sha2-nistp256", "curve25519-sha256@libssh.org")
"""Key exchanges we offer first, in this order; paramiko's other ones follow.

The post-quantum hybrid stays first wherever the server has it. Otherwise P-256 before
curve25519: both are 128-bit classical exchanges, but OpenSSH (9.2 measured) computes
curve25519 with its portable reference code, ~10 ms of the target's CPU and of our wait per
connection, and P-256 with OpenSSL's optimised code. A server that disabled the NIST
curves still negotiates curve25519.
"""


CIPHER_PREFERENCE = ("aes256-gcm@openssh.com", "aes128-gcm@openssh.com")
"""Ciphers we offer first; paramiko's other ones (CTR with a separate MAC) follow.

AES-GCM authenticates each packet itself. With CTR + HMAC, paramiko compares every
packet's MAC in a pure-Python byte loop, a tenth of the auditor's CPU per host (one
session's output is dozens of packets). Servers without GCM (OpenSSH < 6.2) get CTR.
"""


def _prefer(offered: tuple[str, ...], preferred: tuple[str, ...]) -> tuple[str, ...]:
    first = tuple(k for k in preferred if k in offered)
    return first + tuple(k for k in offered if k not in first)


def _transport(sock: Any, **kwargs: Any) -> paramiko.Transport:
    transport = paramiko.Transport(sock, **kwargs)
    options = transport.get_security_options()
    options.kex = _prefer(tuple(options.kex), KEX_PREFERENCE)
    options.ciphers = _prefer(tuple(options.ciphers), CIPHER_PREFERENCE)
    return transport


class KeyCache:
    """Private keys loaded once per audit: every host with the same key file shares it."""

    def __init__(self) -> None:
        self._keys: dict[tuple[Path, str | None], paramiko.PKey] = {}
        self._lock = threading.Lock()

    def get(self, path: Path, password_env: str | None, password: str | None) -> paramiko.PKey:
        with self._lock:
            key = self._keys.get((path, password_env))
            if key is None:
                try:
                    key = paramiko.PKey.from_path(path, password)
                except FileNotFoundError as exc:
                    raise HostFailure("auth", f"key file not found: {exc.filename}") from None
                except (TypeError, paramiko.PasswordRequiredException):
                    raise HostFailure(
                        "auth",
                        f"key {path} is encrypted and no passphrase was given",
                        hint="set password_env to a variable holding the passphrase",
                    ) from None
                except (OSError, ValueError, paramiko.SSHException) as exc:
                    raise HostFailure(
                        "auth", f"cannot load key {path}: {type(exc).__name__}"
                    ) from None
                self._keys[(path, password_env)] = key
            return key


class HostSession:
    def __init__(
        self,
        host: Host,
        options: SshOptions,
        known_hosts: KnownHostsCache | None = None,
        keys: KeyCache | None = None,
    ):
        self.host = host
        self.options = options
        self.client = paramiko.SSHClient()
        self._known_hosts = known_hosts or KnownHostsCache()
        self._keys = keys or KeyCache()

    def connect(self, sock: Any) -> None:
        host, options = self.host, self.options
        client = self.client
        try:
            known = self._known_hosts.get(host.known_hosts)
        except KnownHostsError as exc:
            sock.close()
            raise HostFailure("host-key", str(exc)) from None
        # Only this host's entries: paramiko verifies against them (and prefers their key
        # type in the handshake); the file itself is never rewritten by paramiko.
        name = host.address if host.port == 22 else f"[{host.address}]:{host.port}"
        entries = client.get_host_keys()
        for key_type, key in known.lookup(name).items():
            entries.add(name, key_type, key)
        policy: paramiko.MissingHostKeyPolicy = (
            _TrustOnFirstUse(known) if options.trust_on_first_use else _RejectUnknown(known)
        )
        client.set_missing_host_key_policy(policy)
        password = host.password()
        if host.password_env and password is None:
            sock.close()
            raise HostFailure(
                "auth",
                f"environment variable {host.password_env} (password_env of {host.name}) "
                "is not set",
            )
        try:
            pkey = self._keys.get(host.key, host.password_env, password) if host.key else None
        except HostFailure:
            sock.close()
            raise
        try:
            client.connect(
                host.address,
                port=host.port,
                username=host.user,
                pkey=pkey,
                password=password,
                sock=sock,
                timeout=options.connect_timeout,
                banner_timeout=options.connect_timeout,
                auth_timeout=options.auth_timeout,
                channel_timeout=options.connect_timeout,
                allow_agent=host.key is None and password is None,
                look_for_keys=host.key is None and password is None,
                transport_factory=_transport,
            )
        except HostFailure:
            self.close()
            raise
        except paramiko.BadHostKeyException as exc:
            self.close()
            raise HostFailure(
                "host-key",
                f"host key for {host.address}:{host.port} CHANGED: known_hosts {known.path} has "
                f"{exc.expected_key.get_name()} SHA256:{_sha256(exc.expected_key)}, the host "
                f"offered {exc.key.get_name()} SHA256:{_sha256(exc.key)}",
                hint="someone may be intercepting the connection, or the host was "
                "reinstalled: verify, then replace the known_hosts line",
            ) from None
        except paramiko.AuthenticationException:
            self.close()
            how = (
                f"key {host.key}" if host.key else "password" if password else "agent/default keys"
            )
            raise HostFailure(
                "auth",
                f"authentication failed for {host.user}@{host.address}:{host.port} ({how})",
                hint="check the user, the key in the inventory and authorized_keys on the host",
            ) from None
        except FileNotFoundError as exc:
            self.close()
            raise HostFailure("auth", f"key file not found: {exc.filename}") from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self.close()
            reason = str(exc) or type(exc).__name__
            raise HostFailure(
                "unreachable",
                f"SSH handshake with {host.address}:{host.port} failed: {reason}",
                hint="is it an SSH server, and is it overloaded (MaxStartups)?",
            ) from None

    def transport(self) -> paramiko.Transport:
        transport = self.client.get_transport()
        if transport is None:
            raise HostFailure("unreachable", f"connection to {self.host.name} is closed")
        return transport

    def alive(self) -> bool:
        transport = self.client.get_transport()
        return transport is not None and transport.is_active()

    def run(self, command: str, stdin: bytes, *, timeout: float, limit: int) -> CommandResult:
        """Run `command`, feed it `stdin`, read at most `limit` bytes until `timeout`."""
        deadline = time.monotonic() + timeout
        try:
            channel = self.transport().open_session(timeout=self.options.connect_timeout)
        except (paramiko.SSHException, OSError) as exc:
            raise HostFailure(
                "unreachable", f"cannot open a session on {self.host.name}: {exc}"
            ) from None
        try:
            channel.set_combine_stderr(True)
            channel.settimeout(max(0.1, timeout))
            channel.exec_command(command)
            channel.sendall(stdin)
            channel.shutdown_write()
            chunks: list[bytes] = []
            size = 0
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return CommandResult(b"".join(chunks), None, timed_out=True)
                channel.settimeout(remaining)
                try:
                    data = channel.recv(65536)
                except TimeoutError:
                    return CommandResult(b"".join(chunks), None, timed_out=True)
                if not data:
                    break
                size += len(data)
                if size > limit:
                    chunks.append(data[: len(data) - (size - limit)])
                    return CommandResult(b"".join(chunks), None, cut_off=True)
                chunks.append(data)
            remaining = max(0.1, deadline - time.monotonic())
            status = None
            if channel.status_event.wait(remaining):
                status = channel.recv_exit_status()
            return CommandResult(b"".join(chunks), status, timed_out=status is None)
        except (paramiko.SSHException, OSError) as exc:
            raise HostFailure(
                "unreachable", f"connection to {self.host.name} broke during the audit: {exc}"
            ) from None
        finally:
            with contextlib.suppress(Exception):
                channel.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()

    def __enter__(self) -> HostSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
