"""`sysctl`: kernel parameters' live values (read from /proc/sys), and what boot sets them to.

Network parameters are per network namespace, so a container or a test host in its own
netns reports its own values. A check may name several keys (`key: [net.ipv4.conf.all.
send_redirects, net.ipv4.conf.default.send_redirects]`, as one CIS item does): every key
must hold. `persisted: true` also requires the value to survive a reboot: the last
assignment of the key in the files systemd-sysctl and `sysctl --system` read (*.conf in
/etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d, /lib/sysctl.d —
a name in an earlier directory hides the same name in a later one — in name order, then
/etc/sysctl.conf) must hold too; a key set nowhere fails. Every sysctl check of a host
shares one section of shell builtins (no fork, no `sysctl` binary needed).
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Sequence
from functools import lru_cache

from pydantic import field_validator

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.interface import (
    CheckKind,
    CheckStatus,
    Missing,
    ValueExpectation,
    Verdict,
    failed_section,
    on_missing,
)

_KEY = re.compile(r"^[A-Za-z0-9_-]+([./][A-Za-z0-9_*:-]+)*$")
PERSIST_DIRS = (
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
)
SYSCTL_CONF = "/etc/sysctl.conf"
_PERSIST_SCRIPT = (
    "set --\n"
    f"for _f in {' '.join(d + '/*.conf' for d in PERSIST_DIRS)} {SYSCTL_CONF}; do\n"
    '  if [ -f "$_f" ]; then set -- "$@" "$_f"; fi\n'
    "done\n"
    # one grep for every file (`read` in dash makes a system call per byte: reading
    # Debian's commented sysctl.conf twice that way cost the target ~3 ms per audit)
    '[ "$#" = 0 ] || { grep -H -e = -- "$@"; [ "$?" -le 1 ] || echo "e $*"; }'
)
_GREP_LINE = re.compile(r"^(/[^:]*\.conf):(.*)$")


def _proc(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


class SysctlParams(ValueExpectation):
    key: tuple[str, ...]
    missing: Missing = "error"
    """For a key absent from /proc/sys (IPv6 off: `not-applicable`); judged per key."""
    persisted: bool = False

    @field_validator("key", mode="before")
    @classmethod
    def _keys(cls, value: object) -> object:
        keys = [value] if isinstance(value, str) else value
        if isinstance(keys, list | tuple):
            if not keys:
                raise ValueError("name at least one sysctl")
            for key in keys:
                if not isinstance(key, str) or not _KEY.match(key) or ".." in key:
                    raise ValueError(f"{key!r}: a sysctl name such as net.ipv4.ip_forward")
        return keys


def _script(params: Sequence[SysctlParams]) -> str:
    """One builtin loop over every key the host's checks name, then the persisted files
    (only when a check asks). Each line says which key or file it is about."""
    keys = sorted({k for p in params for k in p.key})
    paths = " ".join(shlex.quote(_proc(k)) for k in keys)
    script = (
        f"for _p in {paths}; do\n"
        '  if [ -r "$_p" ]; then\n'
        '    _v=; while IFS= read -r _l || [ -n "$_l" ]; do _v="$_v $_l"; done < "$_p"\n'
        '    printf \'v %s%s\\n\' "$_p" "$_v"\n'
        '  elif [ -e "$_p" ]; then printf \'u %s\\n\' "$_p"\n'
        "  else printf 'm %s\\n' \"$_p\"; fi\n"
        "done"
    )
    if any(p.persisted for p in params):
        script += "\n" + _PERSIST_SCRIPT
    return script


@lru_cache(maxsize=8)
def _parse(output: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str]], list[str]]:
    """(proc path → (state, value)), persisted (file, line) in file order, unreadable files.
    Parsed once per host; never modified."""
    live: dict[str, tuple[str, str]] = {}
    files: list[tuple[str, str]] = []
    unreadable: list[str] = []
    for line in output.splitlines():
        tag, _, rest = line.partition(" ")
        if tag in ("v", "u", "m"):
            path, _, value = rest.partition(" ")
            live[path] = (tag, " ".join(value.split()))
        elif tag == "e":
            unreadable.append(rest)
        elif match := _GREP_LINE.match(line):
            files.append((match.group(1), match.group(2)))
    return live, files, unreadable


def _persisted_order(files: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The lines in the order sysctl applies them (later wins)."""
    by_name: dict[str, str] = {}
    lines: dict[str, list[str]] = {}
    for path, text in files:
        lines.setdefault(path, []).append(text)
    for path in lines:
        if path == SYSCTL_CONF:
            continue
        name = path.rsplit("/", 1)[-1]
        by_name.setdefault(name, path)  # PERSIST_DIRS order: the first directory wins
    ordered = [by_name[name] for name in sorted(by_name)]
    if SYSCTL_CONF in lines:
        ordered.append(SYSCTL_CONF)
    return [(path, text) for path in ordered for text in lines[path]]


