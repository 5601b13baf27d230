"""Applicability (`when:`): a check that does not apply gives "not applicable", never "fail".

Conditions are facts read in the same batch as the checks (os-release, a path, a command),
each as its own tiny section shared by every check that asks the same question.
"""

from __future__ import annotations

import re
import shlex

from pydantic import BaseModel, ConfigDict, field_validator

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.paths import absolute_path

_COMMAND = re.compile(r"^[A-Za-z0-9_.+-]+$")
OS_RELEASE = Section(
    # builtins only (a few hundred bytes; `cat` would be a fork and an exec)
    "if [ -r /etc/os-release ]; then _f=/etc/os-release\n"
    "elif [ -r /usr/lib/os-release ]; then _f=/usr/lib/os-release\nelse _f=; fi\n"
    'if [ -n "$_f" ]; then\n'
    '  while IFS= read -r _l || [ -n "$_l" ]; do printf \'%s\\n\' "$_l"; done < "$_f"\n'
    "fi",
    5,
    16 * 1024,
    contained=False,
    isolated=False,
)


class Conditions(BaseModel):
    """Every condition given must hold for the check to apply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    os: tuple[str, ...] | None = None
    """os-release ID or ID_LIKE values: debian, ubuntu, rhel, fedora, centos …"""
    path_exists: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    """Commands that must be on PATH (e.g. sshd)."""

    @field_validator("os", "path_exists", "command", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("path_exists")
    @classmethod
    def _paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(absolute_path(p) for p in value)

    @field_validator("command")
    @classmethod
    def _commands(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _COMMAND.match(name):
                raise ValueError(f"{name!r} is not a command name")
        return value

    def sections(self) -> dict[str, Section]:
        """Question → section; the caller adds them to the host's batch."""
        result = {}
        if self.os is not None:
            result["os"] = OS_RELEASE
        for path in self.path_exists:
            quoted = shlex.quote(path)
            result[f"path:{path}"] = Section(
                f"if [ -e {quoted} ]; then echo yes; else echo no; fi",
                5,
                64,
                contained=False,
                isolated=False,
            )
        for name in self.command:
            result[f"command:{name}"] = Section(
                f"if command -v {shlex.quote(name)} >/dev/null 2>&1; then echo yes; "
                "else echo no; fi",
                5,
                64,
                contained=False,
                isolated=False,
            )
        return result

    def evaluate(self, answers: dict[str, SectionResult]) -> tuple[bool | None, str]:
        """(True, '') applies; (False, why) does not; (None, why) could not tell."""
        for question, result in answers.items():
            if not result.ran or result.status != 0:
                return None, f"condition {question} could not be read: {result.problem}"
            if question == "os":
                ids = os_ids(result.output)
                wanted = {o.lower() for o in self.os or ()}
                if not ids & wanted:
                    shown = ", ".join(sorted(ids)) or "unknown"
                    return False, f"only for {', '.join(sorted(wanted))}; this host is {shown}"
            elif result.output.strip() != "yes":
                kind, _, name = question.partition(":")
                what = "does not exist" if kind == "path" else "is not installed"
                return False, f"{name} {what}"
        return True, ""


def os_ids(os_release: str) -> set[str]:
    ids: set[str] = set()
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("ID", "ID_LIKE"):
            ids.update(value.strip().strip("\"'").lower().split())
    return ids
