from datetime import UTC, date, datetime, timedelta

import pytest

from compliance.findings import Finding, Location, Severity
from compliance.gate import GateInput, Outcome, Status, judge
from compliance.policy import Policy, Waiver, WaiverEntry
from compliance.scanners.interface import ScanError

TODAY = date(2026, 11, 24)


def finding(
    rule="B602",
    severity=Severity.HIGH,
    path="app.py",
    fp=None,
    confidence=None,
    suppressed=False,
    scanner="bandit",
):
    return Finding(
        scanner=scanner,
        rule_id=rule,
        severity=severity,
        title=f"{rule} title",
        message="m",
        location=Location(path=path, start_line=3),
        fingerprint=fp or f"fp-{rule}-{path}",
        confidence=confidence,
        suppressed=suppressed,
    )


def waiver(**kw):
    base = {"reason": "accepted risk", "approver": "alice", "expires": date(2027, 1, 31)}
    return WaiverEntry(Waiver(**{**base, **kw}), "waivers.yml:2")


def gate(findings, policy=None, **kw):
    return judge(
        GateInput(findings=findings, policy=policy or Policy(), target="repo", today=TODAY, **kw)
    )


def test_no_findings_passes():
    verdict = gate([])
    assert verdict.outcome is Outcome.PASS and verdict.exit_code == 0


def test_high_finding_blocks_and_low_is_reported_only():
    verdict = gate([finding(), finding("B404", Severity.LOW)])
    assert verdict.exit_code == 1
    assert [d.finding.rule_id for d in verdict.blocking] == ["B602"]
    assert "1 blocking finding(s): 1 high" in verdict.reasons


def test_threshold_per_scanner_and_confidence():
    policy = Policy.model_validate(
        {
            "gate": {"fail_on": "critical"},
            "per_scanner": {"bandit": {"fail_on": "medium", "min_confidence": "high"}},
        }
    )
    sure = finding("B1", Severity.MEDIUM, confidence=Severity.HIGH)
    unsure = finding("B2", Severity.HIGH, confidence=Severity.LOW)
    other = finding("X", Severity.HIGH, scanner="semgrep")
    verdict = gate([sure, unsure, other], policy)
    assert [d.finding.rule_id for d in verdict.blocking] == ["B1"]


def test_report_threshold_is_separate_from_blocking():
    policy = Policy.model_validate({"report": {"min_severity": "medium"}})
    verdict = gate([finding("B404", Severity.LOW), finding()], policy)
    reported = {d.finding.rule_id: d.reported for d in verdict.decisions}
    assert reported == {"B404": False, "B602": True}


def test_scanner_error_gives_exit_2_even_with_blocking_findings():
    err = ScanError("bandit", "scanner.timeout", "bandit did not finish")
    verdict = gate([finding()], errors=[err])
    assert verdict.outcome is Outcome.ERROR and verdict.exit_code == 2
    assert verdict.reasons[0] == "could not decide: bandit: bandit did not finish"


def test_error_downgraded_only_by_explicit_policy():
    err = ScanError("web1", "hosts.unreachable", "connection refused")
    assert gate([], errors=[err]).exit_code == 2
    policy = Policy.model_validate({"errors": {"hosts.unreachable": "warn"}})
    verdict = gate([], policy, errors=[err])
    assert verdict.exit_code == 0 and verdict.warnings == (err,)


def test_waiver_by_fingerprint_and_by_rule_glob():
    a = finding("B602", path="app.py", fp="aaa")
    b = finding("B101", path="tests/test_x.py")
    c = finding("B101", path="src/x.py")
    verdict = gate(
        [a, b, c], waivers=[waiver(fingerprint="aaa"), waiver(rule="B101", path="tests/**")]
    )
    status = {d.finding.fingerprint: d.status for d in verdict.decisions}
    assert status == {
        "aaa": Status.WAIVED,
        b.fingerprint: Status.WAIVED,
        c.fingerprint: Status.OPEN,
    }
    assert [d.finding.path if False else d.finding.location.path for d in verdict.blocking] == [
        "src/x.py"
    ]
    assert "approved by alice" in verdict.decisions[0].note


