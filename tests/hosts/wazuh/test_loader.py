"""Loading Wazuh SCA files: both forms, references kept, every malformed piece at file:line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from compliance.hosts.policy import load_host_policy
from compliance.hosts.wazuh.loader import load_wazuh_policy
from compliance.policy.yaml_source import ConfigError
from tests.hosts.wazuh.conftest import DATA

HEADER = """\
policy:
  id: "t"
  file: "t.yml"
  name: "T"
  description: "d"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yml"
    path.write_text(text)
    return path


def check(rules: str, extra: str = "", condition: str = "all") -> str:
    return (
        HEADER
        + extra
        + f"checks:\n  - id: 1\n    name: one\n    condition: {condition}\n    rules:\n{rules}"
    )


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_wazuh_policy(write(tmp_path, text))
    return info.value.problems


def test_fixture_policies_load_with_references_and_cis_sections() -> None:
    loaded = load_wazuh_policy(DATA / "wazuh-lab.yml")
    first = loaded.policy.checks[0]
    assert first.id == "wazuh_lab-9001"
    assert first.meta.kind == "wazuh_sca"
    assert first.reference_list() == ("pci_dss:2.2.6", "nist_800_53:AC-6", "cis:1.1")
    assert loaded.policy.checks[1].meta.references["cis"] == ("1.2",)
    old = load_wazuh_policy(DATA / "wazuh-lab-4x.yml")
    assert old.policy.checks[0].reference_list() == ("pci_dss:2.2.4", "cis:5.2.7")
    assert old.program.checks[0].rules[0].targets == ("/etc/ssh/sshd_config",)  # $sshd


def test_host_policy_loading_dispatches_wazuh_files() -> None:
    policy = load_host_policy(DATA / "wazuh-lab.yml")
    assert policy.name == "Wazuh rule language on the lab hosts"
    assert len(policy.checks) == 20


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("x:/etc/passwd", "unknown rule type 'x'"),
        ("/etc/passwd", "no rule type"),
        ("r:HKLM\\\\Software", "Windows registry"),
        ("!f:/etc/passwd", "NOT negated"),
        ("f:/etc/passwd -> r:(unclosed", "PCRE2 refuses '(unclosed': "),
        ("f:/etc/passwd -> n:^x(\\\\d+)", "needs 'REGEX compare OP NUMBER'"),
        ("f:/etc/passwd -> n:^x(\\\\d+) compare >", "cannot read an operator and a number"),
        ("f:/etc/passwd -> r:a &&  && r:b", "empty minterm"),
        ("f:/etc/passwd -> ", "nothing after '->'"),
        ("f:$nope -> r:x", "undefined variable $nope"),
        ("f:etc/passwd", "not an absolute path"),
        ("d:/etc -> r:x -> ", "nothing after '->'"),
        ("c:", "without a target"),
        ("p:", "without a process name"),
    ],
)
def test_malformed_rules_make_their_check_an_error_not_the_file(
    tmp_path: Path, rule: str, message: str
) -> None:
    text = check(f"      - '{rule}'\n      - 'f:/etc/passwd'\n")
    loaded = load_wazuh_policy(write(tmp_path, text))
    found = loaded.unsupported
    assert len(found) == 1, found
    assert found[0].startswith(f"{tmp_path / 'policy.yml'}:11: checks.0.rules.0: ")
    assert message in found[0]
    # the check is still there, and says why it cannot run
    assert loaded.program.checks[0].unsupported == found


def test_a_check_without_rules_or_with_a_bad_condition_is_an_error_check(tmp_path: Path) -> None:
    for text, where in (
        (check("", condition="all"), ":10: checks.0.rules"),
        (check("      - 'f:/x'\n", condition="most"), ":9: checks.0.condition"),
    ):
        loaded = load_wazuh_policy(write(tmp_path, text))
        assert len(loaded.unsupported) == 1 and where in loaded.unsupported[0]
        assert loaded.policy.checks  # the check is kept, as an error on every host


