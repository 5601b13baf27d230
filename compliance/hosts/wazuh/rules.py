"""Parse one Wazuh rule string: `[not ]TYPE:target[ -> [file pattern -> ]EXPR]`.

Parsing follows the agent's own (wazuh/wazuh src/wazuh_modules/sca/sca_impl/src/
sca_policy_check.cpp RuleEvaluatorFactory and sca_utils.cpp): the first ' -> ' separates
the target, a `d:` rule splits once more for the file-name pattern; a pattern is a regex
expression only when it starts with `r:`, `!r:`, `n:` or `!n:` (then minterms are split on
' && ', a leading '!' negates one), otherwise it is plain text compared whole; `n:` is
read like the agent reads it (the first `compare`, then an operator and a number read by
`std::stoi`). Commands are split like the agent's tokenizer (`w_strtok`: spaces separate,
double quotes group, a backslash escapes the next character; single quotes are ordinary
characters). What the agent would silently mis-evaluate (a regex PCRE2 refuses, `n:`
without `compare`) is a RuleError here: the loader reports it as that check's error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from compliance.hosts.wazuh.regex import (
    ExactText,
    LinePattern,
    PatternError,
    compile_osmatch,
    compile_osregex,
    compile_pcre,
)

Dialect = Literal["pcre2", "osregex"]
RuleType = Literal["f", "d", "p", "c"]
_OPS = ("<", "<=", "==", "!=", ">=", ">")
"""The agent's comparison operators (`=` is not one: it makes the rule invalid)."""
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_STOI = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")
REGEX_PREFIXES = ("r:", "!r:", "n:", "!n:")
"""A pattern is a regex expression only when it starts so (sca::IsRegexOrNumericPattern)."""
_VARIABLE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")


class RuleError(ValueError):
    """A rule that cannot be evaluated faithfully; the message says what and why."""


@dataclass(frozen=True)
class Minterm:
    text: str
    negated: bool
    kind: Literal["r", "n", "literal"]
    regex: LinePattern | None = None
    op: str = ""
    value: int | None = 0
    """n: the number compared with; None when the agent cannot read it (see `invalid`)."""
    invalid: str = ""
    """n: why the agent evaluates this minterm as invalid (operator or number it cannot read)."""

    def describe(self) -> str:
        return ("!" if self.negated else "") + self.text


@dataclass(frozen=True)
class Expression:
    """Minterms joined by ' && ' (see evaluate.expression_holds for the semantics), or,
    when `plain`, one text compared whole: with each line of a file, with a command's
    whole output."""

    text: str
    minterms: tuple[Minterm, ...]
    plain: bool = False


@dataclass(frozen=True)
class Rule:
    text: str
    type: RuleType
    negated: bool
    targets: tuple[str, ...]
    """Files or directories (a variable may expand to several), one command, one process."""
    file_pattern: LinePattern | None = None
    """d: rules: which entries (by name) to look at."""
    file_pattern_text: str = ""
    expression: Expression | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def argv(self) -> tuple[str, ...]:
        """c: rules: the command split like the agent's `w_strtok` (no shell involved)."""
        return split_command(self.targets[0])


def split_command(command: str) -> tuple[str, ...]:
    """Arguments as the agent's tokenizer makes them (wazuh/wazuh src/shared/string_op.c
    `w_strtok`, used by `wm_exec`): a space ends an argument outside double quotes, a
    double quote toggles quoting (and is dropped; `""` is an empty argument), a backslash
    takes the next character literally, anywhere. Tabs and single quotes are ordinary
    characters; an unclosed double quote runs to the end."""
    args: list[str] = []
    current: list[str] | None = None
    quoting = False
    i, n = 0, len(command)
    while i < n:
        ch = command[i]
        if ch == " " and not quoting:
            if current is not None:
                args.append("".join(current))
                current = None
        elif ch == '"':
            if quoting and current is None:
                current = []
            quoting = not quoting
        elif ch == "\\":
            if i + 1 < n:
                current = current if current is not None else []
                current.append(command[i + 1])
            i += 1
        else:
            current = current if current is not None else []
            current.append(ch)
        i += 1
    if current is not None:
        args.append("".join(current))
    return tuple(args)


