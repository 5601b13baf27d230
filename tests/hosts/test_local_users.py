"""`local_users`: both rules read one awk's output over the real passwd/shadow format.

Runs the shipped script with the real `sh` and `awk` on files of this test (the script's
paths are the system's, so they are swapped for the test's own copies), then judges.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from compliance.hosts.batch import SectionResult
from compliance.hosts.checks.interface import CheckStatus, Verdict
from compliance.hosts.checks.local_users import SCRIPT, LocalUsers, LocalUsersParams

PASSWD = "root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\nguest::1000:1000::/h:/bin/sh\n"
SHADOW = "root:*:19000:0:99999:7:::\ntoor:$6$hash:19000::::::\nguest::19000::::::\n"


def run(tmp_path: Path, *, shadow_readable: bool = True) -> SectionResult:
    """`shadow_readable=False`: a path `[ -r ]` refuses, as /etc/shadow is for a non-root
    audit user (root reads any mode, so a missing file stands in)."""
    passwd, shadow = tmp_path / "passwd", tmp_path / "shadow"
    passwd.write_text(PASSWD)
    if shadow_readable:
        shadow.write_text(SHADOW)
    script = SCRIPT.replace("/etc/passwd", str(passwd)).replace("/etc/shadow", str(shadow))
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
    out = done.stdout.replace(str(passwd), "/etc/passwd").replace(str(shadow), "/etc/shadow")
    return SectionResult(out + done.stderr, done.returncode)


def judge(result: SectionResult, rule: str) -> Verdict:
    return LocalUsers().evaluate(LocalUsersParams(rule=rule), result)  # type: ignore[arg-type]


def test_one_run_answers_both_rules_with_names_only(tmp_path: Path) -> None:
    result = run(tmp_path)
    assert "$6$" not in result.output  # hashes never leave the host
    uid0 = judge(result, "only-root-uid0")
    assert (uid0.status, uid0.observed) == (CheckStatus.FAIL, "UID 0: root, toor")
    empty = judge(result, "no-empty-passwords")
    assert empty.status is CheckStatus.FAIL
    assert empty.observed == "empty password: /etc/passwd: guest, /etc/shadow: guest"


def test_unreadable_shadow_is_an_error_for_passwords_only(tmp_path: Path) -> None:
    result = run(tmp_path, shadow_readable=False)
    assert result.status == 0
    assert judge(result, "no-empty-passwords").status is CheckStatus.ERROR
    assert "cannot read /etc/shadow" in judge(result, "no-empty-passwords").reason
    assert judge(result, "only-root-uid0").status is CheckStatus.FAIL  # passwd is readable


def test_no_root_and_a_failed_read_are_errors() -> None:
    assert judge(SectionResult("", 0), "only-root-uid0").status is CheckStatus.ERROR
    failed = SectionResult("awk: cannot open /etc/passwd", 2)
    assert judge(failed, "only-root-uid0").status is CheckStatus.ERROR
    assert judge(failed, "no-empty-passwords").status is CheckStatus.ERROR
    clean = SectionResult("uid0 root", 0)
    assert judge(clean, "only-root-uid0").status is CheckStatus.PASS
    assert judge(clean, "no-empty-passwords").status is CheckStatus.PASS
