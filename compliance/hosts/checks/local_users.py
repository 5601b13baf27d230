"""`local_users`: only root has UID 0; no account has an empty password; every account
with a password has the ageing fields CIS 5.4.1.x asks of /etc/shadow (not only the
login.defs defaults, which apply to accounts created later).

The password test runs on the host and sends back account names only: password hashes
never leave the machine, so they cannot end up in the store or a report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import model_validator

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
    '$2 == "" { print "empty " FILENAME ": " $1 } '
    'FILENAME == "/etc/shadow" && $2 ~ /^\\$.+\\$/ { print "age " $1 " " $4 " " $5 " " $6 }\' '
    '/etc/passwd "$@"'
)
"""Every rule from one awk over passwd and shadow (an exec each cost the target ~1 ms).
Each output line starts with the rule it answers; account names and ageing numbers only,
never a hash."""

AGEING = {
    # rule: (field index in the `age` line, at least / at most, CIS's words)
    "password-max-days": (1, "max", "days between password changes (shadow field 5)"),
    "password-min-days": (0, "min", "days before a password may change (shadow field 4)"),
    "password-warn-days": (2, "min", "days of warning before expiry (shadow field 6)"),
}


class LocalUsersParams(Params):
    rule: Literal[
        "only-root-uid0",
        "no-empty-passwords",
        "password-max-days",
        "password-min-days",
        "password-warn-days",
    ]
    limit: int | None = None
    """For the ageing rules: the bound every account with a password must meet."""

    @model_validator(mode="after")
    def _limit(self) -> LocalUsersParams:
        if (self.rule in AGEING) != (self.limit is not None):
            raise ValueError("limit: is given for the password-*-days rules, and only for them")
        return self


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
        if params.rule in AGEING:
            return _ageing(params, lines)
        expected = "no account has an empty password"
        if any(line.startswith("noshadow ") for line in lines):
            return Verdict(CheckStatus.ERROR, NO_SHADOW, expected, NO_SHADOW)
        names = [line[6:].strip() for line in lines if line.startswith("empty ")]
        if names:
            return Verdict(CheckStatus.FAIL, "empty password: " + ", ".join(names), expected)
        return Verdict(CheckStatus.PASS, "no empty password field", expected)


def _ageing(params: LocalUsersParams, lines: list[str]) -> Verdict:
    index, bound, what = AGEING[params.rule]
    assert params.limit is not None
    rule = "at least" if bound == "min" else "at most"
    expected = f"every account with a password: {what} {rule} {params.limit}"
    if any(line.startswith("noshadow ") for line in lines):
        return Verdict(CheckStatus.ERROR, NO_SHADOW, expected, NO_SHADOW)
    wrong, checked = [], 0
    for line in lines:
        if not line.startswith("age "):
            continue
        fields = line.split(" ")[1:]
        name, values = fields[0], [*fields[1:], "", "", ""][:3]
        checked += 1
        value = values[index]
        ok = value.isdigit() and (
            int(value) >= params.limit if bound == "min" else 0 < int(value) <= params.limit
        )
        if not ok:
            wrong.append(f"{name} {value or '(empty)'}")
    if wrong:
        return Verdict(CheckStatus.FAIL, f"{what}: " + ", ".join(wrong), expected)
    if not checked:
        return Verdict(CheckStatus.PASS, "no account has a password", expected)
    return Verdict(CheckStatus.PASS, f"{checked} accounts with a password meet it", expected)
