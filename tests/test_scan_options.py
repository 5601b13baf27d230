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