def parse_rule(text: object, variables: dict[str, str], dialect: Dialect) -> Rule:
    rule = _parse_rule(text, variables, dialect)
    suspicious = [
        m.text
        for m in (rule.expression.minterms if rule.expression else ())
        if m.kind == "literal" and m.text.strip()[:2].lower() in ("r:", "n:")
    ]
    unreadable = tuple(
        f"{m.invalid}: the agent evaluates this rule as invalid (not applicable)"
        for m in (rule.expression.minterms if rule.expression else ())
        if m.invalid
    )
    if unreadable:
        rule = replace(rule, warnings=rule.warnings + unreadable)
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
    argv = split_command(command)
    if "'" in command:
        warnings.append(
            f"command {command!r} contains a single quote: the agent's tokenizer does not "
            f"treat it as a quote (only double quotes group), so it runs {list(argv)!r}"
        )
    if _unclosed(command):
        warnings.append(
            f"command {command!r} has an unclosed double quote; the agent reads the rest of "
            f"the command as quoted: {list(argv)!r}"
        )
    if not argv:
        raise RuleError(f"c: rule without a command: {text!r}")
    expression = parse_expression(pattern, dialect) if arrow else None
    return Rule(text, "c", negated, (command,), expression=expression, warnings=tuple(warnings))


def _unclosed(command: str) -> bool:
    quoting, i = False, 0
    while i < len(command):
        if command[i] == "\\":
            i += 1
        elif command[i] == '"':
            quoting = not quoting
        i += 1
    return quoting


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


def _file_name_pattern(text: str, dialect: Dialect) -> LinePattern:
    try:
        if dialect == "pcre2":
            if text.startswith("r:"):
                return compile_pcre(text[2:])
            return ExactText(text)  # the agent: file.filename() == pattern
        if text.startswith(("r:", "R:")):
            return compile_osregex(text[2:])
        return compile_osmatch(text)
    except PatternError as exc:
        raise RuleError(f"file-name pattern {text!r}: {exc}") from None


def parse_expression(text: str, dialect: Dialect) -> Expression:
    if not text:
        raise RuleError("empty pattern after ' -> '")
    if not text.startswith(REGEX_PREFIXES):
        # plain text, compared whole and case-sensitively (" && " and "!" included)
        return Expression(text, (Minterm(text, False, "literal"),), plain=True)
    minterms = []
    for part in text.split(" && "):
        negated = part.startswith("!")
        body = part[1:] if negated else part
        if not body:
            raise RuleError(f"empty minterm in {text!r}")
        minterms.append(_minterm(body, negated, dialect))
    return Expression(text, tuple(minterms))


def _compile(source: str, dialect: Dialect) -> LinePattern:
    try:
        return compile_pcre(source) if dialect == "pcre2" else compile_osregex(source)
    except PatternError as exc:
        raise RuleError(str(exc)) from None


def _minterm(body: str, negated: bool, dialect: Dialect) -> Minterm:
    head = body[:2]
    if head == "r:":
        return Minterm(body, negated, "r", _compile(body[2:], dialect))
    if head == "n:":
        return _numeric(body, negated, dialect)
    return Minterm(body, negated, "literal")


def _numeric(body: str, negated: bool, dialect: Dialect) -> Minterm:
    """`n:REGEX compare OP NUMBER` read as EvaluateNumericRegexComparison reads it: the
    regex ends one character before the first `compare`; OP and NUMBER are the next two
    whitespace-separated words; NUMBER goes through std::stoi (leading blanks, a sign,
    digits; anything after is ignored). An operator the agent does not know, or a number
    stoi cannot read or that overflows a 32-bit int, makes the minterm evaluate as invalid
    (the agent throws, and the rule is invalid), never as found or not found."""
    expression = body[2:]
    position = expression.find("compare")
    if position < 0:
        raise RuleError(f"{body!r}: n: needs 'REGEX compare OP NUMBER'")
    source = expression[: position - 1] if position > 0 else expression
    words = expression[position + len("compare") + 1 :].split()
    if len(words) < 2:
        raise RuleError(
            f"{body!r}: cannot read an operator and a number after 'compare'; "
            f"expected one of {' '.join(_OPS)} and an integer"
        )
    op, number = words[0], words[1]
    value, invalid = read_int(number)
    if invalid:
        invalid = f"{body!r}: the number {number!r} {invalid}"
    elif op not in _OPS:
        invalid = f"{body!r}: the agent has no operator {op!r} (use one of {' '.join(_OPS)})"
    return Minterm(body, negated, "n", _compile(source, dialect), op, value, invalid)


def read_int(text: str) -> tuple[int | None, str]:
    """std::stoi: (value, "") or (None, why it throws)."""
    match = _STOI.match(text)
    if not match:
        return None, "is not a number (std::stoi cannot read it)"
    value = int(match.group(1))
    if not INT_MIN <= value <= INT_MAX:
        return None, "is beyond a 32-bit int (std::stoi throws out_of_range)"
    return value, ""
