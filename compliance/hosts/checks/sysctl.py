"""`sysctl`: a kernel parameter's live value, read from /proc/sys (no sysctl binary needed).

Network parameters are per network namespace, so a container or a test host in its own
netns reports its own values.
"""

from __future__ import annotations

import re
import shlex

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

MISSING_STATUS = 3
_KEY = re.compile(r"^[A-Za-z0-9_-]+([./][A-Za-z0-9_*:-]+)*$")


class SysctlParams(ValueExpectation):
    key: str
    missing: Missing = "error"

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _KEY.match(value) or ".." in value:
            raise ValueError("a sysctl name such as net.ipv4.ip_forward")
        return value


class Sysctl(CheckKind[SysctlParams]):
    name = "sysctl"
    params = SysctlParams

    def section(self, params: SysctlParams, budget: float) -> Section:
        path = shlex.quote("/proc/sys/" + params.key.replace(".", "/"))
        # Builtins in the batch's own shell (no subshell, no `cat`): /proc/sys values are
        # a line or two, and a fork and an exec per key were a tenth of a host's audit.
        script = (
            f"if [ -r {path} ]; then\n"
            f'  while IFS= read -r _l || [ -n "$_l" ]; do printf \'%s\\n\' "$_l"; done < {path}\n'
            f"elif [ -e {path} ]; then echo 'cannot read '{path}; _st 2\n"
            f"else _st {MISSING_STATUS}; fi"
        )
        return Section(script, budget, 4096, contained=False, isolated=False)

    def evaluate(self, params: SysctlParams, result: SectionResult) -> Verdict:
        expected = f"{params.key} {params.describe()}"
        if result.status == MISSING_STATUS:
            return on_missing(params.missing, f"sysctl {params.key}", expected)
        if result.status != 0:
            return failed_section(result, f"reading sysctl {params.key}")
        value = " ".join(result.output.split())
        ok = params.holds(value)
        return Verdict(
            CheckStatus.PASS if ok else CheckStatus.FAIL, f"{params.key} = {value}", expected
        )
