"""`command`: run a command from the policy; judge its exit status and/or its output.

The command is the policy author's shell text and runs as written (it is the one place a
policy is code); it still gets its own time budget and output limit.
"""

from __future__ import annotations

import re

from pydantic import field_validator, model_validator

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.interface import (
    CheckKind,
    CheckStatus,
    Params,
    Verdict,
    first_lines,
)


class CommandParams(Params):
    run: str
    status: int | None = None
    output_matches: str | None = None
    output_absent: str | None = None
    """A regex that must NOT match anywhere in the output."""

    @field_validator("output_matches", "output_absent")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _something(self) -> CommandParams:
        if self.status is None and self.output_matches is None and self.output_absent is None:
            raise ValueError("give status, output_matches or output_absent")
        return self


class Command(CheckKind[CommandParams]):
    name = "command"
    params = CommandParams

    def section(self, params: CommandParams, budget: float) -> Section:
        return Section(params.run, budget)

    def evaluate(self, params: CommandParams, result: SectionResult) -> Verdict:
        wanted = []
        if params.status is not None:
            wanted.append(f"exit status {params.status}")
        if params.output_matches is not None:
            wanted.append(f"output matches /{params.output_matches}/")
        if params.output_absent is not None:
            wanted.append(f"output has no /{params.output_absent}/")
        expected = f"`{params.run}`: " + " and ".join(wanted)
        observed = f"exit {result.status}: " + (first_lines(result.output.strip()) or "no output")
        problems = []
        if params.status is not None and result.status != params.status:
            problems.append(f"exit status {result.status}")
        flags = re.MULTILINE
        if params.output_matches is not None and not re.search(
            params.output_matches, result.output, flags
        ):
            problems.append("expected output not found")
        if params.output_absent is not None:
            hit = re.search(params.output_absent, result.output, flags)
            if hit:
                problems.append(f"forbidden output: {hit.group(0)[:200]}")
        status = CheckStatus.FAIL if problems else CheckStatus.PASS
        return Verdict(status, observed, expected, "; ".join(problems))
