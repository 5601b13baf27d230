"""Scan options are read once, typed, and a wrong one names its key (fail closed)."""

from __future__ import annotations

from typing import Any

import pytest

from compliance.findings import Severity
from compliance.scanners.interface import ScannerFailure
from compliance.scanners.scan_options import BanditOptions


def test_bandit_options_take_the_defaults_and_the_policy_s_values() -> None:
    default = BanditOptions.from_mapping({}, 7)
    assert (default.shard_bytes, default.python, default.cache) == (7, None, True)
    assert default.unknown_severity is Severity.HIGH
    assert default.repository_config == "report"
    given = BanditOptions.from_mapping(
        {"python": "3.12", "unknown_severity": "low", "repository_config": "apply"}, 7
    )
    assert (given.python, given.unknown_severity, given.repository_config) == (
        "3.12",
        Severity.LOW,
        "apply",
    )


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"bandit_shard_bytes": "big"}, "scan option 'bandit_shard_bytes'"),
        ({"bandit_shard_bytes": True}, "scan option 'bandit_shard_bytes'"),
        ({"cache": "no"}, "scan option 'cache'"),
        ({"unknown_severity": "huge"}, "the policy's unknown_severity"),
        ({"python": 3.12}, "the policy's per_scanner.bandit.python"),
        ({"repository_config": "always"}, "the policy's repository_config"),
    ],
)
def test_a_wrong_option_stops_the_scan_naming_its_key(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ScannerFailure) as caught:
        BanditOptions.from_mapping(options, 7)
    assert caught.value.kind == "scanner.crash"
    assert caught.value.reason.startswith(named)


def test_pip_audit_options_take_the_defaults_and_the_policy_s_values() -> None:
    from compliance.scanners.scan_options import PipAuditOptions

    default = PipAuditOptions.from_mapping({})
    assert (default.cache, default.advisory_db, default.environment, default.engine) == (
        True,
        None,
        False,
        None,
    )
    assert default.unknown_severity is Severity.HIGH
    given = PipAuditOptions.from_mapping(
        {
            "advisory_db": "/srv/advisories",
            "unknown_severity": "low",
            "dependencies": {"environment": True, "osv_url": "http://127.0.0.1:1/v1/query",
                             "index_url": None, "engine": "pip-audit", "only_fixable": False},
        }
    )  # fmt: skip
    assert (given.advisory_db, given.environment, given.engine, given.index_url) == (
        "/srv/advisories",
        True,
        "pip-audit",
        None,
    )
    assert given.osv_url == "http://127.0.0.1:1/v1/query"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"dependencies": ["environment"]}, "the policy's dependencies "),
        ({"dependencies": {"environment": "yes"}}, "the policy's dependencies.environment"),
        ({"dependencies": {"engine": "fast"}}, "the policy's dependencies.engine"),
        ({"dependencies": {"osv_url": 8765}}, "the policy's dependencies.osv_url"),
        ({"advisory_db": 3}, "scan option 'advisory_db'"),
        ({"cache": 1}, "scan option 'cache'"),
    ],
)
def test_a_wrong_pip_audit_option_names_its_key(options: dict[str, Any], named: str) -> None:
    from compliance.scanners.scan_options import PipAuditOptions

    with pytest.raises(ScannerFailure) as caught:
        PipAuditOptions.from_mapping(options)
    assert caught.value.kind == "scanner.crash"
    assert caught.value.reason.startswith(named), caught.value.reason