def _persisted_value(key: str, files: list[tuple[str, str]]) -> tuple[str, str] | None:
    """(where, value) of the key's last assignment, or None when no file sets it."""
    found = None
    for path, text in _persisted_order(files):
        name, _, value = text.strip().partition("=")
        name = name.strip().lstrip("-").replace("/", ".")
        if name.startswith(("#", ";")):
            continue
        if name == key or fnmatch.fnmatchcase(key, name):
            found = (f"{path}: {text.strip()}", value.strip())
    return found


class Sysctl(CheckKind[SysctlParams]):
    name = "sysctl"
    params = SysctlParams

    def section(self, params: SysctlParams, budget: float) -> Section:
        return self.shared_section([params], budget)

    def shared_section(self, params: Sequence[SysctlParams], budget: float) -> Section:
        limit = 4096 * len({k for p in params for k in p.key})
        if any(p.persisted for p in params):  # grep: a program, so under the watchdog
            return Section(_script(params), budget, limit + 256 * 1024)
        return Section(_script(params), budget, limit, contained=False, isolated=False)

    def evaluate(self, params: SysctlParams, result: SectionResult) -> Verdict:
        expected = f"{', '.join(params.key)} {params.describe()}"
        if params.persisted:
            expected += ", live and persisted (/etc/sysctl.conf, /etc/sysctl.d/*.conf …)"
        if result.status != 0:
            return failed_section(result, "reading sysctls")
        live, files, unreadable = _parse(result.output)
        observed: list[str] = []
        problems: list[str] = []
        judged = 0
        for key in params.key:
            state, value = live.get(_proc(key), ("", ""))
            if state == "m":
                verdict = on_missing(params.missing, f"sysctl {key}", expected)
                if verdict.status is CheckStatus.NOT_APPLICABLE:
                    observed.append(f"{key} does not exist")
                    continue
                if verdict.status is not CheckStatus.PASS:
                    return verdict
                judged += 1
                observed.append(f"{key} does not exist (passes by the policy's missing)")
                continue
            if state != "v":
                return Verdict(
                    CheckStatus.ERROR,
                    result.output.strip()[:500] or "no output",
                    expected,
                    f"cannot read sysctl {key} ({_proc(key)})"
                    if state == "u"
                    else f"no answer for sysctl {key}",
                )
            judged += 1
            observed.append(f"{key} = {value}")
            if not params.holds(value):
                problems.append(f"{key} = {value}")
            if params.persisted:
                saved = _persisted_value(key, files)
                if saved is None:
                    problems.append(f"{key} not persisted")
                    observed.append(f"{key} set in no sysctl file")
                else:
                    observed.append(f"persisted: {saved[0]}")
                    if not params.holds(saved[1]):
                        problems.append(f"{key} persisted as {saved[1]}")
        if params.persisted and unreadable and not problems:
            return Verdict(
                CheckStatus.ERROR,
                "; ".join(observed),
                expected,
                f"cannot read {', '.join(unreadable)}: audit as root",
            )
        if judged == 0:
            shown = "; ".join(observed)
            return Verdict(CheckStatus.NOT_APPLICABLE, shown, expected, shown)
        status = CheckStatus.FAIL if problems else CheckStatus.PASS
        return Verdict(status, "; ".join(observed), expected, "; ".join(problems))