def test_expired_waiver_counts_again_and_says_so():
    verdict = gate(
        [finding(fp="aaa")], waivers=[waiver(fingerprint="aaa", expires=date(2026, 1, 1))]
    )
    assert verdict.exit_code == 1
    assert "waiver expired 2026-01-01" in verdict.blocking[0].note
    assert any("waiver expired on 2026-01-01" in r for r in verdict.reasons)
    assert len(verdict.expired_waivers) == 1 and not verdict.unused_waivers


def test_unused_waivers_are_reported():
    verdict = gate([finding()], waivers=[waiver(fingerprint="nothing-matches")])
    assert [e.waiver.fingerprint for e in verdict.unused_waivers] == ["nothing-matches"]


def test_waiver_scope_limits_it_to_one_target():
    verdict = gate([finding(fp="aaa")], waivers=[waiver(fingerprint="aaa", scope="other-repo")])
    assert verdict.exit_code == 1


def test_suppressed_inline_never_blocks_but_is_kept():
    verdict = gate([finding(suppressed=True)])
    assert verdict.exit_code == 0
    assert verdict.decisions[0].status is Status.SUPPRESSED


def test_baseline_findings_are_preexisting():
    old, new = finding("B602", fp="old"), finding("B603", fp="new")
    verdict = gate([old, new], baseline={"old"})
    status = {d.finding.fingerprint: d.status for d in verdict.decisions}
    assert status == {"old": Status.PREEXISTING, "new": Status.OPEN}
    assert [d.finding.fingerprint for d in verdict.blocking] == ["new"]


def test_due_dates_from_first_sighting_and_overdue_policy():
    seen = datetime.combine(TODAY - timedelta(days=40), datetime.min.time(), UTC)
    medium = finding("B1", Severity.MEDIUM, fp="m")
    high = finding("B2", Severity.HIGH, fp="h")
    first_seen = {"m": seen, "h": seen}
    verdict = gate([medium, high], first_seen=first_seen)
    due = {d.finding.fingerprint: (d.due_date, d.overdue) for d in verdict.decisions}
    assert due["m"] == (seen.date() + timedelta(days=90), False)
    assert due["h"] == (seen.date() + timedelta(days=30), True)
    policy = Policy.model_validate({"gate": {"fail_on": "critical", "overdue": "fail"}})
    verdict = gate([medium, high], policy, first_seen=first_seen)
    assert [d.finding.fingerprint for d in verdict.blocking] == ["h"]
    assert "overdue since" in verdict.blocking[0].note


def test_new_finding_is_due_from_today():
    verdict = gate([finding(severity=Severity.CRITICAL)])
    assert verdict.decisions[0].due_date == TODAY + timedelta(days=7)


def test_max_counts_block_when_exceeded():
    policy = Policy.model_validate({"gate": {"max_counts": {"medium": 1}}})
    one = [finding("B1", Severity.MEDIUM)]
    assert gate(one, policy).exit_code == 0
    two = [finding("B1", Severity.MEDIUM), finding("B2", Severity.MEDIUM)]
    verdict = gate(two, policy)
    assert verdict.exit_code == 1
    assert all("more than 1 open medium" in d.note for d in verdict.blocking)


