"""`mount_options`: a mount point exists and carries options (e.g. /tmp nodev,nosuid,noexec).

Read from /proc/mounts (the host's mount namespace as the audit session sees it); when a
path is mounted over several times, the last (visible) mount counts.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import field_validator

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.interface import (
    CheckKind,
    CheckStatus,
    Missing,
    Params,
    Verdict,
    failed_section,
    on_missing,
)
from compliance.hosts.checks.paths import AbsolutePath


class MountOptionsParams(Params):
    mount: AbsolutePath
    options: tuple[str, ...] = ()
    absent_options: tuple[str, ...] = ()
    missing: Missing = "fail"

    @field_validator("options", "absent_options", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class MountOptions(CheckKind[MountOptionsParams]):
    name = "mount_options"
    params = MountOptionsParams

    def section(self, params: MountOptionsParams, budget: float) -> Section:
        return Section("cat /proc/mounts", budget, 512 * 1024, contained=False, isolated=False)

    def evaluate(self, params: MountOptionsParams, result: SectionResult) -> Verdict:
        wanted = [*params.options, *(f"not {o}" for o in params.absent_options)]
        expected = f"{params.mount} is a mount point with " + (", ".join(wanted) or "any options")
        if result.status != 0:
            return failed_section(result, "reading /proc/mounts")
        entry = _mounts(result.output).get(params.mount)
        if entry is None:
            return on_missing(params.missing, f"mount point {params.mount}", expected)
        options = set(entry[3].split(","))
        observed = f"{params.mount} {entry[2]} {entry[3]}"
        lacking = [o for o in params.options if o not in options]
        extra = [o for o in params.absent_options if o in options]
        problems = [f"missing {', '.join(lacking)}"] if lacking else []
        problems += [f"has {', '.join(extra)}"] if extra else []
        status = CheckStatus.FAIL if problems else CheckStatus.PASS
        return Verdict(status, observed, expected, "; ".join(problems))


@lru_cache(maxsize=8)
def _mounts(text: str) -> dict[str, list[str]]:
    """Mount point → its /proc/mounts fields, the last (visible) mount winning; parsed
    once per host however many mount checks read it (keyed by the text itself)."""
    table = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            table[_unescape(fields[1])] = fields
    return table


def _unescape(value: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        value = value.replace(code, char)
    return value
