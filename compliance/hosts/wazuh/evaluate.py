"""Wazuh's SCA semantics, applied locally to what collect.py gathered.

A rule is FOUND, NOT_FOUND, INVALID (Wazuh's "not applicable": a content rule on a
missing file, a command that could not be executed) or NOT_RUN (a command past its time
budget). `not` flips FOUND and NOT_FOUND only. A check aggregates its rules in order and
stops where Wazuh's engine stops:

- all:  the first NOT_FOUND fails it; otherwise an INVALID/NOT_RUN leaves it undecided.
- any:  the first FOUND passes it; otherwise undecided if any rule was, else failed.
- none: the first FOUND fails it; otherwise undecided if any rule was, else passed.

Content is matched as the agent's sca::PatternMatches does (wazuh/wazuh
src/wazuh_modules/sca/sca_impl/src/sca_utils.cpp): line by line (std::getline: split on
"\n", a "\r" stays part of the line), an expression holds when ONE line satisfies every
minterm, except a lone negated minterm, which holds when NO line matches it; a minterm the
agent cannot evaluate (an `n:` number it cannot read) makes the whole rule invalid.
Empty content never holds. A plain-text pattern (not starting with r:, !r:, n:, !n:) is
compared whole and case-sensitively: with each line of a file, with the whole output of
a command (trimmed of leading and trailing newlines, as the agent trims). Data our
collection lost (cut off, truncated where it matters) is a Gap, never a guess: the check
becomes an error.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from enum import StrEnum

from compliance.hosts.wazuh.collect import Collected, DirFact, FileFact
from compliance.hosts.wazuh.regex import Uncapturable
from compliance.hosts.wazuh.rules import Expression, Minterm, Rule, read_int

EVIDENCE_LINE = 300


class Result(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not found"
    INVALID = "invalid"
    NOT_RUN = "not run"


class Gap(Exception):
    """The data needed for a rule did not arrive whole; the verdict would be a guess."""


class Invalid(Exception):
    """A minterm that cannot be evaluated on a line (n: captured no number)."""


@dataclass(frozen=True)
class RuleOutcome:
    rule: Rule
    result: Result
    evidence: str
    """The line that decided, or why nothing did."""


@dataclass(frozen=True)
class Aggregate:
    result: Result
    deciding: RuleOutcome | None
    outcomes: tuple[RuleOutcome, ...]


def lines_of(text: str) -> list[str]:
    """std::getline's lines: a final newline ends the last line, "\r" is kept."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _number(text: str) -> int:
    value, why = read_int(text)  # std::stoi, as the agent reads the captured value
    if value is None:
        raise Invalid(f"captured {text!r}, which {why}")
    return value


def minterm_matches(minterm: Minterm, line: str) -> bool:
    if minterm.kind == "literal":
        return line == minterm.text  # the agent: content == minterm, case-sensitive
    assert minterm.regex is not None
    if minterm.kind == "r":
        return minterm.regex.search(line)
    if minterm.value is None:  # std::stoi of the expected value throws before matching
        raise Invalid(minterm.invalid)
    try:
        captured = minterm.regex.capture(line)
    except Uncapturable as exc:
        raise Invalid(str(exc)) from None
    if captured is None:
        return False
    number = _number(captured)
    if minterm.invalid:  # an operator the agent does not know: it throws after matching
        raise Invalid(minterm.invalid)
    return {
        "<": number < minterm.value,
        "<=": number <= minterm.value,
        "==": number == minterm.value,
        "!=": number != minterm.value,
        ">=": number >= minterm.value,
        ">": number > minterm.value,
    }[minterm.op]


def expression_holds(expression: Expression, lines: list[str]) -> tuple[bool, str | None]:
    """(holds, the line that decided) — None when no single line decided."""
    if not lines:
        return False, None
    minterms = expression.minterms
    if len(minterms) == 1 and minterms[0].negated:
        for line in lines:
            if minterm_matches(minterms[0], line):
                return False, line
        return True, None
    for line in lines:
        if all(minterm_matches(m, line) != m.negated for m in minterms):
            return True, line
    return False, None


def _show(line: str) -> str:
    return line if len(line) <= EVIDENCE_LINE else line[:EVIDENCE_LINE] + "…"


def _content(expression: Expression, text: str, truncated: bool, where: str) -> tuple[Result, str]:
    try:
        holds, line = expression_holds(expression, lines_of(text))
    except Invalid as exc:
        return Result.INVALID, f"{where}: {exc}"
    if truncated and line is None:
        # the verdict rests on lines we did not read
        raise Gap(f"{where} is larger than the collection limit; cannot judge every line")
    if holds:
        shown = f"{where}: {_show(line)}" if line is not None else f"{where}: no line matches"
        return Result.FOUND, shown
    if line is not None:
        return Result.NOT_FOUND, f"{where}: {_show(line)}"
    if not text:
        return Result.NOT_FOUND, f"{where}: empty"
    near = closest_line(expression, lines_of(text))
    if near is not None:
        return Result.NOT_FOUND, f"{where}: {_show(near)} (no line satisfies every minterm)"
    return Result.NOT_FOUND, f"{where}: no line matches"


