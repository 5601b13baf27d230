"""`file_content`: a regular expression must (or must not) match a line of a file.

The file is sent back (bounded) and matched locally with Python's `re`, so the regex
dialect is the same on every target, whatever grep it has.
"""

from __future__ import annotations

import re
import shlex
from typing import Literal

from pydantic import field_validator

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.interface import (
    CheckKind,
    CheckStatus,
    Missing,
    Params,
    Verdict,
    failed_section,
    first_lines,
    on_missing,
)
from compliance.hosts.checks.paths import AbsolutePath

FILE_LIMIT = 256 * 1024
MISSING_STATUS = 3


def read_file_script(path: str) -> str:
    """Shared with config_value: the same file is read once per host however many checks.

    `exec`: the section's subshell becomes `cat` instead of forking once more for it.
    """
    quoted = shlex.quote(path)
    return f"[ -e {quoted} ] || exit {MISSING_STATUS}\nexec cat -- {quoted}"


class FileContentParams(Params):
    path: AbsolutePath
    pattern: str
    expect: Literal["present", "absent"] = "present"
    ignore_case: bool = False
    missing: Missing = "fail"

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class FileContent(CheckKind[FileContentParams]):
    name = "file_content"
    params = FileContentParams

    def section(self, params: FileContentParams, budget: float) -> Section:
        return Section(read_file_script(params.path), budget, FILE_LIMIT)

    def evaluate(self, params: FileContentParams, result: SectionResult) -> Verdict:
        expected = f"a line matching /{params.pattern}/ is {params.expect} in {params.path}"
        if result.status == MISSING_STATUS:
            return on_missing(params.missing, params.path, expected)
        if result.status != 0:
            return failed_section(result, f"reading {params.path}")
        flags = re.MULTILINE | (re.IGNORECASE if params.ignore_case else 0)
        hits = [m.group(0) for m in re.finditer(params.pattern, result.output, flags)]
        lines = [_line_of(result.output, h) for h in hits]
        observed = first_lines("\n".join(lines)) if lines else "no line matches"
        ok = bool(hits) == (params.expect == "present")
        if result.truncated and not ok and params.expect == "present":
            return Verdict(
                CheckStatus.ERROR, observed, expected, f"{params.path} is larger than the limit"
            )
        return Verdict(CheckStatus.PASS if ok else CheckStatus.FAIL, observed, expected)


def _line_of(text: str, hit: str) -> str:
    index = text.find(hit)
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index + len(hit))
    return text[start : end if end >= 0 else len(text)]
