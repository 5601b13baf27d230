"""Real OpenSSH test hosts on loopback, each in its own mount (and optionally network) namespace.

Each "host" is a real `sshd -D` started through `unshare --mount` with its own files bound
over /etc paths (sshd_config, passwd, shadow, login.defs …) and, when asked, its own tmpfs
on /tmp with chosen mount options. A host with `netns=True` also gets `unshare --net`: its
own loopback, its own network sysctls and its own listening sockets; we reach its sshd
through a socat relay on 127.0.0.1 that enters the namespace with nsenter (only loopback
traffic, no veth). Needs root, OpenSSH server, util-linux, socat; used by the tests and by
benchmarks/audit_speed.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def missing_requirements() -> list[str]:
    """What this machine lacks to run lab hosts (empty when everything is there)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root")
    for tool in ("unshare", "nsenter", "socat", "ssh-keygen", "mount"):
        if shutil.which(tool) is None:
            missing.append(tool)
    if not Path(SSHD).exists():
        missing.append("openssh-server")
    return missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keygen(path: Path, kind: str = "ed25519") -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "lab", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path


@dataclass
class HostSpec:
    """What one test host looks like: files bound over system paths, /tmp options, netns."""

    name: str
    files: Mapping[str, str] = field(default_factory=dict)
    """target path → content; bound read-only-by-convention over the real file."""
    modes: Mapping[str, int] = field(default_factory=dict)
    tmp_options: str | None = None
    """e.g. 'nosuid,nodev,noexec': a tmpfs mounted on /tmp inside the host's namespace."""
    netns: bool = False
    sysctls: Mapping[str, str] = field(default_factory=dict)
    """network sysctls set inside the host's own network namespace (netns=True)."""
    extra_listeners: tuple[int, ...] = ()
    """TCP ports something listens on inside the netns (a stand-in 'legacy service')."""
    setup: tuple[str, ...] = ()
    """Shell commands run inside the namespaces before sshd starts (e.g. create a file)."""
    etc_overlay: bool = False
    """A writable overlay (on a private tmpfs) over /etc, first: `setup` may then create or
    change any file in /etc (an /etc/crontab the machine lacks) without touching the real one."""


@dataclass
class LabHost:
    spec: HostSpec
    port: int
    host_key: Path
    process: subprocess.Popen[bytes]
    relay: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return self.spec.name