def closest_line(expression: Expression, lines: list[str]) -> str | None:
    """For evidence only: the line that satisfies the most positive minterms (if any)."""
    best, best_score = None, 0
    for line in lines:
        try:
            score = sum(1 for m in expression.minterms if not m.negated and _loose(m, line))
        except Invalid:
            continue
        if score > best_score:
            best, best_score = line, score
    return best


def _loose(minterm: Minterm, line: str) -> bool:
    """An n: minterm counts when its regex matches, whatever the comparison says."""
    if minterm.kind == "n":
        assert minterm.regex is not None
        return minterm.regex.search(line)
    return minterm_matches(minterm, line)


def evaluate_rule(rule: Rule, data: Collected) -> RuleOutcome:
    result, evidence = {
        "f": _file_rule,
        "d": _dir_rule,
        "c": _command_rule,
        "p": _process_rule,
    }[rule.type](rule, data)
    if rule.negated and result in (Result.FOUND, Result.NOT_FOUND):
        result = Result.NOT_FOUND if result is Result.FOUND else Result.FOUND
    return RuleOutcome(rule, result, evidence)


def _fact(data: Collected, path: str) -> FileFact:
    fact = data.files.get(path)
    if fact is None:
        raise Gap(f"{path}: not collected ({data.problem or 'output cut off'})")
    return fact


def _file_rule(rule: Rule, data: Collected) -> tuple[Result, str]:
    if rule.expression is None:
        result, evidence = Result.NOT_FOUND, ""
        for path in rule.targets:
            fact = _fact(data, path)
            if fact.state in ("file", "unreadable"):
                return Result.FOUND, f"{path} exists"
            if fact.state == "other":
                result, evidence = Result.INVALID, f"{path} is not a regular file"
            elif result is Result.NOT_FOUND:
                evidence = f"{path} does not exist"
        return result, evidence
    return _files_content(rule.expression, [(p, _fact(data, p)) for p in rule.targets])


def _files_content(expression: Expression, facts: list[tuple[str, FileFact]]) -> tuple[Result, str]:
    result, evidence = Result.NOT_FOUND, ""
    for path, fact in facts:
        if fact.state != "file":
            why = {
                "missing": "does not exist",
                "other": "is not a regular file",
                "unreadable": "cannot be read",
            }[fact.state]
            result, evidence = Result.INVALID, f"could not open {path}: it {why}"
            continue
        found, shown = _content(expression, fact.content, fact.truncated, path)
        if found is Result.FOUND:
            return found, shown
        if found is Result.INVALID:
            result, evidence = found, shown
        elif result is Result.NOT_FOUND:
            evidence = shown if not evidence else f"{evidence}\n{shown}"
    return result, evidence


def _dir_rule(rule: Rule, data: Collected) -> tuple[Result, str]:
    result, evidence = Result.NOT_FOUND, ""
    for path in rule.targets:
        fact = data.dirs.get(path)
        if fact is None:
            raise Gap(f"{path}: not collected ({data.problem or 'output cut off'})")
        if rule.file_pattern is None:
            if fact.state == "dir":
                return Result.FOUND, f"{path} exists"
            if fact.state == "other":
                result, evidence = Result.INVALID, f"{path} is not a directory"
            elif result is Result.NOT_FOUND:
                evidence = f"{path} does not exist"
            continue
        if fact.state != "dir":
            what = "does not exist" if fact.state == "missing" else "is not a directory"
            result, evidence = Result.INVALID, f"could not open directory {path}: it {what}"
            continue
        if fact.truncated:
            raise Gap(f"the listing of {path} is larger than the collection limit")
        found, shown = _walk(rule, path, fact, data)
        if found is Result.FOUND:
            return found, shown
        if found is Result.INVALID:
            result, evidence = found, shown
        elif result is Result.NOT_FOUND:
            evidence = shown
    return result, evidence


