"""The weakness table and the merge of one flaw's findings, as pure functions, and the gate
applying a waiver or a baseline entry of any member (gate.judge with real policy models)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import pytest

from compliance.findings import Finding, Location, Severity
from compliance.gate import GateInput, Status, judge
from compliance.policy.model import Policy
from compliance.policy.waivers import Waiver, WaiverEntry
from compliance.weakness import (
    BANDIT,
    NO_OVERRIDES,
    Overrides,
    classify,
    judged_findings,
    merge_flaws,
)

CONFIRMED = Overrides({}, {}, "confirmed")
BLOCK = Overrides({}, {}, "block")
TAINTED = "web-unsafe-deserialization"
"""A taint-mode rule of the shipped packs (ERROR: request data reaches the sink)."""


def finding(
    scanner: str,
    rule: str,
    severity: Severity = Severity.MEDIUM,
    *,
    line: int = 3,
    end: int | None = None,
    tool: str = "MEDIUM",
    confidence: Severity | None = Severity.HIGH,
    refs: tuple[str, ...] = (),
    path: str = "app.py",
    suppressed: bool = False,
) -> Finding:
    return Finding(
        scanner=scanner,
        rule_id=rule,
        severity=severity,
        title=f"{rule} title",
        message=f"{rule} message",
        location=Location(path=path, start_line=line, end_line=end or line),
        fingerprint=f"fp-{scanner}-{rule}-{path}-{line}",
        references=refs,
        confidence=confidence,
        tool_severity=tool,
        suppressed=suppressed,
    )


def test_every_bandit_test_id_is_in_the_table() -> None:
    """Each test id bandit 1.9 ships (plugins and blacklists) has a decided entry."""
    from bandit.core import extension_loader

    manager = extension_loader.MANAGER
    ids = set(manager.plugins_by_id) | set(manager.blacklist_by_id)
    assert ids - set(BANDIT) == set()


@pytest.mark.parametrize(
    ("sinks", "rule", "tool", "confidence", "expected"),
    [
        # injection-family sinks, `sinks: block` (the default): whatever flows in
        ("block", "B301", Severity.MEDIUM, Severity.HIGH, Severity.HIGH),  # pickle
        ("block", "B307", Severity.MEDIUM, Severity.HIGH, Severity.HIGH),  # eval
        ("block", "B102", Severity.MEDIUM, Severity.HIGH, Severity.HIGH),  # exec
        ("block", "B608", Severity.MEDIUM, Severity.MEDIUM, Severity.HIGH),  # SQL in execute()
        ("block", "B608", Severity.MEDIUM, Severity.LOW, Severity.MEDIUM),  # SQL text elsewhere
        ("block", "B602", Severity.HIGH, Severity.HIGH, Severity.HIGH),  # bandit's own
        ("block", "B602", Severity.LOW, Severity.HIGH, Severity.LOW),
        # `sinks: confirmed`: bandit sees the sink, not the source, so at most medium
        ("confirmed", "B301", Severity.MEDIUM, Severity.HIGH, Severity.MEDIUM),
        ("confirmed", "B307", Severity.MEDIUM, Severity.HIGH, Severity.MEDIUM),
        ("confirmed", "B102", Severity.MEDIUM, Severity.HIGH, Severity.MEDIUM),
        ("confirmed", "B608", Severity.MEDIUM, Severity.MEDIUM, Severity.MEDIUM),
        ("confirmed", "B602", Severity.HIGH, Severity.HIGH, Severity.MEDIUM),  # non-literal
        ("confirmed", "B602", Severity.LOW, Severity.HIGH, Severity.LOW),  # literal stays low
        ("confirmed", "B605", Severity.HIGH, Severity.HIGH, Severity.MEDIUM),
        ("block", "B403", Severity.LOW, Severity.HIGH, Severity.LOW),  # import only
        ("confirmed", "B201", Severity.HIGH, Severity.MEDIUM, Severity.HIGH),  # not a sink
    ],
)
def test_bandit_tests_get_the_tables_severity(
    sinks: Literal["block", "confirmed"],
    rule: str,
    tool: Severity,
    confidence: Severity,
    expected: Severity,
) -> None:
    seen = finding("bandit", rule, tool, confidence=confidence, tool=tool.name)
    judged = classify(seen, Overrides({}, {}, sinks))
    assert judged.severity is expected
    assert judged.tool_severity == tool.name  # the tool's word is kept
    # ... and said in the message (every report format shows it) when the table moved it
    assert (f"bandit said {tool.name}" in judged.message) is (expected is not tool)


def test_unseen_semgrep_rule_by_metadata_cwe() -> None:
    confirmed = finding("semgrep", "new-taint", Severity.HIGH, tool="ERROR", refs=("CWE-78",))
    hint = finding("semgrep", "new-hint", Severity.HIGH, tool="WARNING", refs=("CWE-78",))
    other = finding("semgrep", "new-misc", Severity.HIGH, tool="WARNING", refs=("CWE-489",))
    assert classify(confirmed).severity is Severity.HIGH
    assert classify(confirmed).weakness == "CWE-78 command-injection"
    assert classify(hint).severity is Severity.MEDIUM
    assert classify(other).severity is Severity.HIGH  # not injection: the rule's own
    assert classify(finding("semgrep", "no-cwe", Severity.LOW)).weakness == ""


def test_overrides_rule_beats_cwe_beats_table() -> None:
    overrides = Overrides({"B301": Severity.LOW}, {502: Severity.MEDIUM})
    assert classify(finding("bandit", "B301"), overrides).severity is Severity.LOW
    assert classify(finding("bandit", "B506"), overrides).severity is Severity.MEDIUM
    assert classify(finding("bandit", "B307"), overrides).severity is Severity.MEDIUM
    assert classify(finding("bandit", "B307"), BLOCK).severity is Severity.HIGH
    raised = Overrides({"B307": Severity.HIGH}, {}, "confirmed")  # every eval blocks
    assert classify(finding("bandit", "B307"), raised).severity is Severity.HIGH
    assert classify(finding("bandit", "B307"), CONFIRMED).severity is Severity.MEDIUM


def test_pip_audit_and_hosts_pass_through() -> None:
    advisory = finding("pip-audit", "PYSEC-1", Severity.CRITICAL, refs=("CWE-502",))
    assert classify(advisory) == advisory


def test_merge_only_across_tools_on_overlapping_lines_of_one_class() -> None:
    """bandit's sink (at most medium) merged with a taint-confirmed flow blocks at high."""
    bandit = finding("bandit", "B301", line=5)
    semgrep = finding(
        "semgrep", TAINTED, Severity.HIGH, line=4, end=6, tool="ERROR", refs=("CWE-502",)
    )
    same_tool = finding("bandit", "B302", line=5)
    far = finding("semgrep", "python-jsonpickle-decode", line=9, tool="ERROR")
    other_class = finding("semgrep", "x", line=5, tool="ERROR", refs=("CWE-89",))
    nosec = finding("semgrep", "python-yaml-unsafe-load", line=5, tool="ERROR", suppressed=True)
    out = judged_findings([semgrep, bandit, same_tool, far, other_class, nosec], CONFIRMED)
    merged = [f for f in out if f.also]
    assert len(merged) == 1 and len(out) == 5
    (issue,) = merged
    assert issue.fingerprint == bandit.fingerprint  # the first tool by name keeps its identity
    assert [m.rule_id for m in issue.also] == [TAINTED]
    assert classify(bandit, CONFIRMED).severity is Severity.MEDIUM
    assert issue.severity is Severity.HIGH
    assert f"[also semgrep {TAINTED}]" in issue.title