def test_new_inline_suppression_is_judged_as_open_in_diff_aware_mode():
    old = finding("B602", fp="old", suppressed=True)
    new = finding("B602", fp="new", suppressed=True, path="new.py")
    low = finding("B404", Severity.LOW, fp="low", suppressed=True)
    verdict = gate([old, new, low], baseline={"old"}, baseline_suppressed={"old"})
    status = {
        d.finding.fingerprint: (d.status, d.blocking, d.new_suppression) for d in verdict.decisions
    }
    assert status == {
        "old": (Status.SUPPRESSED, False, False),
        "new": (Status.OPEN, True, True),
        "low": (Status.OPEN, False, True),  # judged as open: below the threshold, not blocking
    }
    assert verdict.exit_code == 1
    assert (
        "new inline suppression at new.py:3: add a waiver or remove it" in verdict.blocking[0].note
    )
    assert [d.finding.fingerprint for d in verdict.new_suppressions] == ["new", "low"]
    assert any(
        "1 new inline suppression(s) do not hide" in r and "new.py:3" in r for r in verdict.reasons
    )


def test_a_finding_the_baseline_had_unsuppressed_is_preexisting_once_suppressed():
    verdict = gate([finding(fp="x", suppressed=True)], baseline={"x"}, baseline_suppressed=set())
    (d,) = verdict.decisions
    assert (d.status, d.blocking, d.new_suppression) == (Status.PREEXISTING, False, True)


def test_full_scan_keeps_honouring_inline_suppressions():
    verdict = gate([finding(suppressed=True)])
    (d,) = verdict.decisions
    assert (d.status, d.blocking, d.new_suppression) == (Status.SUPPRESSED, False, False)
    assert verdict.exit_code == 0


def test_policy_may_allow_new_inline_suppressions():
    policy = Policy.model_validate({"exceptions": {"new_inline_suppressions": "allow"}})
    verdict = gate([finding(fp="n", suppressed=True)], policy, baseline=set())
    (d,) = verdict.decisions
    assert (d.status, d.blocking, d.new_suppression) == (Status.SUPPRESSED, False, True)
    assert "allowed by exceptions.new_inline_suppressions" in d.note
    with pytest.raises(ValueError, match="new_inline_suppressions"):
        Policy.model_validate({"exceptions": {"new_inline_suppressions": "maybe"}})


def test_waiver_accepts_a_new_inline_suppression_and_max_counts_keep_its_note():
    verdict = gate(
        [finding(fp="n", suppressed=True)], baseline=set(), waivers=[waiver(fingerprint="n")]
    )
    (d,) = verdict.decisions
    assert (d.status, d.blocking, d.new_suppression) == (Status.WAIVED, False, True)

    policy = Policy.model_validate({"gate": {"max_counts": {"medium": 0}}})
    medium = finding("B108", Severity.MEDIUM, fp="m", suppressed=True)
    (d,) = gate([medium], policy, baseline=set()).decisions
    assert d.blocking and d.new_suppression
    assert d.note.startswith("new inline suppression at app.py:3") and "more than 0" in d.note


def test_failed_host_checks_block_by_default_and_the_code_gate_does_not_apply():
    low = finding("ssh-banner", Severity.INFO, scanner="host")
    verdict = gate([low], Policy.model_validate({"gate": {"fail_on": "critical"}}))
    assert verdict.exit_code == 1  # hosts.fail_on defaults to info: every failure blocks
    verdict = gate([low], Policy.model_validate({"hosts": {"fail_on": "high"}}))
    assert verdict.exit_code == 0
    assert verdict.reasons[0] == "everything asked was scanned and nothing blocks"
    assert (
        "1 open finding(s) (1 info) do not block: failed checks of severity high"
        in (verdict.reasons[1])
    )


def test_a_minimum_score_replaces_per_check_blocking_and_violations_block():
    host = finding("ssh-root", Severity.CRITICAL, scanner="host")
    policy = Policy.model_validate({"hosts": {"min_score": 80}})
    assert policy.hosts.threshold() is None
    assert gate([host], policy).exit_code == 0
    verdict = gate([host], policy, violations=["host web1: score 50 (1 passed, 1 failed)"])
    assert verdict.exit_code == 1
    assert "host web1: score 50 (1 passed, 1 failed)" in verdict.reasons
    assert not any("nothing violates" in r for r in verdict.reasons)