class Lab:
    """Starts and stops lab hosts. Use as a context manager."""

    def __init__(self, root: Path | None = None):
        # Not under /tmp: hosts may mount their own tmpfs on /tmp and would hide it.
        self.root = root or Path(tempfile.mkdtemp(prefix="compliance-lab-", dir="/var/tmp"))
        self.client_key = keygen(self.root / "client_ed25519")
        self.known_hosts = self.root / "known_hosts"
        self.hosts: dict[str, LabHost] = {}
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, spec: HostSpec) -> LabHost:
        hdir = self.root / spec.name
        hdir.mkdir()
        host_key = keygen(hdir / "ssh_host_ed25519_key")
        port = free_port()
        listen_port = 22 if spec.netns else port
        runtime = hdir / "sshd_runtime.conf"
        runtime.write_text(
            f"Port {listen_port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
            f"PidFile none\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n"
            f"PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            f"AuthorizedKeysFile {self.client_key}.pub\nMaxStartups 200\nMaxSessions 50\n"
            f"LogLevel ERROR\nAllowTcpForwarding yes\nUseDNS no\n"
        )
        binds = []
        for target, content in spec.files.items():
            source = hdir / "files" / target.lstrip("/")
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_text(content.replace("@HOSTKEY@", str(host_key)))
            source.chmod(spec.modes.get(target, 0o644))
            binds.append(f"mount --bind {source} {target}")
        setup = []
        if spec.etc_overlay:
            ov = hdir / "etc-overlay"
            ov.mkdir()
            setup += [
                f"mount -t tmpfs lab-etc {ov}",
                f"mkdir {ov}/upper {ov}/work",
                f"mount -t overlay lab-etc -o lowerdir=/etc,upperdir={ov}/upper,workdir={ov}/work "
                "/etc",
            ]
        setup += binds
        if spec.tmp_options is not None:
            setup.append(f"mount -t tmpfs -o {spec.tmp_options or 'defaults'} lab-tmp /tmp")
        if spec.netns:
            setup.append("ip link set lo up 2>/dev/null || true")
            setup.extend(f"sysctl -q -w {k}={v}" for k, v in spec.sysctls.items())
            setup.extend(
                f"socat TCP-LISTEN:{p},bind=127.0.0.1,reuseaddr,fork /dev/null &"
                for p in spec.extra_listeners
            )
        setup.extend(spec.setup)
        setup.append(f"exec {SSHD} -D -e -f {runtime}")
        unshare = ["unshare", "--mount", "--propagation", "private"]
        if spec.netns:
            unshare.append("--net")
        log = (hdir / "sshd.log").open("wb")
        process = subprocess.Popen(
            [*unshare, "sh", "-ec", "\n".join(setup)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        relay = None
        if spec.netns:
            relay = subprocess.Popen(
                [
                    "socat",
                    f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,backlog=256",
                    f"EXEC:nsenter -t {process.pid} -n socat STDIO TCP4\\:127.0.0.1\\:22",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        lab_host = LabHost(spec, port, host_key, process, relay)
        self.hosts[spec.name] = lab_host
        return lab_host

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Wait until every sshd answers with its banner (through the relay for netns hosts)."""
        deadline = time.monotonic() + timeout
        for name in list(self.hosts):
            host = self.hosts[name]
            moves = 0
            while True:
                if host.process.poll() is not None:
                    log = (self.root / host.name / "sshd.log").read_text(errors="replace")
                    if "Address already in use" in log and moves < 3:
                        # free_port() raced with another process on this machine: move
                        host, moves = self._restart(host), moves + 1
                        continue
                    raise RuntimeError(f"lab host {host.name} exited: {log[-2000:]}")
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", host.port), timeout=2) as sock,
                ):
                    sock.settimeout(2)
                    if sock.recv(64).startswith(b"SSH-"):
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"lab host {host.name} did not answer on {host.port}")
                time.sleep(0.05)

    def _restart(self, host: LabHost) -> LabHost:
        if host.relay is not None and host.relay.poll() is None:
            os.killpg(host.relay.pid, signal.SIGTERM)
            host.relay.wait(timeout=5)
        del self.hosts[host.name]
        shutil.rmtree(self.root / host.name, ignore_errors=True)
        return self.start(host.spec)

    def write_known_hosts(self, names: list[str] | None = None) -> Path:
        lines = []
        for host in self.hosts.values():
            if names is not None and host.name not in names:
                continue
            pub = (host.host_key.parent / (host.host_key.name + ".pub")).read_text().split()
            lines.append(f"[127.0.0.1]:{host.port} {pub[0]} {pub[1]}\n")
        self.known_hosts.write_text("".join(lines))
        return self.known_hosts

    def inventory(self, path: Path, names: list[str] | None = None, **extra: object) -> Path:
        """Our inventory format for the lab hosts (all, or `names`)."""
        lines = [
            "defaults:",
            "  address: 127.0.0.1",
            "  user: root",
            f"  key: {self.client_key}",
            f"  known_hosts: {self.known_hosts}",
            "hosts:",
        ]
        for host in self.hosts.values():
            if names is None or host.name in names:
                lines.append(f"  {host.name}: {{port: {host.port}}}")
        for key, value in extra.items():
            lines.append(f"{key}: {value}")
        path.write_text("\n".join(lines) + "\n")
        return path

    def close(self) -> None:
        for host in self.hosts.values():
            for proc in (host.relay, host.process):
                if proc is None or proc.poll() is not None:
                    continue
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)
        self.hosts.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def lab_hosts(specs: list[HostSpec]) -> Iterator[Lab]:
    with Lab() as lab:
        for spec in specs:
            lab.start(spec)
        lab.wait_ready()
        lab.write_known_hosts()
        yield lab
