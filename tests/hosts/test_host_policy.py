"""Host policy parsing (compliance/hosts/policy.py): checks, per-check budgets, digests,
and file:line errors for every kind of bad input (exit 2 at the CLI, never a traceback).

Running the checks is tested against real hosts in test_audit_real_hosts.py; Wazuh SCA
files, which the same loader hands on, in tests/hosts/wazuh/test_loader.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from compliance.findings import Severity
from compliance.hosts.policy import load_host_policy
from compliance.policy import ConfigError

LAB_POLICY = Path(__file__).parent / "data" / "lab-policy.yml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "host-policy.yml"
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_host_policy(path)
    return info.value.problems


def test_the_lab_policy_loads_every_check_kind() -> None:
    policy = load_host_policy(LAB_POLICY)
    assert policy.name == "lab" and policy.path == LAB_POLICY.resolve()
    assert policy.digest == hashlib.sha256(LAB_POLICY.read_bytes()).hexdigest()
    kinds = {check.meta.kind for check in policy.checks}
    assert {"config_value", "file_mode", "package", "command", "service", "sysctl"} <= kinds
    first = policy.checks[0]
    assert first.meta.id == "sshd-root-login" and first.meta.severity is Severity.HIGH
    assert first.reference_list()  # framework control ids carried to findings


def test_budget_is_the_checks_own_else_the_policys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nname: p\ntimeout: 7\nchecks:\n"
        "  - {id: a, title: aaa, kind: file_absent, path: /x}\n"
        "  - {id: b, title: bbb, kind: file_absent, path: /y, timeout: 2}\n",
    )
    assert [c.budget for c in load_host_policy(path).checks] == [7, 2]


def test_a_duplicate_id_names_both_places(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nname: p\nchecks:\n"
        "  - {id: a, title: aaa, kind: file_absent, path: /x}\n"
        "  - {id: a, title: again, kind: file_absent, path: /y}\n",
    )
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:5") and "duplicate check id 'a'" in problem
    assert "first at checks[0]" in problem


def test_unknown_kind_lists_the_known_ones_and_every_problem_is_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nname: p\nchecks:\n"
        "  - {id: a, title: aaa, kind: nope, path: /x}\n"
        "  - not a mapping\n"
        "  - {id: c, title: ccc, kind: file_absent}\n",
    )
    unknown, shape, params = problems(path)
    assert unknown.startswith(f"{path}:4") and "unknown check kind 'nope'" in unknown
    assert "file_absent" in unknown  # the known kinds are named
    assert shape.startswith(f"{path}:5") and "each check is a mapping" in shape
    assert params.startswith(f"{path}:6") and "path" in params


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- just a list\n", "a host policy is a mapping with name: and checks:"),
        ("version: 1\nname: p\nchecks: []\n", "the policy has no checks"),
    ],
)
def test_a_policy_without_checks_is_refused(tmp_path: Path, text: str, message: str) -> None:
    (problem,) = problems(write(tmp_path, text))
    assert problem.startswith(str(tmp_path)) and message in problem
