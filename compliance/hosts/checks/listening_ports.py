"""`listening_ports`: every listening TCP socket and bound UDP socket is on an allowlist.

Read from /proc/net/{tcp,tcp6,udp,udp6} (no ss/netstat needed; per network namespace).
"""

from __future__ import annotations

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

SCRIPT = (
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
            return failed_section(result, "reading /proc/net")
        if "== tcp" not in result.output:
            return Verdict(CheckStatus.ERROR, "", expected, "/proc/net/tcp is not readable")
        found = sorted(listening(result.output, params.ignore_loopback))
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
    """Parsed once per host (the socket table can be long; several checks may read it)."""
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
        address = _address(address_hex)
        if ignore_loopback and (address.startswith("127.") or address == "::1"):
            continue
        result.add((proto, int(port_hex, 16), address))
    return frozenset(result)


@lru_cache(maxsize=4096)
def _address(value: str) -> str:
    """/proc/net shows addresses as host-order hex words."""
    if len(value) == 8:
        return ".".join(str(b) for b in reversed(bytes.fromhex(value)))
    raw = b"".join(bytes.fromhex(value[i : i + 8])[::-1] for i in range(0, 32, 8))
    import ipaddress

    return str(ipaddress.IPv6Address(raw))