def test_n_numbers_the_agent_cannot_read_load_with_a_warning(tmp_path: Path) -> None:
    text = check(
        "      - 'f:/etc/x -> n:^a(\\d+) compare > 2147483648'\n"
        "      - 'f:/etc/x -> n:^a(\\d+) compare = 3'\n"
        "      - 'f:/etc/x -> n:^a(\\d+) compare > three'\n"
    )
    loaded = load_wazuh_policy(write(tmp_path, text))
    assert not loaded.unsupported
    assert len(loaded.warnings) == 3
    assert "beyond a 32-bit int" in loaded.warnings[0]
    assert "no operator '='" in loaded.warnings[1]
    assert "not a number" in loaded.warnings[2]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (HEADER + "checks: []\n", ":6: checks", "non-empty list"),
        (HEADER + "check:\n  - id: 1\n", ":6: check", "unknown top-level key"),
        ("policy:\n  name: x\nchecks:\n  - {}\n", ":1: policy.id", "id: is required"),
        (
            HEADER + "checks:\n  - {id: 1, name: a, condition: all, rules: ['f:/x']}\n"
            "  - {id: 1, name: b, condition: all, rules: ['f:/y']}\n",
            ":8: checks.1.id",
            "duplicate check id 1",
        ),
        (
            HEADER + "checks:\n  - {id: -4, name: a, condition: all, rules: ['f:/x']}\n",
            ":7: checks.0.id",
            "positive integer",
        ),
        (
            check("      - 'f:/x'\n", extra="variables:\n  sshd: /etc/ssh/sshd_config\n"),
            ":7: variables.sshd",
            "starts with $",
        ),
        (
            check("      - 'f:/x'\n").replace(
                "    condition", "    compliance: pci\n    condition"
            ),
            ":9: checks.0.compliance",
            "a map (5.x) or a list of maps (4.x)",
        ),
        (
            check("      - 'f:/x'\n").replace(
                "    condition", "    regex_type: perl\n    condition"
            ),
            ":9: checks.0.regex_type",
            "pcre2 or osregex",
        ),
        (
            HEADER + "requirements:\n  title: r\n  condition: all\n  rules: ['q:/x']\n"
            "checks:\n  - {id: 1, name: a, condition: all, rules: ['f:/x']}\n",
            ":9: requirements.rules.0",
            "unknown rule type",
        ),
        (HEADER + "checks:\n  - id: 1\n    name: [x\n", ":9", "not valid YAML"),
    ],
)
def test_malformed_files_are_file_line_errors(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    found = problems(tmp_path, text)
    assert any(where in p and message in p for p in found), found


def test_surprising_but_valid_rules_load_with_warnings(tmp_path: Path) -> None:
    text = check(
        "      - 'c:auditctl -l-> r:^-a'\n"
        "      - 'f:/etc/x -> r:a &&  n:^b(\\d+) compare > 1'\n"
        "      - 'c:systemctl is-enabled chrony.service\" -> r:^enabled'\n"
    )
    loaded = load_wazuh_policy(write(tmp_path, text))
    assert len(loaded.warnings) == 3
    assert all(":1" in w.split(": ")[0] for w in loaded.warnings)
    assert "did you mean ' -> '" in loaded.warnings[0]
    assert "compared as a literal line" in loaded.warnings[1]
    assert "unclosed double quote" in loaded.warnings[2]
    # the agent's tokenizer: the unclosed quote runs to the end, and is dropped
    assert loaded.program.checks[0].rules[2].argv == ("systemctl", "is-enabled", "chrony.service")


def test_check_hosts_reports_checks_that_cannot_run(tmp_path: Path) -> None:
    """An audit runs the rest of such a file; the validator names each such check, exit 2."""
    text = check("      - 'r:HKLM\\Software'\n")
    path = write(tmp_path, text)
    run = subprocess.run(
        [sys.executable, "-m", "compliance", "policy", "check-hosts", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 2
    assert f"error: {path}:11: checks.0.rules.0: r: (Windows registry)" in run.stderr
