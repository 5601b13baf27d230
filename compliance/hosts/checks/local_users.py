"""`local_users`: only root has UID 0; no account has an empty password.

The password test runs on the host and sends back account names only: password hashes
never leave the machine, so they cannot end up in the store or a report.
"""

from __future__ import annotations

from typing import Literal

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.interface import (
    CheckKind,
    CheckStatus,
    Params,
    Verdict,
    failed_section,
)

SCRIPTS = {
    "only-root-uid0": "awk -F: '$3 == 0 { print $1 }' /etc/passwd",
    "no-empty-passwords": (
        "[ -r /etc/shadow ] || { echo 'cannot read /etc/shadow (audit as root or with sudo)'; "
        "exit 2; }\n"
        'awk -F: \'$2 == "" { print FILENAME ": " $1 }\' /etc/passwd /etc/shadow'
    ),
}


class LocalUsersParams(Params):
    rule: Literal["only-root-uid0", "no-empty-passwords"]


class LocalUsers(CheckKind[LocalUsersParams]):
    name = "local_users"
    params = LocalUsersParams

    def section(self, params: LocalUsersParams, budget: float) -> Section:
        return Section(SCRIPTS[params.rule], budget, 16 * 1024)

    def evaluate(self, params: LocalUsersParams, result: SectionResult) -> Verdict:
        if result.status != 0:
            return failed_section(result, params.rule)
        names = [line.strip() for line in result.output.splitlines() if line.strip()]
        if params.rule == "only-root-uid0":
            expected = "only root has UID 0"
            others = [n for n in names if n != "root"]
            if "root" not in names:
                return Verdict(
                    CheckStatus.ERROR,
                    ", ".join(names) or "none",
                    expected,
                    "no root account with UID 0 found in /etc/passwd",
                )
            if others:
                return Verdict(CheckStatus.FAIL, "UID 0: " + ", ".join(names), expected)
            return Verdict(CheckStatus.PASS, "UID 0: root", expected)
        expected = "no account has an empty password"
        if names:
            return Verdict(CheckStatus.FAIL, "empty password: " + ", ".join(names), expected)
        return Verdict(CheckStatus.PASS, "no empty password field", expected)
