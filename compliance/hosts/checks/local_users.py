"""`local_users`: only root has UID 0; no account has an empty password.

The password test runs on the host and sends back account names only: password hashes
never leave the machine, so they cannot end up in the store or a report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.interface import (
    CheckKind,
    CheckStatus,
    Params,
    Verdict,
    failed_section,
)

NO_SHADOW = "cannot read /etc/shadow (audit as root or with sudo)"
SCRIPT = (
    "set --\n"
    f"if [ -r /etc/shadow ]; then set -- /etc/shadow; else echo 'noshadow {NO_SHADOW}'; fi\n"
    'exec awk -F: \'FILENAME == "/etc/passwd" && $3 == 0 { print "uid0 " $1 } '
    '$2 == "" { print "empty " FILENAME ": " $1 }\' /etc/passwd "$@"'
)
"""Both rules from one awk over passwd and shadow (an exec each cost the target ~1 ms).
Each output line starts with the rule it answers; account names only, never a hash."""


class LocalUsersParams(Params):
    rule: Literal["only-root-uid0", "no-empty-passwords"]


class LocalUsers(CheckKind[LocalUsersParams]):
    name = "local_users"
    params = LocalUsersParams

    def section(self, params: LocalUsersParams, budget: float) -> Section:
        return Section(SCRIPT, budget, 16 * 1024)

    def shared_section(self, params: Sequence[LocalUsersParams], budget: float) -> Section:
        return self.section(params[0], budget)

    def evaluate(self, params: LocalUsersParams, result: SectionResult) -> Verdict:
        if result.status != 0:
            return failed_section(result, params.rule)
        lines = result.output.splitlines()
        if params.rule == "only-root-uid0":
            names = [line[5:].strip() for line in lines if line.startswith("uid0 ")]
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
        if any(line.startswith("noshadow ") for line in lines):
            return Verdict(CheckStatus.ERROR, NO_SHADOW, expected, NO_SHADOW)
        names = [line[6:].strip() for line in lines if line.startswith("empty ")]
        if names:
            return Verdict(CheckStatus.FAIL, "empty password: " + ", ".join(names), expected)
        return Verdict(CheckStatus.PASS, "no empty password field", expected)
