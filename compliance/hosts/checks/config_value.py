"""`config_value`: the effective value of a key in a key-value config (a file or a command).

`sshd -T` prints the configuration sshd would really use (defaults, includes and all);
reading sshd_config by hand misses all of that, so for sshd the command is the truth. For
plain files (login.defs, sysctl.conf, chrony.conf …) full-line comments are skipped and
`occurrence` says which of several lines wins (sshd: the first, most others: the last).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import field_validator, model_validator

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.file_content import FILE_LIMIT, MISSING_STATUS, read_file_script
from compliance.hosts.checks.interface import (
    CheckKind,
    CheckStatus,
    Missing,
    ValueExpectation,
    Verdict,
    failed_section,
    on_missing,
)
from compliance.hosts.checks.paths import absolute_path


class ConfigValueParams(ValueExpectation):
    path: str | None = None
    command: str | None = None
    """A trusted command from the policy (e.g. `sshd -T`), run as written."""
    key: str
    separator: Literal["whitespace", "=", ":"] = "whitespace"
    occurrence: Literal["first", "last"] = "last"
    default: str | None = None
    """The value the program uses when the key is absent (login.defs has many)."""
    missing: Missing = "fail"

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else absolute_path(value)

    @model_validator(mode="after")
    def _one_source(self) -> ConfigValueParams:
        if (self.path is None) == (self.command is None):
            raise ValueError("give exactly one of path (a file) or command (e.g. 'sshd -T')")
        return self


class ConfigValue(CheckKind[ConfigValueParams]):
    name = "config_value"
    params = ConfigValueParams

    def section(self, params: ConfigValueParams, budget: float) -> Section:
        if params.path is not None:
            return Section(read_file_script(params.path), budget, FILE_LIMIT)
        assert params.command is not None
        return Section(params.command, budget, FILE_LIMIT)

    def evaluate(self, params: ConfigValueParams, result: SectionResult) -> Verdict:
        source = params.path or f"`{params.command}`"
        expected = f"{params.key} {params.describe()} (in {source})"
        if params.path is not None and result.status == MISSING_STATUS:
            return on_missing(params.missing, params.path, expected)
        if result.status != 0:
            return failed_section(result, source)
        values = _values(result.output, params)
        if not values:
            if params.default is None:
                verdict = on_missing(params.missing, f"{params.key} in {source}", expected)
                return verdict
            line, value = f"(absent; default {params.default})", params.default
        else:
            line, value = values[0] if params.occurrence == "first" else values[-1]
        ok = params.holds(value)
        return Verdict(CheckStatus.PASS if ok else CheckStatus.FAIL, line, expected)


def _values(text: str, params: ConfigValueParams) -> list[tuple[str, str]]:
    return _entries(text, params.separator).get(params.key.lower(), [])


@lru_cache(maxsize=8)
def _entries(text: str, separator: str) -> dict[str, list[tuple[str, str]]]:
    """Lower-cased key → (line, value) of each of its settings in order, parsed once per
    host and source: seventeen checks read the same `sshd -T` output. Never modified."""
    found: dict[str, list[tuple[str, str]]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        parts = line.split(None, 1) if separator == "whitespace" else line.split(separator, 1)
        if not parts:
            continue
        value = parts[1].strip() if len(parts) > 1 else ""
        found.setdefault(parts[0].strip().lower(), []).append((line, value))
    return found
