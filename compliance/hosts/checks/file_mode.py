"""`file_mode`: permissions no wider than a mode, and the expected owner and group."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from pydantic import field_validator

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.interface import (
    CheckKind,
    CheckStatus,
    Missing,
    Params,
    Verdict,
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


def _stat(paths: Sequence[str], budget: float) -> Section:
    """Existence by builtin test, then ONE `stat` for all paths that exist."""
    quoted = " ".join(shlex.quote(p) for p in paths)
    script = (
        f"set --\nfor _p in {quoted}; do\n"
        '  if [ -e "$_p" ]; then set -- "$@" "$_p"; else printf \'missing %s\\n\' "$_p"; fi\n'
        "done\n"
        '[ "$#" = 0 ] || exec stat -L -c \'mode %a %U %G %n\' -- "$@"'
    )
    return Section(script, budget, 4096 + 512 * len(paths))


def _answer(output: str, path: str) -> tuple[str, str, str] | str | None:
    """(mode, owner, group), "missing", or None when the output says nothing of `path`."""
    for line in output.splitlines():
        if line == f"missing {path}":
            return "missing"
        fields = line.split(" ", 4)
        if len(fields) == 5 and fields[0] == "mode" and fields[4] == path:
            return fields[1], fields[2], fields[3]
    return None


class FileMode(CheckKind[FileModeParams]):
    name = "file_mode"
    params = FileModeParams

    def section(self, params: FileModeParams, budget: float) -> Section:
        return _stat([params.path], budget)

    def shared_section(self, params: Sequence[FileModeParams], budget: float) -> Section:
        return _stat(sorted({p.path for p in params}), budget)

    def evaluate(self, params: FileModeParams, result: SectionResult) -> Verdict:
        wanted = []
        if params.mode:
            wanted.append(f"mode at most {params.mode}")
        if params.owner:
            wanted.append(f"owner {'|'.join(params.owner)}")
        if params.group:
            wanted.append(f"group {'|'.join(params.group)}")
        expected = f"{params.path}: " + ", ".join(wanted or ["exists"])
        answer = _answer(result.output, params.path)
        if answer == "missing":
            return on_missing(params.missing, params.path, expected)
        if not isinstance(answer, tuple) or not answer[0].isdigit():
            said = result.output.strip() or "no output"
            return Verdict(
                CheckStatus.ERROR,
                said,
                expected,
                f"stat gave no answer for {params.path} (exit status {result.status}): "
                f"{said.splitlines()[0][:200]}",
            )
        mode, owner, group = answer
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