def test_merge_keeps_unrelated_order() -> None:
    items = [finding("bandit", f"B{n}", line=n) for n in (101, 102, 103)]
    assert merge_flaws(items) == items  # nothing classified: nothing merged


def _merged_issue() -> Finding:
    (issue,) = [
        f
        for f in judged_findings(
            [finding("bandit", "B301"), finding("semgrep", "python-dill-load", tool="ERROR")],
            NO_OVERRIDES,
        )
        if f.also
    ]
    return issue


@pytest.mark.parametrize(
    "waiver",
    [
        {"fingerprint": "fp-semgrep-python-dill-load-app.py-3"},
        {"fingerprint": "fp-bandit-B301-app.py-3"},
        {"rule": "python-dill-load"},
        {"rule": "B301", "path": "app.py"},
    ],
)
def test_a_waiver_of_any_member_waives_the_issue(waiver: dict[str, str]) -> None:
    entry = WaiverEntry(
        Waiver(
            **waiver,  # type: ignore[arg-type]
            reason="accepted",
            approver="sec",
            expires=date.today() + timedelta(days=9),
        ),
        "waivers.yml:1",
    )
    verdict = judge(GateInput([_merged_issue()], Policy(), "t", waivers=[entry]))
    assert [d.status for d in verdict.decisions] == [Status.WAIVED]
    assert not verdict.unused_waivers


