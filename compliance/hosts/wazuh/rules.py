"""Parse one Wazuh rule string: `[not ]TYPE:target[ -> [file pattern -> ]EXPR]`.

Parsing follows Wazuh's own splitting exactly (the first ' -> ' separates the target, a
`d:` rule splits once more for the file-name pattern, minterms are split on ' && ', a
leading '!' negates a minterm), so a rule means here what it means to the agent. What the
agent would silently mis-evaluate (a regex that does not compile, `n:` without
`compare`, an unbalanced quote in a command) is a RuleError here: the loader turns it
into a file:line error.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace
from typing import Literal

from compliance.hosts.wazuh.regex import (
    PatternError,
    compile_osmatch,
    compile_osregex,
    compile_pcre,
)

Dialect = Literal["pcre2", "osregex"]
RuleType = Literal["f", "d", "p", "c"]
_OPS = ("<=", ">=", "==", "!=", "<", ">", "=")
_VARIABLE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")


class RuleError(ValueError):
    """A rule that cannot be evaluated faithfully; the message says what and why."""


@dataclass(frozen=True)
class Minterm:
    text: str
    negated: bool
    kind: Literal["r", "n", "literal"]
    regex: re.Pattern[str] | None = None
    op: str = ""
    value: int = 0

    def describe(self) -> str:
        return ("!" if self.negated else "") + self.text


@dataclass(frozen=True)
class Expression:
    """Minterms joined by ' && ' (see evaluate.expression_holds for the semantics)."""

    text: str
    minterms: tuple[Minterm, ...]


@dataclass(frozen=True)
class Rule:
    text: str
    type: RuleType
    negated: bool
    targets: tuple[str, ...]
    """Files or directories (a variable may expand to several), one command, one process."""
    file_pattern: re.Pattern[str] | None = None
    """d: rules: which entries (by name) to look at."""
    file_pattern_text: str = ""
    expression: Expression | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def argv(self) -> tuple[str, ...]:
        """c: rules: the command split like Wazuh's wm_exec does (no shell involved)."""
        try:
            return tuple(shlex.split(self.targets[0]))
        except ValueError:
            return tuple(_unclosed_quote(self.targets[0]))


def parse_rule(text: object, variables: dict[str, str], dialect: Dialect) -> Rule:
    rule = _parse_rule(text, variables, dialect)
    suspicious = [
        m.text
        for m in (rule.expression.minterms if rule.expression else ())
        if m.kind == "literal" and m.text.strip()[:2].lower() in ("r:", "n:")
    ]
    if suspicious:
        extra = tuple(
            f"minterm {text!r} is compared as a literal line because of the space before "
            f"{text.strip()[:2]!r} (Wazuh does the same); it will almost never match"
            for text in suspicious
        )
        rule = replace(rule, warnings=rule.warnings + extra)
    return rule


def _parse_rule(text: object, variables: dict[str, str], dialect: Dialect) -> Rule:
    if not isinstance(text, str):
        raise RuleError(f"a rule is a string like 'f:/etc/passwd -> r:^root', got {text!r}")
    raw = text.strip(" \t")
    negated = raw.startswith(("not ", "NOT "))
    body = raw[4:].lstrip(" \t") if negated else raw
    prefix, colon, value = body.partition(":")
    if not colon:
        raise RuleError(f"no rule type: {text!r} (expected f:, d:, p: or c:)")
    if prefix.startswith("!"):
        raise RuleError(
            f"'{prefix}:' — Wazuh ignores a '!' before the rule type, so this rule is NOT "
            "negated; write 'not {prefix[1:]}:…' to negate it, or drop the '!'"
        )
    if prefix == "r":
        raise RuleError("r: (Windows registry) rules cannot run on a Unix host")
    if prefix not in ("f", "d", "p", "c"):
        raise RuleError(f"unknown rule type {prefix!r}: expected f:, d:, p: or c:")
    kind: RuleType = prefix  # type: ignore[assignment]
    warnings: list[str] = []
    if kind == "p":
        if not value.strip():
            raise RuleError(f"p: rule without a process name: {text!r}")
        return Rule(text, kind, negated, (value,), expression=parse_expression(value, dialect))
    if value.endswith(" ->"):
        raise RuleError(f"nothing after '->' in {text!r}")
    location, arrow, pattern = value.partition(" -> ")
    if not location.strip():
        raise RuleError(f"{kind}: rule without a target: {text!r}")
    if "->" in location:
        warnings.append(
            f"'->' without a space on both sides is part of the target {location!r} "
            "(Wazuh reads it the same way); did you mean ' -> '?"
        )
    if kind == "c":
        return _command_rule(text, negated, location, arrow, pattern, variables, dialect, warnings)
    targets = _expand(location, variables)
    if kind == "f":
        expression = parse_expression(pattern, dialect) if arrow else None
        return Rule(text, kind, negated, targets, expression=expression, warnings=tuple(warnings))
    file_pattern_text, arrow2, content = pattern.partition(" -> ") if arrow else ("", "", "")
    file_pattern = None
    if arrow:
        if not file_pattern_text:
            raise RuleError(f"d: rule with an empty file-name pattern: {text!r}")
        file_pattern = _file_name_pattern(file_pattern_text, dialect)
    expression = parse_expression(content, dialect) if arrow2 else None
    return Rule(
        text,
        kind,
        negated,
        targets,
        file_pattern,
        file_pattern_text,
        expression,
        tuple(warnings),
    )


