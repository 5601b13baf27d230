"""`file_mode`: permissions no wider than a mode, and the expected owner and group."""

from __future__ import annotations

import shlex

from pydantic import field_validator

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.file_content import MISSING_STATUS
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


class FileModeParams(Params):
    path: AbsolutePath
    mode: str | None = None
    """The widest allowed permissions, octal ("0640"): any extra bit fails."""
    owner: tuple[str, ...] | None = None
    group: tuple[str, ...] | None = None
    missing: Missing = "fail"

    @field_validator("owner", "group", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str | int) else value

    @field_validator("mode")
    @classmethod
    def _octal(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            number = int(str(value), 8)
        except ValueError:
            raise ValueError("an octal mode such as '0640' (quote it in YAML)") from None
        if not 0 <= number <= 0o7777:
            raise ValueError("an octal mode between 0000 and 7777")
        return f"{number:04o}"


class FileMode(CheckKind[FileModeParams]):
    name = "file_mode"
    params = FileModeParams

    def section(self, params: FileModeParams, budget: float) -> Section:
        quoted = shlex.quote(params.path)
        script = f"[ -e {quoted} ] || exit {MISSING_STATUS}\nstat -L -c '%a %U %G' -- {quoted}"
        return Section(script, budget, 4096)

    def evaluate(self, params: FileModeParams, result: SectionResult) -> Verdict:
        wanted = []
        if params.mode:
            wanted.append(f"mode at most {params.mode}")
        if params.owner:
            wanted.append(f"owner {'|'.join(params.owner)}")
        if params.group:
            wanted.append(f"group {'|'.join(params.group)}")
        expected = f"{params.path}: " + ", ".join(wanted or ["exists"])
        if result.status == MISSING_STATUS:
            return on_missing(params.missing, params.path, expected)
        if result.status != 0:
            return failed_section(result, f"stat {params.path}")
        fields = result.output.split()
        if len(fields) != 3:
            return Verdict(CheckStatus.ERROR, result.output, expected, "unexpected stat output")
        mode, owner, group = fields
        observed = f"mode {int(mode, 8):04o} owner {owner} group {group}"
        problems = []
        if params.mode is not None and int(mode, 8) & ~int(params.mode, 8):
            problems.append(f"mode {int(mode, 8):04o} is wider than {params.mode}")
        if params.owner and owner not in params.owner:
            problems.append(f"owner {owner}")
        if params.group and group not in params.group:
            problems.append(f"group {group}")
        status = CheckStatus.FAIL if problems else CheckStatus.PASS
        return Verdict(status, observed, expected, "; ".join(problems))
