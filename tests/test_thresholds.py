"""Thresholds a scanner can never reach (compliance/thresholds.py): refused at file:line,
named where they are inherited from, and read from a semgrep rule pack's severities."""

from pathlib import Path

from compliance.paths import shipped_policy
from compliance.policy import load_policy
from compliance.scanners import REGISTRY
from compliance.thresholds import scanners_to_check, unreachable_thresholds


def check_thresholds(path: Path) -> list[str]:
    loaded = load_policy(path, known_scanners=REGISTRY.keys())
    return unreachable_thresholds(loaded, scanners_to_check(loaded))


def test_a_threshold_bandit_can_never_reach_is_refused(policy_file):
    path = policy_file("""
        version: 1
        per_scanner:
          bandit:
            fail_on: critical
    """)
    (problem,) = check_thresholds(path)
    assert problem.startswith(f"{path}:4: per_scanner.bandit.fail_on:")
    assert "can never block a bandit finding" in problem and "is high" in problem


def test_an_inherited_threshold_is_named_at_the_gate(policy_file):
    path = policy_file("""
        scanners: [bandit]
        gate:
          fail_on: critical
          min_confidence: critical
        per_scanner: {}    # else bandit's default min_confidence (medium) wins
    """)
    fail_on, confidence = check_thresholds(path)
    assert fail_on.startswith(f"{path}:3: gate.fail_on:") and "per_scanner.bandit" in fail_on
    assert confidence.startswith(f"{path}:4: gate.min_confidence:") and "is high" in confidence


def test_thresholds_every_scanner_can_reach_pass(policy_file):
    path = policy_file("""
        scanners: [semgrep, pip-audit]
        gate: {fail_on: critical}
        per_scanner:
          pip-audit: {fail_on: critical, min_confidence: critical}
    """)
    assert check_thresholds(path) == []  # the shipped semgrep pack rates secrets critical
    assert check_thresholds(shipped_policy("default.yml")) == []


def test_semgreps_reachable_maximum_comes_from_the_rule_pack(policy_file, tmp_path):
    rules = tmp_path / "policy" / "rules.yml"
    policy = policy_file("""
        scanners: [semgrep]
        per_scanner:
          semgrep:
            fail_on: high
            rules: [rules.yml]
    """)
    rules.write_text(
        "rules:\n"
        "  - {id: a, message: m, severity: WARNING, languages: [python], pattern: eval(...)}\n"
        "  - id: b\n    message: m\n    severity: ERROR\n    languages: [python]\n"
        "    metadata: {severity: low}\n    pattern: exec(...)\n"
    )
    (problem,) = check_thresholds(policy)
    assert problem.startswith(f"{policy}:4: per_scanner.semgrep.fail_on:")
    assert "is medium" in problem
    rules.write_text(rules.read_text().replace("severity: low", "severity: high"))
    assert check_thresholds(policy) == []
