"""Wazuh SCA semantics, rule by rule, on collected facts (no host needed: pure evaluation)."""

from __future__ import annotations

import pytest

from compliance.hosts.batch import SectionResult
from compliance.hosts.checks.interface import CheckStatus
from compliance.hosts.wazuh.collect import Collected, CommandFact, DirFact, FileFact, plan
from compliance.hosts.wazuh.evaluate import (
    Gap,
    Result,
    aggregate,
    evaluate_rule,
    expression_holds,
    lines_of,
)
from compliance.hosts.wazuh.kind import Program, RuleSet
from compliance.hosts.wazuh.rules import parse_expression, parse_rule

CONF = "PermitRootLogin no\n# MaxAuthTries 9\nMaxAuthTries 3\nBanner /etc/issue.net\n"


def rule(text: str, variables: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return parse_rule(text, variables or {}, "pcre2")


def data(files: dict[str, str]) -> Collected:
    collected = Collected()
    for path, content in files.items():
        collected.files[path] = FileFact("file", content)
    return collected


def holds(expression: str, text: str) -> bool:
    return expression_holds(parse_expression(expression, "pcre2"), lines_of(text))[0]


def test_regexes_are_caseless_plain_text_is_exact() -> None:
    """The agent compiles with PCRE2_CASELESS but compares plain text with ==."""
    assert holds("r:^permitrootlogin NO", CONF)
    assert holds("Banner /etc/issue.net", CONF)  # plain text is a whole line, exactly
    assert not holds("banner /ETC/issue.net", CONF)
    assert not holds("Banner", CONF)
    # a literal minterm inside a regex expression is compared exactly too
    assert holds("r:^Banner && Banner /etc/issue.net", CONF)
    assert not holds("r:^Banner && banner /etc/issue.net", CONF)
    # only a pattern that STARTS with r:, !r:, n:, !n: is an expression: the rest is text
    assert not holds("Banner /etc/issue.net && r:^Banner", CONF)


def test_a_compound_expression_needs_one_line_satisfying_every_minterm() -> None:
    assert holds("r:MaxAuthTries && r:3", CONF)
    assert not holds("r:PermitRootLogin && r:3", CONF)  # each holds on a different line
    assert holds("!r:^# && r:MaxAuthTries", CONF)  # negated minterm judged on the same line
    assert not holds("!r:^# && r:MaxAuthTries 9", CONF)


def test_a_lone_negated_minterm_holds_only_when_no_line_matches() -> None:
    assert holds("!r:^PasswordAuthentication", CONF)
    assert not holds("!r:MaxAuthTries", CONF)  # any matching line defeats it
    outcome = evaluate_rule(
        rule("f:/etc/ssh/sshd_config -> !r:MaxAuthTries"), data({"/etc/ssh/sshd_config": CONF})
    )
    assert outcome.result is Result.NOT_FOUND
    assert outcome.evidence == "/etc/ssh/sshd_config: # MaxAuthTries 9"  # the line that decided


def test_empty_content_never_holds_as_in_wazuh() -> None:
    assert not holds("!r:anything", "")
    assert not holds("r:.*", "")
    assert holds("!r:anything", "\n")  # one empty line is content


@pytest.mark.parametrize(
    ("comparison", "expected"),
    [("<= 3", True), ("< 3", False), ("== 3", True), ("!= 3", False),
     (">= 4", False), ("> 2", True)],
)  # fmt: skip
def test_numeric_comparisons(comparison: str, expected: bool) -> None:
    assert holds(f"n:^MaxAuthTries\\s+(\\d+) compare {comparison}", CONF) is expected


@pytest.mark.parametrize("comparison", ["= 3", "> 2147483648", "< -2147483649", "> three", "=~ 3"])
def test_numbers_and_operators_the_agent_cannot_read_make_the_rule_invalid(
    comparison: str,
) -> None:
    """std::stoi throws beyond a 32-bit int; `=` is not one of the agent's operators."""
    outcome = evaluate_rule(
        rule(f"f:/etc/x -> n:^MaxAuthTries\\s+(\\d+) compare {comparison}"),
        data({"/etc/x": CONF}),
    )
    assert outcome.result is Result.INVALID, outcome


def test_a_captured_number_beyond_32_bits_is_invalid() -> None:
    outcome = evaluate_rule(
        rule("f:/etc/x -> n:^Key\\s+(\\d+) compare > 1"), data({"/etc/x": "Key 99999999999\n"})
    )
    assert outcome.result is Result.INVALID
    assert "32-bit" in outcome.evidence


def test_numeric_capture_that_is_not_a_number_is_invalid() -> None:
    outcome = evaluate_rule(
        rule("f:/etc/x -> n:^Key\\s+(\\w+) compare > 1"), data({"/etc/x": "Key abc\n"})
    )
    assert outcome.result is Result.INVALID
    assert "not a number" in outcome.evidence


def test_file_rules_existence_content_and_missing_files() -> None:
    collected = data({"/etc/passwd": "root:x:0:0\n"})
    collected.files["/etc/gone"] = FileFact("missing")
    collected.files["/etc/fifo"] = FileFact("other")
    assert evaluate_rule(rule("f:/etc/passwd"), collected).result is Result.FOUND
    assert evaluate_rule(rule("f:/etc/gone"), collected).result is Result.NOT_FOUND
    assert evaluate_rule(rule("not f:/etc/gone"), collected).result is Result.FOUND
    assert evaluate_rule(rule("f:/etc/fifo"), collected).result is Result.INVALID
    # a content rule on a missing file is invalid (the check becomes not applicable)
    missing = evaluate_rule(rule("f:/etc/gone -> r:x"), collected)
    assert missing.result is Result.INVALID
    # `not` never turns invalid into found
    assert evaluate_rule(rule("not f:/etc/gone -> r:x"), collected).result is Result.INVALID
    # a list: one file that matches is enough, even when another is missing
    both = rule("f:$f -> r:^root", {"$f": "/etc/gone,/etc/passwd"})
    assert evaluate_rule(both, collected).result is Result.FOUND


def test_commands_timeout_is_not_run_and_missing_command_is_invalid() -> None:
    collected = Collected()
    collected.commands["sleep 9"] = CommandFact(124, "")
    collected.commands["nope"] = CommandFact(127, "sh: nope: not found\n")
    collected.commands["systemctl is-enabled x"] = CommandFact(1, "disabled\n")
    assert evaluate_rule(rule("c:sleep 9 -> r:x"), collected).result is Result.NOT_RUN
    assert evaluate_rule(rule("not c:sleep 9 -> r:x"), collected).result is Result.NOT_RUN
    assert evaluate_rule(rule("c:nope -> r:x"), collected).result is Result.INVALID
    # a non-zero exit status is still output to match (Wazuh matches stderr too)
    found = evaluate_rule(rule("c:systemctl is-enabled x -> r:^disabled"), collected)
    assert found.result is Result.FOUND
    assert evaluate_rule(rule("c:systemctl is-enabled x"), collected).result is Result.FOUND


def test_directories_names_and_nested_contents() -> None:
    collected = Collected()
    collected.dirs["/etc/a"] = DirFact(
        "dir", (("d", "/etc/a/sub"), ("f", "/etc/a/sub/x.conf"), ("f", "/etc/a/readme"))
    )
    collected.dirs["/etc/none"] = DirFact("missing")
    collected.dir_files["/etc/a/sub/x.conf"] = FileFact("file", "# a\nStorage=persistent\n")
    assert evaluate_rule(rule("d:/etc/a"), collected).result is Result.FOUND
    assert evaluate_rule(rule("d:/etc/none"), collected).result is Result.NOT_FOUND
    assert evaluate_rule(rule("d:/etc/a -> r:\\.conf$"), collected).result is Result.FOUND
    assert evaluate_rule(rule("d:/etc/a -> r:\\.rules$"), collected).result is Result.NOT_FOUND
    content = evaluate_rule(rule("d:/etc/a -> r:\\.conf$ -> r:^Storage=persistent"), collected)
    assert (content.result, content.evidence) == (
        Result.FOUND,
        "/etc/a/sub/x.conf: Storage=persistent",
    )
    assert evaluate_rule(rule("d:/etc/a -> readme"), collected).result is Result.FOUND
    assert evaluate_rule(rule("d:/etc/a -> read"), collected).result is Result.NOT_FOUND
    assert evaluate_rule(rule("d:/etc/none -> r:.*"), collected).result is Result.INVALID


def test_processes() -> None:
    collected = Collected(processes=("sshd", "/usr/sbin/sshd -D", "cron"))
    assert evaluate_rule(rule("p:sshd"), collected).result is Result.FOUND
    assert evaluate_rule(rule("p:SSHD"), collected).result is Result.NOT_FOUND  # == in the agent
    assert evaluate_rule(rule("p:telnetd"), collected).result is Result.NOT_FOUND
    assert evaluate_rule(rule("p:r:^/usr/sbin/sshd"), collected).result is Result.FOUND


def _agg(condition: str, *rules: str) -> Result:
    collected = data({"/etc/x": "a\n"})
    collected.files["/etc/gone"] = FileFact("missing")
    return aggregate(condition, tuple(rule(r) for r in rules), collected).result


def test_conditions_all_any_none_with_invalid_rules() -> None:
    found, missing, invalid = "f:/etc/x -> r:a", "f:/etc/x -> r:b", "f:/etc/gone -> r:a"
    assert _agg("all", found, found) is Result.FOUND
    assert _agg("all", found, missing) is Result.NOT_FOUND
    assert _agg("all", invalid, missing) is Result.NOT_FOUND  # a failure decides
    assert _agg("all", found, invalid) is Result.INVALID
    assert _agg("any", missing, found) is Result.FOUND
    assert _agg("any", invalid, found) is Result.FOUND
    assert _agg("any", missing, invalid) is Result.INVALID
    assert _agg("any", missing, missing) is Result.NOT_FOUND
    assert _agg("none", missing, missing) is Result.FOUND
    assert _agg("none", missing, found) is Result.NOT_FOUND
    assert _agg("none", missing, invalid) is Result.INVALID


def test_truncated_content_is_a_gap_unless_a_line_already_decided() -> None:
    collected = Collected()
    collected.files["/big"] = FileFact("file", "a\nb\n", truncated=True)
    assert evaluate_rule(rule("f:/big -> r:^a"), collected).result is Result.FOUND
    with pytest.raises(Gap):
        evaluate_rule(rule("f:/big -> r:^z"), collected)  # z may be in the unread part
    with pytest.raises(Gap):
        evaluate_rule(rule("f:/etc/never-collected"), collected)


def _program(requirements: list[str] | None, checks: list[tuple[str, list[str]]]) -> Program:
    req = None
    if requirements is not None:
        req = RuleSet("req", "Only here", "all", tuple(rule(r) for r in requirements))
    sets = tuple(
        RuleSet(str(i), t, c, tuple(rule(r) for r in rs))
        for i, (c, rs) in enumerate(checks)
        for t in ["t"]
    )
    all_rules = [r for s in sets for r in s.rules] + list(req.rules if req else ())
    return Program("p", req, sets, plan(all_rules, 5))


def _output(
    program: Program, files: dict[str, str], commands: dict[str, tuple[int, str]]
) -> SectionResult:
    from compliance.hosts.wazuh.collect import MARK

    parts = []
    for path, key in program.plan.file_keys.items():
        state = "F" if path in files else "N"
        parts.append(f"{MARK} B {key}\n{files.get(path, '')}\n{MARK} E {key} {state}\n")
    for command, key in program.plan.command_keys.items():
        status, out = commands[command]
        parts.append(f"{MARK} B {key}\n{out}\n{MARK} E {key} {status}\n")
    return SectionResult("".join(parts), 0)


def test_verdicts_requirements_and_statuses() -> None:
    program = _program(
        ["f:/etc/os-release -> r:^ID=debian"],
        [
            ("all", ["f:/etc/login.defs -> r:^PASS_MAX_DAYS"]),
            ("all", ["f:/etc/login.defs -> r:^UMASK"]),
            ("all", ["f:/etc/absent -> r:x"]),
            ("all", ["c:slow -> r:x"]),
        ],
    )
    files = {"/etc/os-release": "ID=debian\n", "/etc/login.defs": "PASS_MAX_DAYS 90\n"}
    result = _output(program, files, {"slow": (124, "")})
    statuses = [program.verdict(i, result).status for i in range(4)]
    assert statuses == [
        CheckStatus.PASS,
        CheckStatus.FAIL,
        CheckStatus.NOT_APPLICABLE,
        CheckStatus.ERROR,  # "not run": fail closed
    ]
    assert "not run" in program.verdict(3, result).reason
    other_os = _output(program, {**files, "/etc/os-release": "ID=rhel\n"}, {"slow": (0, "")})
    verdicts = [program.verdict(i, other_os) for i in range(4)]
    assert {v.status for v in verdicts} == {CheckStatus.NOT_APPLICABLE}
    assert "policy requirements not met (Only here)" in verdicts[0].observed


def test_a_cut_off_collection_is_an_error_never_a_pass() -> None:
    program = _program(None, [("none", ["f:/etc/a -> r:x"])])
    cut = SectionResult("", 0, problem="output cut off")
    verdict = program.verdict(0, cut)
    assert verdict.status is CheckStatus.ERROR
    assert "not collected" in verdict.reason