def _command_rule(
    text: str,
    negated: bool,
    location: str,
    arrow: str,
    pattern: str,
    variables: dict[str, str],
    dialect: Dialect,
    warnings: list[str],
) -> Rule:
    command = _substitute(location, variables)
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = _unclosed_quote(command)
        warnings.append(
            f"command {command!r} has an unclosed quote; it is read as if the quote closed "
            f"at the end of the command: {argv!r}"
        )
    if not argv:
        raise RuleError(f"c: rule without a command: {text!r}")
    expression = parse_expression(pattern, dialect) if arrow else None
    return Rule(text, "c", negated, (command,), expression=expression, warnings=tuple(warnings))


def _unclosed_quote(command: str) -> list[str]:
    for closing in ('"', "'", "'\"", "\"'"):
        try:
            return shlex.split(command + closing)
        except ValueError:
            continue
    raise RuleError(f"command {command!r} cannot be split into arguments (unbalanced quotes)")


def _substitute(location: str, variables: dict[str, str]) -> str:
    # longest name first, as Wazuh sorts them, so $a never eats the start of $ab
    for name in sorted(variables, key=len, reverse=True):
        location = location.replace(name, variables[name])
    return location


def _expand(location: str, variables: dict[str, str]) -> tuple[str, ...]:
    expanded = _substitute(location, variables)
    unknown = _VARIABLE.findall(expanded)
    if unknown:
        known = ", ".join(sorted(variables)) or "none defined"
        raise RuleError(f"undefined variable {unknown[0]} (variables: {known})")
    targets = tuple(t for t in expanded.split(",") if t)
    if not targets:
        raise RuleError(f"no target in {location!r}")
    for target in targets:
        if not target.startswith("/"):
            raise RuleError(f"{target!r} is not an absolute path")
    return targets


def _file_name_pattern(text: str, dialect: Dialect) -> re.Pattern[str]:
    try:
        if text.startswith(("r:", "R:")):
            source = text[2:]
            return compile_pcre(source) if dialect == "pcre2" else compile_osregex(source)
        if dialect == "pcre2":  # Wazuh 5.x: a plain file pattern is the exact name
            return re.compile("^" + re.escape(text) + r"\Z")
        return compile_osmatch(text)
    except PatternError as exc:
        raise RuleError(f"file-name pattern {text!r}: {exc}") from None


def parse_expression(text: str, dialect: Dialect) -> Expression:
    if not text:
        raise RuleError("empty pattern after ' -> '")
    minterms = []
    for part in text.split(" && "):
        negated = part.startswith("!")
        body = part[1:] if negated else part
        if not body:
            raise RuleError(f"empty minterm in {text!r}")
        minterms.append(_minterm(body, negated, dialect))
    return Expression(text, tuple(minterms))


def _compile(source: str, dialect: Dialect) -> re.Pattern[str]:
    try:
        return compile_pcre(source) if dialect == "pcre2" else compile_osregex(source)
    except PatternError as exc:
        raise RuleError(str(exc)) from None


def _minterm(body: str, negated: bool, dialect: Dialect) -> Minterm:
    head = body[:2].lower()
    if head == "r:":
        return Minterm(body, negated, "r", _compile(body[2:], dialect))
    if head == "n:":
        source, found, comparison = body[2:].partition(" compare ")
        if not found:
            raise RuleError(f"{body!r}: n: needs 'REGEX compare OP NUMBER'")
        match = re.fullmatch(r"\s*(<=|>=|==|!=|<|>|=)\s*([+-]?\d+)\s*", comparison)
        if not match:
            raise RuleError(
                f"{body!r}: cannot read the comparison {comparison!r}; "
                f"expected one of {' '.join(_OPS)} and an integer"
            )
        op = "==" if match.group(1) == "=" else match.group(1)
        return Minterm(body, negated, "n", _compile(source, dialect), op, int(match.group(2)))
    return Minterm(body, negated, "literal")
