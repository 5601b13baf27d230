"""known_hosts files parsed once per audit, shared by every host that uses them.

paramiko's `SSHClient.load_system_host_keys` parses the whole file on every connection:
with one line per host that is O(hosts²) work for a fleet audit (a quarter of the
auditor's CPU at 30 hosts). Here each file is parsed once; a host's connection gets only
its own entries (plain, `[host]:port` and hashed entries all resolve through
`HostKeys.lookup`, as OpenSSH does). Trust-on-first-use appends to the file and to the
parsed copy under one lock, so two hosts recording keys at once cannot interleave lines.
"""

from __future__ import annotations

import threading
from pathlib import Path

import paramiko

from compliance.errors import UserError


class KnownHostsError(UserError):
    """The file exists but cannot be read or parsed."""


class KnownHosts:
    def __init__(self, path: Path):
        self.path = path
        self._keys = paramiko.HostKeys()
        self._lock = threading.Lock()
        if path.exists():
            try:
                self._keys.load(str(path))
            except (OSError, UnicodeDecodeError, paramiko.SSHException) as exc:
                raise KnownHostsError(f"cannot read known_hosts {path}: {exc}") from None

    def lookup(self, name: str) -> dict[str, paramiko.PKey]:
        """Key type → key for `name` (`host` or `[host]:port`); empty when unknown."""
        with self._lock:
            found = self._keys.lookup(name)
            return dict(found) if found is not None else {}

    def record(self, name: str, key: paramiko.PKey) -> None:
        """Trust on first use: append the key (a changed key never gets here)."""
        line = f"{name} {key.get_name()} {key.get_base64()}\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
            self._keys.add(name, key.get_name(), key)


class KnownHostsCache:
    """One parsed `KnownHosts` per file for the lifetime of an audit (a `Connector`)."""

    def __init__(self) -> None:
        self._files: dict[Path, KnownHosts] = {}
        self._lock = threading.Lock()

    def get(self, path: Path) -> KnownHosts:
        with self._lock:
            known = self._files.get(path)
            if known is None:
                known = KnownHosts(path)
                self._files[path] = known
            return known
