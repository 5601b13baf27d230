"""`file_absent`: a path must not exist (a .rhosts, a hosts.equiv, a leftover key)."""

from __future__ import annotations

import shlex

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.interface import (
    CheckKind,
    CheckStatus,
    Params,
    Verdict,
    failed_section,
)
from compliance.hosts.checks.paths import AbsolutePath


class FileAbsentParams(Params):
    path: AbsolutePath


class FileAbsent(CheckKind[FileAbsentParams]):
    name = "file_absent"
    params = FileAbsentParams

    def section(self, params: FileAbsentParams, budget: float) -> Section:
        quoted = shlex.quote(params.path)
        # builtins only: cannot hang, so no watchdog, and no subshell either
        script = f"if [ -e {quoted} ] || [ -L {quoted} ]; then echo present; else echo absent; fi"
        return Section(script, budget, 64, contained=False, isolated=False)

    def evaluate(self, params: FileAbsentParams, result: SectionResult) -> Verdict:
        expected = f"{params.path} does not exist"
        answer = result.output.strip()
        if result.status != 0 or answer not in ("present", "absent"):
            return failed_section(result, f"test -e {params.path}")
        if answer == "present":
            return Verdict(CheckStatus.FAIL, f"{params.path} exists", expected)
        return Verdict(CheckStatus.PASS, f"{params.path} does not exist", expected)