def _walk(rule: Rule, root: str, fact: DirFact, data: Collected) -> tuple[Result, str]:
    """DirRuleEvaluator::CheckDirectoryForContents: directories from a stack (last pushed
    first), each level's entries in listing order; symbolic links are skipped, directories
    pushed, anything else is a file whose name is matched. With an `r:` name pattern, a
    level that has entries but no file is invalid at once, before its subdirectories are
    visited (the agent's `hadValue`)."""
    assert rule.file_pattern is not None
    children: dict[str, list[tuple[str, str]]] = {}
    for kind, entry in fact.entries:
        children.setdefault(posixpath.dirname(entry.rstrip("/")), []).append((kind, entry))
    top = posixpath.dirname(fact.entries[0][1].rstrip("/")) if fact.entries else root
    regex = rule.file_pattern_text.startswith("r:")
    matched: list[tuple[str, FileFact]] = []
    problem: tuple[Result, str] | None = None
    stack = [top]
    while stack:
        level = stack.pop()
        entries = children.get(level, [])
        if not entries:
            continue
        had_file = False
        for kind, entry in entries:
            if kind == "l":
                continue
            if kind == "d":
                stack.append(entry.rstrip("/"))
                continue
            had_file = True
            if not rule.file_pattern.search(posixpath.basename(entry)):
                continue
            if rule.expression is None:
                return Result.FOUND, f"{entry} exists"
            if kind == "o":
                problem = (Result.INVALID, f"{entry} is not a regular file")
                continue
            content = data.dir_files.get(entry)
            if content is None:
                raise Gap(f"{entry}: not collected ({data.problem or 'output cut off'})")
            matched.append((entry, content))
        if regex and not had_file:
            return Result.INVALID, (
                f"{level}: no file at this level, only directories or links "
                f"(the agent stops here: invalid)"
            )
    if rule.expression is not None and matched:
        found, shown = _files_content(rule.expression, matched)
        if found is not Result.NOT_FOUND or problem is None:
            return found, shown
    if problem is not None:
        return problem
    return Result.NOT_FOUND, f"{root}: no file matches {rule.file_pattern_text}"


def _command_rule(rule: Rule, data: Collected) -> tuple[Result, str]:
    command = rule.targets[0]
    fact = data.commands.get(command)
    if fact is None:
        raise Gap(f"`{command}`: not run ({data.problem or 'output cut off'})")
    if fact.timed_out:
        return Result.NOT_RUN, f"`{command}` did not finish within its time budget"
    if fact.status == 127:
        # wm_exec's child exits 127 when it cannot execute the command; the agent then
        # has no result and the rule is invalid. Any other status (126 too) is evaluated.
        said = fact.output.strip().splitlines()[:1]
        return Result.INVALID, f"`{command}`: command not found (exit 127)" + (
            f" ({said[0]})" if said else ""
        )
    if rule.expression is None:
        return Result.FOUND, f"`{command}` ran (exit {fact.status})"
    output = fact.output.strip("\n")  # Utils::trim(output, "\n")
    if rule.expression.plain:
        return _whole_output(rule.expression, output, fact.truncated, f"`{command}`")
    return _content(rule.expression, output, fact.truncated, f"`{command}`")


def _whole_output(
    expression: Expression, output: str, truncated: bool, where: str
) -> tuple[Result, str]:
    """A plain-text pattern against a command: the whole trimmed output, exactly."""
    if truncated:
        raise Gap(f"{where} printed more than the collection limit; cannot compare it whole")
    if output == expression.text:
        return Result.FOUND, f"{where}: output is exactly {_show(expression.text)!r}"
    first = output.split("\n", 1)[0]
    more = " …" if "\n" in output else ""
    return Result.NOT_FOUND, f"{where}: output {_show(first)!r}{more} is not exactly the text"


def _process_rule(rule: Rule, data: Collected) -> tuple[Result, str]:
    if data.processes is None:
        raise Gap(f"process list not collected ({data.problem or 'output cut off'})")
    assert rule.expression is not None
    try:
        holds, line = expression_holds(rule.expression, list(data.processes))
    except Invalid as exc:
        return Result.INVALID, f"process list: {exc}"
    if holds:
        return Result.FOUND, f"process: {_show(line)}" if line else "no process matches"
    return Result.NOT_FOUND, f"process: {_show(line)}" if line else "no process matches"


UNDECIDED = (Result.INVALID, Result.NOT_RUN)


def aggregate(condition: str, rules: tuple[Rule, ...], data: Collected) -> Aggregate:
    """Evaluate rules in order, stopping where Wazuh stops (see the module docstring)."""
    outcomes: list[RuleOutcome] = []
    undecided: RuleOutcome | None = None
    for rule in rules:
        outcome = evaluate_rule(rule, data)
        outcomes.append(outcome)
        if condition == "all" and outcome.result is Result.NOT_FOUND:
            return Aggregate(Result.NOT_FOUND, outcome, tuple(outcomes))
        if condition in ("any", "none") and outcome.result is Result.FOUND:
            final = Result.FOUND if condition == "any" else Result.NOT_FOUND
            return Aggregate(final, outcome, tuple(outcomes))
        if outcome.result in UNDECIDED and (undecided is None or outcome.result is Result.NOT_RUN):
            undecided = outcome
    if undecided is not None:
        return Aggregate(undecided.result, undecided, tuple(outcomes))
    final = {"all": Result.FOUND, "any": Result.NOT_FOUND, "none": Result.FOUND}[condition]
    return Aggregate(final, None, tuple(outcomes))
