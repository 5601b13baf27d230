"""The Wazuh agent's exact SCA semantics, each on a real sshd lab host (wzgood, wzbad).

Each check below pins one behaviour of the agent's C++ SCA engine (wazuh/wazuh
src/wazuh_modules/sca/sca_impl/src: sca_utils.cpp, sca_policy_check.cpp) and of its
command runner (wm_exec, w_strtok), as docs/wazuh.md describes them.
"""

from __future__ import annotations

from pathlib import Path

from tests.hosts.lab import Lab
from tests.hosts.wazuh.test_wazuh_real_hosts import audit

POLICY = r"""policy: {id: agent, name: "The agent's semantics"}
checks:
  - {id: 1, name: "PCRE2 beyond Python re: \\K", condition: all,
     rules: ['f:/etc/ssh/sshd_config -> r:^PermitRootLogin\s+\Kno$']}
  - {id: 2, name: "PCRE2 beyond Python re: recursion, (?x)", condition: all,
     rules: ['f:/etc/ssh/sshd_config -> r:(?x) ^ permit root login \s+ (?:no|(?R))']}
  - {id: 3, name: "n: beyond a 32-bit int is invalid", condition: all,
     rules: ['f:/etc/login.defs -> n:^PASS_MAX_DAYS\s+(\d+) compare < 99999999999']}
  - {id: 4, name: "plain text: the whole trimmed output", condition: all,
     rules: ['c:cat /etc/hostname -> lab-wzgood']}
  - {id: 5, name: "plain text: a part of the output is not enough", condition: all,
     rules: ['c:cat /etc/hostname -> lab']}
  - {id: 6, name: "plain text in a file: exact, case-sensitive", condition: all,
     rules: ['f:/etc/hostname -> LAB-WZGOOD']}
  - {id: 7, name: "single quotes are ordinary characters", condition: all,
     rules: ["c:echo 'a  b' -> 'a b'"]}
  - {id: 8, name: "double quotes group", condition: all,
     rules: ['c:echo "a  b" -> a  b']}
  - {id: 9, name: "stdout and stderr together", condition: all,
     rules: ['c:sh -c "echo to-stderr 1>&2" -> r:^to-stderr$']}
  - {id: 10, name: "exit 126 is evaluated", condition: all,
     rules: ['c:/tmp/wz/e126 -> r:denied']}
  - {id: 11, name: "exit 127 is invalid", condition: all,
     rules: ['c:sh -c "echo there; exit 127" -> r:there']}
  - {id: 12, name: "a level with no regular file is invalid before recursion",
     condition: all, rules: ['d:/tmp/wz/onlydirs -> r:\.conf$']}
  - {id: 13, name: "unsupported check: the rest of the file runs", condition: all,
     rules: ['r:HKEY_LOCAL_MACHINE\Software']}
"""

EXPECTED = {
    "wzgood": {1: "pass", 2: "pass", 3: "not-applicable", 4: "pass", 5: "fail", 6: "fail",
               7: "pass", 8: "pass", 9: "pass", 10: "pass", 11: "not-applicable",
               12: "not-applicable", 13: "error"},
    "wzbad": {1: "fail", 2: "fail", 3: "not-applicable", 4: "fail", 5: "fail", 6: "fail",
              7: "pass", 8: "pass", 9: "pass", 10: "not-applicable", 11: "not-applicable",
              12: "not-applicable", 13: "error"},
}  # fmt: skip
"""wzbad has no /tmp/wz/e126: exit 127 there (command not found), so check 10 is invalid."""


def test_agent_semantics_on_real_hosts(wazuh_lab: Lab, tmp_path: Path) -> None:
    policy = tmp_path / "agent.yml"
    policy.write_text(POLICY)
    for name, expected in EXPECTED.items():
        report = audit(wazuh_lab, tmp_path, name, policy, timeout=10)
        got = {int(r.check.id.rsplit("-", 1)[1]): r.verdict.status.value for r in report.results}
        detail = {r.check.id: (r.verdict.observed, r.verdict.reason) for r in report.results}
        assert got == expected, (name, detail)
        verdicts = {int(r.check.id.rsplit("-", 1)[1]): r.verdict for r in report.results}
        assert "32-bit" in verdicts[3].reason
        assert "Windows registry" in verdicts[13].reason
        assert f"{policy}:" in verdicts[13].reason  # file:line of the rule that cannot run
        if name == "wzgood":
            assert "no file at this level" in verdicts[12].reason
