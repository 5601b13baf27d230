"""Check kinds that save forks on the target, run by the real /bin/sh and stat of this machine.

`file_mode` answers all of a host's mode checks with one `stat`; `sysctl` reads /proc/sys
with builtins in the batch's own shell. Each must still give every check its own answer.
"""

from __future__ import annotations

from pathlib import Path

from compliance.hosts.audit import judge, plan
from compliance.hosts.batch import Batch, Section
from compliance.hosts.checks.interface import CheckStatus
from compliance.hosts.policy import load_host_policy
from tests.hosts.test_batch import run_local


def write_policy(tmp_path: Path, checks: list[str]) -> Path:
    path = tmp_path / "policy.yml"
    path.write_text("version: 1\nname: t\nchecks:\n" + "".join(f"  - {c}\n" for c in checks))
    return path


def test_one_stat_answers_every_file_mode_check(tmp_path: Path) -> None:
    spaced = tmp_path / "a file with spaces"
    spaced.write_text("x")
    spaced.chmod(0o600)
    wide = tmp_path / "wide"
    wide.write_text("x")
    wide.chmod(0o666)
    policy = write_policy(
        tmp_path,
        [
            f'{{id: spaced, title: tst, kind: file_mode, path: "{spaced}", mode: "0600"}}',
            f'{{id: wide, title: tst, kind: file_mode, path: "{wide}", mode: "0644"}}',
            f'{{id: gone, title: tst, kind: file_mode, path: "{tmp_path}/gone", mode: "0644"}}',
            f'{{id: gone-ok, title: tst, kind: file_mode, path: "{tmp_path}/gone", missing: pass}}',
            "{id: root, title: tst, kind: file_mode, path: /, owner: root}",
            f"{{id: slow, title: tst, kind: file_mode, path: {wide}, mode: '0666', timeout: 20}}",
        ],
    )
    checks = load_host_policy(policy).checks
    steps = plan(checks)
    keys = {check.id: steps.check_keys[check.id] for check in checks}
    # one section for the four 10 s checks of distinct paths, another for the 20 s one
    assert len({keys[i] for i in ("spaced", "wide", "gone", "gone-ok", "root")}) == 1
    assert keys["slow"] != keys["wide"]
    results = run_local(steps.batch)
    verdicts = {c.id: judge(c, {}, results[steps.check_keys[c.id]]) for c in checks}
    status = {name: v.status for name, v in verdicts.items()}
    assert status == {
        "spaced": CheckStatus.PASS,
        "wide": CheckStatus.FAIL,
        "gone": CheckStatus.FAIL,
        "gone-ok": CheckStatus.PASS,
        "root": CheckStatus.PASS,
        "slow": CheckStatus.PASS,
    }
    assert verdicts["wide"].observed == "mode 0666 owner root group root"
    assert "does not exist" in verdicts["gone"].observed


def test_stat_that_says_nothing_about_a_path_is_an_error(tmp_path: Path) -> None:
    """`stat` missing on the target: every mode check errors, none passes."""
    policy = write_policy(tmp_path, ["{id: m, title: tst, kind: file_mode, path: /, mode: '0755'}"])
    (check,) = load_host_policy(policy).checks
    steps = plan([check])
    section = steps.batch.sections[0]
    script = section.script.replace("exec stat", "exec /nonexistent/stat")
    broken = Batch([Section(script, section.budget, section.limit)])
    (result,) = run_local(broken).values()
    verdict = judge(check, {}, result)
    assert verdict.status is CheckStatus.ERROR
    assert "stat gave no answer for /" in verdict.reason


def test_sysctl_reads_with_builtins_and_reports_missing_and_unreadable(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path,
        [
            "{id: present, title: tst, kind: sysctl, key: kernel.ostype, equals: Linux}",
            "{id: absent, title: tst, kind: sysctl, key: kernel.no_such_key, equals: 1}",
            "{id: absent-ok, title: tst, kind: sysctl, key: kernel.no_such_key2, equals: 1,"
            " missing: not-applicable}",
            "{id: write-only, title: tst, kind: sysctl, key: vm.drop_caches, equals: 0}",
        ],
    )
    checks = load_host_policy(policy).checks
    steps = plan(checks)
    assert "( N=" not in steps.batch.render("x")  # no subshell for these
    results = run_local(steps.batch)
    verdicts = {c.id: judge(c, {}, results[steps.check_keys[c.id]]) for c in checks}
    assert verdicts["present"].status is CheckStatus.PASS
    assert verdicts["present"].observed == "kernel.ostype = Linux"
    assert verdicts["absent"].status is CheckStatus.ERROR  # sysctl's default for missing
    assert verdicts["absent-ok"].status is CheckStatus.NOT_APPLICABLE
    assert verdicts["write-only"].status is CheckStatus.ERROR
    assert "cannot read" in verdicts["write-only"].reason


def test_sysctl_inside_a_watchdog_group_still_reports_missing_keys(tmp_path: Path) -> None:
    """A group's members run in a fresh `sh -s`, which does not inherit the batch shell's
    functions: the sysctl section's `_st` must be defined there too, or a missing key came
    back as "exited with status 127: _st: not found" (found by timing the shipped baseline
    through the command on a kernel without yama)."""
    policy = write_policy(
        tmp_path,
        [
            "{id: absent, title: tst, kind: sysctl, key: kernel.no_such_key, equals: 1}",
            "{id: absent-ok, title: tst, kind: sysctl, key: kernel.no_such_key2, equals: 1,"
            " missing: not-applicable}",
            "{id: echo, title: tst, kind: command, run: 'echo one', status: 0}",
            "{id: echo2, title: tst, kind: command, run: 'echo two', status: 0}",
        ],
    )
    checks = load_host_policy(policy).checks
    steps = plan(checks)
    assert "_grp " in steps.batch.render("x")  # the sysctl sections share a group here
    results = run_local(steps.batch)
    verdicts = {c.id: judge(c, {}, results[steps.check_keys[c.id]]) for c in checks}
    assert verdicts["absent-ok"].status is CheckStatus.NOT_APPLICABLE, verdicts["absent-ok"]
    assert verdicts["absent"].status is CheckStatus.ERROR
    assert "not found" not in verdicts["absent"].reason
    assert "kernel.no_such_key" in verdicts["absent"].reason