def test_a_baseline_of_either_member_makes_the_issue_preexisting() -> None:
    baseline = {"fp-semgrep-python-dill-load-app.py-3"}
    verdict = judge(GateInput([_merged_issue()], Policy(), "t", baseline=baseline))
    assert [d.status for d in verdict.decisions] == [Status.PREEXISTING]
    assert verdict.exit_code == 0


def test_merging_never_unblocks_what_one_tool_blocks() -> None:
    """bandit's finding is below its confidence floor (per_scanner.bandit.min_confidence:
    medium), semgrep's alone would block: the merged issue blocks."""
    low = finding("bandit", "B608", confidence=Severity.LOW)
    semgrep = finding("semgrep", "team-sql", Severity.HIGH, tool="ERROR", refs=("CWE-89",))
    semgrep = Finding(**{**semgrep.__dict__, "confidence": None})
    (issue,) = judged_findings([low, semgrep], NO_OVERRIDES)
    assert issue.also and issue.confidence is Severity.LOW
    verdict = judge(GateInput([issue], Policy(), "t"))
    assert verdict.decisions[0].blocking


def test_the_documented_table_is_the_one_the_gate_uses() -> None:
    """docs/weakness-classes.md shows weakness.py's table; regenerate it with
    `python -m compliance.weakness_table` after changing the table."""
    from compliance.weakness_table import HEADING, markdown

    doc = (Path(__file__).resolve().parent.parent / "docs" / "weakness-classes.md").read_text()
    assert markdown() in doc[doc.index(HEADING) :]


@pytest.mark.parametrize(
    ("scanner", "rule", "tool"),
    [
        ("semgrep", "web-template-safe-filter", "WARNING"),
        ("semgrep", "web-template-autoescape-off", "WARNING"),
        ("semgrep", "web-config-template-autoescape-off", "WARNING"),
        ("semgrep", "web-config-jinja2-autoescape-default", "WARNING"),
        ("semgrep", "python-jinja2-autoescape-off", "WARNING"),
        ("bandit", "B701", "HIGH"),
    ],
)
def test_escaping_switched_off_is_a_medium_hint(scanner: str, rule: str, tool: str) -> None:
    """A template's `|safe`, an autoescape setting: where the value comes from is not seen, so
    a person judges (medium), whichever tool says it and whatever its own label."""
    seen = finding(scanner, rule, Severity.HIGH, tool=tool)
    for sinks in ("block", "confirmed"):
        judged = classify(seen, Overrides({}, {}, sinks))  # type: ignore[arg-type]
        assert (judged.severity, judged.weakness) == (Severity.MEDIUM, "CWE-79 xss")
