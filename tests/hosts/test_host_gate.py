"""The host gate on real sshd hosts: failed checks block by default; thresholds and minimum
scores (Wazuh's passed / (passed + failed)) are policy choices the summary states."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.hosts.lab import Lab
from tests.hosts.test_audit_real_hosts import run_cli

# on the lab's bad host the lab policy gives 3 pass, 11 fail (2 critical, 2 high, 7 medium),
# 2 not-applicable: Wazuh score 3 / 14 = 21 %; its only cis-debian-12 check fails


def audit_bad(
    lab: Lab, lab_policy: Path, tmp_path: Path, gate: str | None, *extra: str
) -> tuple[int, str]:
    inventory = lab.inventory(tmp_path / "fleet.yml", ["good", "bad"])
    args = ["audit", "--inventory", str(inventory), "--host-policy", str(lab_policy)]
    args += ["--hosts", "bad"]
    args += ["--db", str(tmp_path / "audit.db"), "--output", f"json:{tmp_path / 'r.json'}"]
    if gate is not None:
        path = tmp_path / "gate.yml"
        path.write_text("version: 1\nscanners: [bandit]\n" + gate)
        args += ["--policy", str(path)]
    run = run_cli(*args, *extra)
    assert "Traceback" not in run.stderr
    return run.returncode, run.stdout + run.stderr


def test_by_default_every_failed_check_blocks_and_shows_observed_beside_expected(
    lab: Lab, lab_policy: Path, tmp_path: Path
) -> None:
    code, out = audit_bad(lab, lab_policy, tmp_path, None)
    assert code == 1, out
    assert "11 blocking finding(s): 2 critical, 2 high, 7 medium" in out
    assert "observed: permitrootlogin yes   expected: " in out
    assert "bad: ok 3 pass, 11 fail, 2 n/a, 0 error, score 21 in" in out
    assert "policy lab: 21 (3 passed, 11 failed) over 1 host(s)" in out
    assert "nothing violates" not in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["scores"]["hosts"]["bad"] == {"passed": 3, "failed": 11, "score": 21.4}
    assert report["scores"]["policies"]["lab"]["bad"]["score"] == 21.4
    assert report["scores"]["frameworks"]["cis-debian-12"]["bad"]["failed"] == 1


def test_a_severity_threshold_passes_and_says_why_the_failures_do_not_block(
    lab: Lab, lab_policy: Path, tmp_path: Path
) -> None:
    code, out = audit_bad(lab, lab_policy, tmp_path, "hosts:\n  fail_on: critical\n")
    assert code == 1, out  # the two critical failures block
    assert "2 blocking finding(s): 2 critical" in out
    assert "9 other open finding(s) (2 high, 7 medium) do not block" in out
    code, out = audit_bad(lab, lab_policy, tmp_path, "hosts:\n  fail_on: none\n")
    assert code == 0, out
    assert "nothing violates the policy" not in out
    assert "everything asked was scanned and nothing blocks" in out
    assert "11 open finding(s) (2 critical, 2 high, 7 medium) do not block: no single failed" in out


def test_minimum_scores_per_host_and_per_framework(
    lab: Lab, lab_policy: Path, tmp_path: Path
) -> None:
    code, out = audit_bad(lab, lab_policy, tmp_path, "hosts:\n  min_score: 20\n")
    assert code == 0, out  # 21 >= 20, and with a minimum score no single check blocks
    assert "11 open finding(s)" in out and "the lowest host score is 21" in out
    code, out = audit_bad(lab, lab_policy, tmp_path, "hosts:\n  min_score: 50\n")
    assert code == 1, out
    assert "host bad: score 21 (3 passed, 11 failed), expected at least 50 (hosts.min_score)" in out
    gate = "hosts:\n  min_framework_score: {cis-debian-12: 100}\n"
    code, out = audit_bad(lab, lab_policy, tmp_path, gate)
    assert code == 1, out
    assert "host bad: cis-debian-12 score 0 (0 passed, 1 failed), expected at least 100" in out


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ("hosts:\n  min_framework_score: {nist: 50}\n", "no check of the host policies cites"),
        ("hosts:\n  min_score: 150\n", "hosts.min_score"),
        ("hosts:\n  fail_on: severe\n", "hosts.fail_on"),
        ("hosts:\n  min_scor: 50\n", "hosts.min_scor"),
    ],
)
def test_host_gate_keys_are_validated_with_file_line(
    lab: Lab, lab_policy: Path, tmp_path: Path, gate: str, message: str
) -> None:
    code, out = audit_bad(lab, lab_policy, tmp_path, gate)
    assert code == 2, out
    assert f"{tmp_path / 'gate.yml'}:4: " in out and message in out


def test_junit_carries_the_scores(lab: Lab, lab_policy: Path, tmp_path: Path) -> None:
    code, _ = audit_bad(lab, lab_policy, tmp_path, None, "--output", f"junit:{tmp_path / 'j.xml'}")
    assert code == 1
    suite = next(
        s
        for s in ET.parse(tmp_path / "j.xml").getroot().iter("testsuite")
        if s.get("name") == "hosts"
    )
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["score.host.bad"] == "21 (3 passed, 11 failed)"
    assert props["score.policy.lab.bad"] == "21 (3 passed, 11 failed)"
