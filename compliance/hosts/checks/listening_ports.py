"""`listening_ports`: every listening TCP socket and bound UDP socket is on an allowlist.

Read with `ss` (netlink) where it works, else from /proc/net/{tcp,tcp6,udp,udp6}; both per
network namespace. /proc/net/tcp walks the kernel's whole established-connection hash
table, listening sockets or not: ~2.5 ms of the target's CPU per table on a machine with
24 GB (the table grows with memory), most of this check's cost. `ss` asking for the
listening state only makes the kernel skip that table.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from pydantic import field_validator

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.interface import (
    CheckKind,
    CheckStatus,
    Params,
    Verdict,
    failed_section,
)

_PROC_SCRIPT = (
    "_fs=\n"
    "for _n in tcp tcp6 udp udp6; do\n"
    '  if [ -r /proc/net/$_n ]; then _fs="$_fs /proc/net/$_n"; fi\n'
    "done\n"
    # One awk for all tables (not a cat each); a table's name heads its lines. Only
    # listening TCP and unconnected UDP sockets travel: a busy server has thousands of
    # established connections that this check never looks at.
    '[ -z "$_fs" ] || awk \'FNR == 1 { n = FILENAME; sub(/.*\\//, "", n); print "== " n; '
    'print; next } n ~ /^tcp/ && $4 == "0A" || n ~ /^udp/ && $4 == "07"\' $_fs'
)
SCRIPT = (
    "_ok=0\n"
    "if command -v ss >/dev/null 2>&1; then\n"
    "  echo '== ss-tcp'\n"
    "  if ss -Htn state listening; then\n"
    "    echo '== ss-udp'\n"
    "    if ss -Hun state unconnected; then _ok=1; fi\n"
    "  fi\n"
    "fi\n"
    'if [ "$_ok" = 0 ]; then\n'
    "echo '== proc'\n" + _PROC_SCRIPT + "\nfi"
)
"""`ss` (one run per protocol: a state filter for both would make the kernel walk the
connection table for UDP's "unconnected" TCP twin); if ss is missing or fails (netlink
refused in a locked-down container), `== proc` and the /proc/net tables follow, and only
they are read."""

_ENTRY = re.compile(r"^(tcp|udp)/(\d{1,5})$")
LISTEN, UNCONNECTED = "0A", "07"


class ListeningPortsParams(Params):
    allow: tuple[str, ...] = ()
    """`tcp/22`, `udp/123`; a bare number means tcp."""
    ignore_loopback: bool = False

    @field_validator("allow", mode="before")
    @classmethod
    def _entries(cls, value: object) -> object:
        if not isinstance(value, list | tuple):
            return value
        result = []
        for item in value:
            text = f"tcp/{item}" if isinstance(item, int) else str(item).lower()
            if not _ENTRY.match(text):
                raise ValueError(f"{item!r}: write tcp/PORT or udp/PORT")
            result.append(text)
        return result


class ListeningPorts(CheckKind[ListeningPortsParams]):
    name = "listening_ports"
    params = ListeningPortsParams

    def section(self, params: ListeningPortsParams, budget: float) -> Section:
        return Section(SCRIPT, budget, 512 * 1024, contained=False, isolated=False)

    def evaluate(self, params: ListeningPortsParams, result: SectionResult) -> Verdict:
        expected = "only " + (", ".join(params.allow) or "nothing") + " listening"
        if result.status != 0:
            return failed_section(result, "listing sockets (ss or /proc/net)")
        try:
            found = sorted(listening(result.output, params.ignore_loopback))
        except ValueError as exc:
            return Verdict(CheckStatus.ERROR, "", expected, str(exc))
        unexpected = [
            f"{proto}/{port} on {addr}"
            for proto, port, addr in found
            if f"{proto}/{port}" not in params.allow
        ]
        observed = ", ".join(sorted({f"{p}/{n}" for p, n, _ in found})) or "nothing listening"
        if result.truncated:
            return Verdict(
                CheckStatus.ERROR, observed, expected, "socket table larger than the limit"
            )
        if unexpected:
            return Verdict(
                CheckStatus.FAIL,
                "not allowed: " + ", ".join(unexpected[:20]),
                expected,
                f"{len(unexpected)} socket(s) not on the allowlist",
            )
        return Verdict(CheckStatus.PASS, observed, expected)


@lru_cache(maxsize=8)
def listening(text: str, ignore_loopback: bool) -> frozenset[tuple[str, int, str]]:
    """(protocol, port, address) of every listening socket; parsed once per host.

    ValueError when the output says nothing trustworthy (a table missing, a line that
    does not parse): an unreadable socket list must never pass as "nothing listening".
    """
    _, proc, after = ("\n" + text).rpartition("\n== proc\n")
    found = _from_proc(after) if proc else _from_ss(text)
    if ignore_loopback:
        found = {s for s in found if not (s[2].startswith("127.") or s[2] == "::1")}
    return frozenset(found)


def _from_proc(text: str) -> set[tuple[str, int, str]]:
    if "== tcp" not in text:
        raise ValueError("/proc/net/tcp is not readable")
    result = set()
    table = ""
    for line in text.splitlines():
        if line.startswith("== "):
            table = line[3:].strip()
            continue
        fields = line.split()
        if len(fields) < 4 or ":" not in fields[1] or fields[0] == "sl":
            continue
        state = fields[3]
        proto = "tcp" if table.startswith("tcp") else "udp"
        if (proto == "tcp" and state != LISTEN) or (proto == "udp" and state != UNCONNECTED):
            continue
        address_hex, port_hex = fields[1].rsplit(":", 1)
        result.add((proto, int(port_hex, 16), _address(address_hex)))
    return result


_SS_TABLES = {"== ss-tcp": "tcp", "== ss-udp": "udp"}
_SS_STATES = {"LISTEN", "UNCONN"}


def _from_ss(text: str) -> set[tuple[str, int, str]]:
    """`ss -H` lines: Recv-Q Send-Q Local:Port Peer:Port (a State column first in ss
    versions that print it even for a single state)."""
    result = set()
    proto = ""
    seen = set()
    for line in text.splitlines():
        if line in _SS_TABLES:
            proto = _SS_TABLES[line]
            seen.add(proto)
            continue
        fields = line.split()
        if not fields:
            continue
        if len(fields) == 5 and fields[0] in _SS_STATES:
            fields = fields[1:]
        if not proto or len(fields) != 4 or not (fields[0].isdigit() and fields[1].isdigit()):
            raise ValueError(f"unexpected line from ss: {line[:200]}")
        address, _, port = fields[2].rpartition(":")
        if not port.isdigit() or not address:
            raise ValueError(f"unexpected address from ss: {line[:200]}")
        result.add((proto, int(port), _ss_address(address)))
    if seen != {"tcp", "udp"}:
        raise ValueError("ss did not list both TCP and UDP sockets")
    return result


@lru_cache(maxsize=4096)
def _ss_address(value: str) -> str:
    """`0.0.0.0`, `127.0.0.53%lo`, `[::1]`, `[fe80::1]%eth0`, `*` (IPv6 any, dual stack),
    written as the /proc/net reading writes them."""
    value = value.split("%", 1)[0].strip("[]")
    if value == "*":
        return "::"
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"unexpected address from ss: {value[:100]}") from None


@lru_cache(maxsize=4096)
def _address(value: str) -> str:
    """/proc/net shows addresses as host-order hex words."""
    if len(value) == 8:
        return ".".join(str(b) for b in reversed(bytes.fromhex(value)))
    raw = b"".join(bytes.fromhex(value[i : i + 8])[::-1] for i in range(0, 32, 8))
    import ipaddress

    return str(ipaddress.IPv6Address(raw))
