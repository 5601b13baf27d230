"""What a check kind is: parameters → one section of the host's shell script → a verdict.

A kind never talks to the host itself. It renders a piece of POSIX sh (every policy value
passes through `shlex.quote`, so a path or a value in a policy cannot inject commands) and
later reads back only its own section's output, locally. That keeps the target free of
Python or agents, and lets many checks share one remote execution.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from compliance.findings import bound_text
from compliance.hosts.batch import Section, SectionResult

OBSERVED_LIMIT = 1000
"""Evidence per check result: enough to explain a verdict, never a whole file."""


class CheckStatus(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    NOT_APPLICABLE = "not-applicable"
    ERROR = "error"


@dataclass(frozen=True)
class Verdict:
    status: CheckStatus
    observed: str
    expected: str
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "observed", bound_text(self.observed, OBSERVED_LIMIT))


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Missing = Literal["fail", "pass", "not-applicable", "error"]


def on_missing(missing: Missing, what: str, expected: str) -> Verdict:
    """A missing file/key/mount is a policy decision per check, stated in the policy."""
    status = {
        "fail": CheckStatus.FAIL,
        "pass": CheckStatus.PASS,
        "not-applicable": CheckStatus.NOT_APPLICABLE,
        "error": CheckStatus.ERROR,
    }[missing]
    return Verdict(status, f"{what} does not exist", expected, f"{what} does not exist")


class ValueExpectation(Params):
    """What a single observed value must satisfy. Every condition given must hold."""

    equals: str | int | None = None
    one_of: tuple[str | int, ...] | None = None
    not_one_of: tuple[str | int, ...] | None = None
    matches: str | None = Field(default=None, description="Python regex, searched")
    min: float | None = None
    max: float | None = None
    ignore_case: bool = True

    @field_validator("matches")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _something(self) -> ValueExpectation:
        if self.expectation_fields() == {}:
            raise ValueError("give at least one of equals, one_of, not_one_of, matches, min, max")
        return self

    def expectation_fields(self) -> dict[str, Any]:
        names = ("equals", "one_of", "not_one_of", "matches", "min", "max")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def describe(self) -> str:
        parts = []
        for name, value in self.expectation_fields().items():
            shown = list(value) if isinstance(value, tuple) else value
            parts.append(f"{name} {shown}")
        return " and ".join(parts)

    def holds(self, value: str) -> bool:
        norm = _norm(value, self.ignore_case)
        if self.equals is not None and norm != _norm(str(self.equals), self.ignore_case):
            return False
        if self.one_of is not None and norm not in {
            _norm(str(v), self.ignore_case) for v in self.one_of
        }:
            return False
        if self.not_one_of is not None and norm in {
            _norm(str(v), self.ignore_case) for v in self.not_one_of
        }:
            return False
        if self.matches is not None and not re.search(
            self.matches, value, re.IGNORECASE if self.ignore_case else 0
        ):
            return False
        if self.min is not None or self.max is not None:
            number = _number(value)
            if number is None:
                return False
            if self.min is not None and number < self.min:
                return False
            if self.max is not None and number > self.max:
                return False
        return True


def _norm(value: str, ignore_case: bool) -> str:
    value = " ".join(value.split())
    return value.lower() if ignore_case else value


def _number(value: str) -> float | None:
    try:
        return float(value.strip())
    except ValueError:
        return None


P = TypeVar("P", bound=Params)


class CheckKind(ABC, Generic[P]):
    """One kind of check. Subclasses live one per file in this package."""

    name: ClassVar[str]
    params: ClassVar[type[Params]]
    default_budget: ClassVar[float] = 10.0

    @abstractmethod
    def section(self, params: P, budget: float) -> Section:
        """The shell piece whose output `evaluate` reads (identical pieces run once)."""

    def shared_section(self, params: Sequence[P], budget: float) -> Section | None:
        """One section for all of a host's checks of this kind with this budget, or None.

        For kinds where each check would cost the target a fork and an exec but one run
        of a program answers them all (one `stat` of many paths); `evaluate` then finds
        its own answer in the shared output. None (the default): one section per check.
        """
        return None

    @abstractmethod
    def evaluate(self, params: P, result: SectionResult) -> Verdict:
        """Judge the section's output; called only when the section ran to the end."""


def failed_section(result: SectionResult, what: str) -> Verdict:
    """A section that exited with an unexpected status: an error, with what it printed."""
    said = result.output.strip() or "no output"
    return Verdict(
        CheckStatus.ERROR,
        said,
        "",
        f"{what} exited with status {result.status}: {said.splitlines()[0][:200]}",
    )


def first_lines(text: str, count: int = 5) -> str:
    lines = text.splitlines()
    shown = "\n".join(lines[:count])
    if len(lines) > count:
        shown += f"\n… ({len(lines) - count} more lines)"
    return shown
