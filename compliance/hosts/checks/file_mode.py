"""`file_mode`: permissions no wider than a mode, and the expected owner and group."""

from __future__ import annotations

import fnmatch
import re
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
    glob: bool = False
    """`path` is a shell pattern (`/etc/ssh/ssh_host_*_key`) expanded on the host: every
    file it matches must hold; `missing` says what no match at all means."""

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


_GLOB = re.compile(r"(\*|\?|\[[^]/]*\])")


def _word(path: str, glob: bool) -> str:
    """The path as one shell word: quoted whole, or (a pattern) with only its wildcards
    left bare so that the host's shell expands them and nothing else."""
    if not glob:
        return shlex.quote(path)
    return "".join(
        part if _GLOB.fullmatch(part) else shlex.quote(part) for part in _GLOB.split(path) if part
    )


def _stat(paths: Sequence[tuple[str, bool]], budget: float) -> Section:
    """Existence by builtin test, then ONE `stat` for all paths that exist (a pattern
    that matches nothing stays itself and is reported missing, as a path would be)."""
    quoted = " ".join(_word(p, g) for p, g in paths)
    script = (
        f"set --\nfor _p in {quoted}; do\n"
        '  if [ -e "$_p" ]; then set -- "$@" "$_p"; else printf \'missing %s\\n\' "$_p"; fi\n'
        "done\n"
        '[ "$#" = 0 ] || exec stat -L -c \'mode %a %U %G %n\' -- "$@"'
    )
    return Section(script, budget, 4096 + 512 * len(paths))


def _answers(output: str, path: str, glob: bool) -> list[tuple[str, str, str, str]] | str:
    """[(mode, owner, group, name)] of `path` (every match of a pattern), or "missing"."""
    found = []
    for line in output.splitlines():
        if line == f"missing {path}":
            return "missing"
        fields = line.split(" ", 4)
        if (len(fields) == 5 and fields[0] == "mode") and (
            fields[4] == path or (glob and fnmatch.fnmatchcase(fields[4], path))
        ):
            found.append((fields[1], fields[2], fields[3], fields[4]))
    return found


class FileMode(CheckKind[FileModeParams]):
    name = "file_mode"
    params = FileModeParams

    def section(self, params: FileModeParams, budget: float) -> Section:
        return _stat([(params.path, params.glob)], budget)

    def shared_section(self, params: Sequence[FileModeParams], budget: float) -> Section:
        return _stat(sorted({(p.path, p.glob) for p in params}), budget)

    def evaluate(self, params: FileModeParams, result: SectionResult) -> Verdict:
        wanted = []
        if params.mode:
            wanted.append(f"mode at most {params.mode}")
        if params.owner:
            wanted.append(f"owner {'|'.join(params.owner)}")
        if params.group:
            wanted.append(f"group {'|'.join(params.group)}")
        expected = f"{params.path}: " + ", ".join(wanted or ["exists"])
        answers = _answers(result.output, params.path, params.glob)
        if isinstance(answers, str):
            return on_missing(params.missing, params.path, expected)
        if not answers or not all(a[0].isdigit() for a in answers):
            said = result.output.strip() or "no output"
            return Verdict(
                CheckStatus.ERROR,
                said,
                expected,
                f"stat gave no answer for {params.path} (exit status {result.status}): "
                f"{said.splitlines()[0][:200]}",
            )
        seen: list[str] = []
        problems: list[str] = []
        for mode, owner, group, name in answers:
            shown = f"mode {int(mode, 8):04o} owner {owner} group {group}"
            seen.append(f"{name}: {shown}" if params.glob else shown)
            wrong = []
            if params.mode is not None and int(mode, 8) & ~int(params.mode, 8):
                wrong.append(f"mode {int(mode, 8):04o} is wider than {params.mode}")
            if params.owner and owner not in params.owner:
                wrong.append(f"owner {owner}")
            if params.group and group not in params.group:
                wrong.append(f"group {group}")
            problems.extend(f"{name}: {w}" if params.glob else w for w in wrong)
        status = CheckStatus.FAIL if problems else CheckStatus.PASS
        return Verdict(status, "; ".join(seen), expected, "; ".join(problems))
