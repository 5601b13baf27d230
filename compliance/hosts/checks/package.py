"""`package`: installed, absent, or at least a version; dpkg on Debian, rpm on RHEL.

`name` may list alternatives for distributions that name a package differently
(`[auditd, audit]`): installed means any of them is, absent means none is.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from pydantic import field_validator

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.interface import (
    CheckKind,
    CheckStatus,
    Params,
    Verdict,
    failed_section,
)
from compliance.hosts.checks.versions import compare

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._-]*$")
NO_MANAGER = 127
INVENTORY_SCRIPT = (
    "if command -v dpkg-query >/dev/null 2>&1; then echo dpkg\n"
    "  dpkg-query -W -f='${Package}|${db:Status-Abbrev}|${Version}\\n'\n"
    "elif command -v rpm >/dev/null 2>&1; then echo rpm\n"
    "  rpm -qa --qf '%{NAME}|ii |%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'\n"
    f"else exit {NO_MANAGER}; fi"
)


@lru_cache(maxsize=8)
def _installed(output: str) -> tuple[str, dict[str, str]]:
    """(manager, installed name → version), parsed once per host's package list.

    Every package check of a host reads the same list (thousands of lines); parsing it
    per check was the auditor's largest CPU cost per host. The cache is keyed by the text
    itself, so hosts never see each other's packages.
    """
    lines = output.splitlines()
    manager = lines[0].strip() if lines else ""
    installed = {}
    for line in lines[1:]:
        parts = line.split("|")
        if len(parts) == 3 and parts[1].startswith("ii"):
            installed[parts[0]] = parts[2]
    return manager, installed


class PackageParams(Params):
    name: tuple[str, ...]
    state: Literal["installed", "absent"] = "installed"
    min_version: str | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        names = [value] if isinstance(value, str) else value
        if isinstance(names, list | tuple):
            for name in names:
                if not isinstance(name, str) or not _NAME.match(name):
                    raise ValueError(f"{name!r} is not a package name")
        return names


class Package(CheckKind[PackageParams]):
    name = "package"
    params = PackageParams

    def section(self, params: PackageParams, budget: float) -> Section:
        # One query of the whole package database, identical for every package check, so
        # a host runs it once however many packages the policy asks about (dpkg-query
        # re-reads its whole status file on every call).
        return Section(INVENTORY_SCRIPT, max(budget, 30.0), 4 * 1024 * 1024)

    def evaluate(self, params: PackageParams, result: SectionResult) -> Verdict:
        names = "|".join(params.name)
        expected = f"{names} {params.state}" + (
            f", version >= {params.min_version}" if params.min_version else ""
        )
        if result.status == NO_MANAGER:
            return Verdict(
                CheckStatus.ERROR, "", expected, "neither dpkg-query nor rpm found on the host"
            )
        if result.status != 0:
            return failed_section(result, "the package query")
        if result.truncated:
            return Verdict(CheckStatus.ERROR, "", expected, "package list larger than the limit")
        manager, database = _installed(result.output)
        installed = {n: database[n] for n in params.name if n in database}
        observed = ", ".join(f"{n} {v}" for n, v in installed.items()) or f"{names} not installed"
        if params.state == "absent":
            ok = not installed
            return Verdict(CheckStatus.PASS if ok else CheckStatus.FAIL, observed, expected)
        if not installed:
            return Verdict(CheckStatus.FAIL, observed, expected)
        if params.min_version:
            minimum = params.min_version
            good = [v for v in installed.values() if compare(manager, v, minimum) >= 0]
            if not good:
                return Verdict(CheckStatus.FAIL, observed, expected, f"older than {minimum}")
        return Verdict(CheckStatus.PASS, observed, expected)
