"""Gate policy parsing (compliance/policy/loader.py): the shipped default, file:line errors,
error downgrades. Thresholds no scanner can reach are in test_thresholds.py."""

from pathlib import Path

import pytest

from compliance.findings import Severity
from compliance.paths import shipped_policy
from compliance.policy import ConfigError, Policy, load_policy
from compliance.policy.yaml_source import load_yaml

KNOWN = ("bandit", "semgrep", "pip-audit")


def test_shipped_default_policy_loads():
    loaded = load_policy(None, known_scanners=KNOWN)
    assert loaded.path == shipped_policy("default.yml").resolve()
    assert loaded.policy.gate.fail_on is Severity.HIGH
    assert loaded.policy.unknown_severity is Severity.HIGH
    assert len(loaded.digest) == 64


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_policy(path, known_scanners=KNOWN)
    return info.value.problems


def test_unknown_key_names_file_line_and_key(policy_file):
    path = policy_file("""
        version: 1
        gate:
          fail_on: high
          fial_on_overdue: true
    """)
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:4: gate.fial_on_overdue: unknown key")


def test_bad_severity_names_line_and_value(policy_file):
    path = policy_file("""
        gate:
          fail_on: severe
    """)
    (problem,) = problems(path)
    assert f"{path}:2: gate.fail_on:" in problem
    assert "severe" in problem


def test_every_problem_is_reported_not_just_the_first(policy_file):
    path = policy_file("""
        timeout: -1
        gate:
          fail_on: severe
    """)
    found = problems(path)
    assert any(f"{path}:1: timeout:" in p for p in found)
    assert any(f"{path}:3: gate.fail_on:" in p for p in found)
    path2 = policy_file("""
        scanners: [bandit, trivy]
        errors:
          scanner.everything: warn
    """)
    found2 = problems(path2)
    assert any(":1: scanners.1: unknown scanner 'trivy'" in p for p in found2)
    assert any(":3: errors.scanner.everything: unknown error class" in p for p in found2)


def test_duplicate_keys_are_errors(policy_file):
    path = policy_file("""
        gate:
          fail_on: critical
        gate:
          fail_on: low
    """)
    (problem,) = problems(path)
    assert ":3: gate: duplicate key (the first is on line 1)" in problem


def test_yaml_syntax_error_names_the_line(policy_file):
    path = policy_file("""
        gate:
          fail_on: [high
        report: {}
    """)
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:")
    assert "not valid YAML" in problem


def test_missing_policy_file(tmp_path):
    (problem,) = problems(tmp_path / "nope.yml")
    assert "policy file not found" in problem


def test_errors_are_downgraded_only_when_named(policy_file):
    loaded = load_policy(policy_file("errors: {hosts.unreachable: warn}\n"), known_scanners=KNOWN)
    policy = loaded.policy
    assert policy.treats_as_warning("hosts.unreachable")
    assert not policy.treats_as_warning("scanner.timeout")
    parent = load_policy(policy_file("errors: {scanner: warn}\n"), known_scanners=KNOWN).policy
    assert parent.treats_as_warning("scanner.timeout")
    assert not parent.treats_as_warning("coverage")


# Paths a policy names relative to its own folder: equal as written, not once resolved.
RELATIVE_TO_POLICY = {"waivers", "host_policies"}


def test_a_version_only_policy_is_the_shipped_default(policy_file):
    """Issue #13 point 12: leaving a key out gives what policies/default.yml says."""
    shipped_path = shipped_policy("default.yml")
    shipped = load_policy(shipped_path, known_scanners=KNOWN)
    minimal = load_policy(policy_file("version: 1\n"), known_scanners=KNOWN)
    written = load_yaml(shipped_path).data
    model_fields = set(Policy.model_fields)
    assert set(written) <= model_fields  # the file documents real keys only
    assert set(written) == model_fields  # ... and every key the model has
    for name in sorted(model_fields):
        ours, theirs = getattr(minimal.policy, name), getattr(shipped.policy, name)
        if name in RELATIVE_TO_POLICY:
            assert ours == theirs, name  # the same text, resolved against each file's folder
            continue
        assert ours == theirs, f"{name}: model default {ours!r} != shipped {theirs!r}"
    assert minimal.policy.scanners == ("bandit", "semgrep", "pip-audit")  # issue 15: on
    assert minimal.policy.min_confidence("bandit") is Severity.MEDIUM
    assert minimal.policy.repository_waivers == ".compliance/waivers.yml"
    assert minimal.policy.waivers_max_days == 365
