"""The batch script run by the real /bin/sh, coreutils `timeout` and `head` of this machine.

No SSH here: the rendered script is fed to a local `sh -s` exactly as sshd would run it,
so shared watchdog groups, their fallback and the output framing are tested on the real
shell. `test_group_overrun_over_ssh` then does the same through a real sshd lab host.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from compliance.hosts.batch import Batch, Section, SectionResult
from compliance.hosts.framing import marker, new_nonce
from compliance.hosts.inventory import load_inventory
from compliance.hosts.remote import run_batch
from compliance.hosts.ssh import Connector, SshOptions
from tests.hosts.lab import Lab


def run_local(batch: Batch, *, wrap: list[str] | None = None) -> dict[str, SectionResult]:
    nonce = new_nonce()
    script = batch.render(nonce)
    done = subprocess.run(
        [*(wrap or []), "/bin/sh", "-s"], input=script.encode(), capture_output=True, timeout=120
    )
    header, results = batch.parse(done.stdout, nonce)
    assert header is not None, done.stdout[:500] + done.stderr[:500]
    return results


def run_with_fallback(batch: Batch, *, wrap: list[str] | None = None) -> dict[str, SectionResult]:
    """What `run_batch` does over SSH: a second run, each alone, for `retry` sections."""
    results = run_local(batch, wrap=wrap)
    retry = [key for key, result in results.items() if result.retry]
    if retry:
        results.update(run_local(batch.alone(retry), wrap=wrap))
    return results


def test_cheap_sections_share_one_watchdog_and_keep_their_own_results() -> None:
    batch = Batch()
    keys = [
        batch.add(Section("echo one", 5)),
        batch.add(Section("printf 'two\\nlines\\n'; exit 3", 5)),
        batch.add(Section("echo err >&2; exit 1", 5)),
        batch.add(Section("echo other budget", 7)),
        batch.add(Section("echo builtin only", 5, contained=False)),
        batch.add(Section("echo must run alone", 5, rerunnable=False)),
    ]
    # the builtin section rides along in the group: its output leaves with the group's
    assert batch.groups() == [(5.0, [0, 1, 2, 4])]
    script = batch.render("n0nce")
    assert script.count("_grp 5 <<") == 1
    assert script.count("_run ") == 2  # the 7 s section and the non-rerunnable one
    results = run_local(batch)
    got = [(results[k].output, results[k].status, results[k].problem) for k in keys]
    assert got == [
        ("one\n", 0, ""),
        ("two\nlines\n", 3, ""),
        ("err\n", 1, ""),
        ("other budget\n", 0, ""),
        ("builtin only\n", 0, ""),
        ("must run alone\n", 0, ""),
    ]
    assert not any(results[k].retry for k in keys)


def test_group_watchdog_fires_then_unfinished_members_run_alone() -> None:
    batch = Batch()
    first = batch.add(Section("echo first", 1))
    hangs = batch.add(Section("echo started; sleep 30; echo never", 1))
    after = batch.add(Section("echo after", 1))
    results = run_local(batch)
    assert results[first].output == "first\n" and results[first].status == 0
    assert results[hangs].retry and results[after].retry
    assert "overran their shared 1 s budget" in results[hangs].problem
    assert results[hangs].output == "started\n"
    assert results[after].problem.startswith("did not run")
    again = run_local(batch.alone([hangs, after]))
    assert again[hangs].timed_out and again[hangs].problem == "timed out after 1 s"
    assert again[after].output == "after\n" and again[after].status == 0
    assert not again[hangs].retry and not again[after].retry


def test_a_group_budget_joins_the_shorter_group_and_gets_its_own_budget_alone() -> None:
    """A section with a long budget but a short `group_budget` shares the short group's
    watchdog; cut off there, it runs again alone and gets its whole long budget."""
    batch = Batch()
    quick = batch.add(Section("echo quick", 1))
    slow = batch.add(Section("sleep 2; echo slow but in budget", 5, group_budget=1))
    assert batch.groups() == [(1.0, [0, 1])]
    assert batch.render("n0nce").count("_run ") == 0
    results = run_local(batch)
    assert results[quick].output == "quick\n" and results[quick].status == 0
    assert results[slow].retry and "overran their shared 1 s budget" in results[slow].problem
    final = run_with_fallback(batch)
    assert final[slow].output == "slow but in budget\n" and final[slow].status == 0
    assert not final[slow].timed_out
    # merged with an identical section that has no group budget: the longer watchdog wins
    batch.add(Section("sleep 2; echo slow but in budget", 5))
    assert batch.groups() == []


def test_flooding_member_is_cut_in_the_group_then_bounded_alone() -> None:
    batch = Batch()
    flood = batch.add(Section("yes | head -c 5000000", 5, limit=1000))
    after = batch.add(Section("echo after", 5, limit=100))
    results = run_local(batch)
    assert results[flood].retry and "cut off at the group's limit" in results[flood].problem
    final = run_with_fallback(batch)
    assert final[flood].truncated and len(final[flood].output) == 1000
    assert final[after].output == "after\n" and final[after].status == 0


def test_a_syntax_error_stays_in_its_own_section() -> None:
    batch = Batch()
    broken = batch.add(Section("echo 'unbalanced", 5))
    fine = batch.add(Section("echo fine", 5))
    inline = batch.add(Section("if then fi", 5, contained=False))
    results = run_local(batch)
    assert results[broken].status == 2 and "nterminated" in results[broken].output
    assert results[fine].output == "fine\n" and results[fine].status == 0
    assert results[inline].status == 2
    assert not results[fine].retry


def test_nonce_is_on_no_command_line_environment_or_variable() -> None:
    """A section that prints every process's argv and environment cannot see the nonce."""
    dump = (
        "for p in /proc/[0-9]*; do cat $p/cmdline $p/environ 2>/dev/null; echo; done "
        "| tr '\\000' ' '; echo \"N=[$N]\""
    )
    batch = Batch()
    big = 16 * 1024 * 1024
    keys = [
        batch.add(Section(dump, 5, big)),  # in a group
        batch.add(Section("true", 5)),
        batch.add(Section(dump, 9, big)),  # alone
        batch.add(Section(dump, 9, big, contained=False)),  # inline
    ]
    nonce = new_nonce()
    out = subprocess.run(
        ["/bin/sh", "-s"], input=batch.render(nonce).encode(), capture_output=True, timeout=60
    ).stdout
    _, results = batch.parse(out, nonce)
    for key in (keys[0], keys[2], keys[3]):
        assert results[key].status == 0 and not results[key].truncated
        assert nonce not in results[key].output
        assert "N=[]" in results[key].output


def test_a_fake_marker_without_the_nonce_is_just_output() -> None:
    batch = Batch()
    key = batch.add(Section("printf 'x E 0 0\\nZ\\n'; cat /nonexistent", 5))
    other = batch.add(Section("echo ok", 5))
    results = run_local(batch)
    assert results[key].output.startswith("x E 0 0\nZ\n") and results[key].status == 1
    assert results[other].output == "ok\n"


def test_deadline_counts_a_grouped_section_twice() -> None:
    batch = Batch([Section("a", 5), Section("b", 5), Section("c", 30)])
    # group 5 s + each alone 5 + 5 + the lone 30 s section, each +1 s, plus slack
    assert batch.deadline() == (6 + 6 + 6 + 31) + 10.0 + 0.05 * 3


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare"
)
def test_groups_work_without_a_timeout_binary(tmp_path: Path) -> None:
    """Hide `timeout` (a non-executable file bound over it): the shell watchdog takes over.

    It must kill the whole tree (the group's shell, the member's subshell, its `sleep`),
    or the orphans would hold the output pipe open for 30 s.
    """
    timeout = shutil.which("timeout", path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin")
    assert timeout is not None
    blank = tmp_path / "blank"
    blank.write_text("")
    wrap = ["unshare", "--mount", "sh", "-c", f'mount --bind {blank} {timeout} && exec "$@"', "-"]
    batch = Batch()
    ok = batch.add(Section("echo ok", 1))
    hangs = batch.add(Section("sleep 31.25; echo never", 1))
    nonce = new_nonce()
    out = subprocess.run(
        [*wrap, "/bin/sh", "-s"], input=batch.render(nonce).encode(), capture_output=True
    ).stdout
    header, first = batch.parse(out, nonce)
    assert header is not None and header.has_timeout is False
    assert first[ok].output == "ok\n" and first[hangs].retry
    final = run_with_fallback(batch, wrap=wrap)
    assert final[hangs].timed_out and final[ok].status == 0
    assert subprocess.run(["pgrep", "-f", "^sleep 31.25$"], capture_output=True).returncode == 1


def test_builtin_members_cut_off_with_their_group_run_again_in_the_batch_shell() -> None:
    batch = Batch()
    builtin = batch.add(Section("echo builtin", 5, 64, contained=False, isolated=False))
    hangs = batch.add(Section("sleep 30", 1))
    other = batch.add(Section("echo other", 1))
    late = batch.add(Section("echo late builtin", 5, 64, contained=False, isolated=False))
    assert batch.groups() == [(1.0, [0, 1, 2, 3])]
    first = run_local(batch)
    assert first[builtin].output == "builtin\n" and first[builtin].status == 0
    assert first[late].retry and first[other].retry
    final = run_with_fallback(batch)
    assert final[late].output == "late builtin\n" and final[late].status == 0
    assert final[other].output == "other\n" and final[hangs].timed_out


def hide(tmp_path: Path, tool: str, content: str) -> list[str]:
    """A wrapper that runs a command with `tool` replaced by a file (bound over it)."""
    path = shutil.which(tool, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin")
    assert path is not None
    stand_in = tmp_path / f"stand-in-{tool}"
    stand_in.write_text(content)
    stand_in.chmod(0o755 if content else 0o644)
    return ["unshare", "--mount", "sh", "-c", f'mount --bind {stand_in} {path} && exec "$@"', "-"]


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare"
)


@needs_root
@pytest.mark.parametrize(
    "dd",
    [
        pytest.param("", id="no-dd-head-cuts"),
        pytest.param("#!/bin/sh\necho 'dd: invalid input flag' >&2\nexit 1\n", id="dd-refuses"),
    ],
)
def test_a_group_without_a_working_dd_still_gives_every_result(tmp_path: Path, dd: str) -> None:
    """Without dd (busybox builds without it) `head` bounds the group's output; a dd that
    refuses our flags loses the group's output, and every member then runs alone."""
    wrap = hide(tmp_path, "dd", dd)
    batch = Batch()
    keys = [
        batch.add(Section("echo one", 5)),
        batch.add(Section("echo two; exit 4", 5)),
        batch.add(Section("echo three", 5, 64, contained=False, isolated=False)),
    ]
    final = run_with_fallback(batch, wrap=wrap)
    got = [(final[k].output, final[k].status, final[k].problem) for k in keys]
    assert got == [("one\n", 0, ""), ("two\n", 4, ""), ("three\n", 0, "")]


def test_group_output_leaves_the_host_in_one_write(tmp_path: Path) -> None:
    """dd gathers the group's output: one write, so one SSH packet per 32 KB, not one per
    printf (each packet costs the auditor CPU in paramiko)."""
    batch = Batch()
    for n in range(20):
        batch.add(Section(f"echo {n}", 5, 64, contained=False, isolated=False))
    batch.add(Section("echo a", 5))
    batch.add(Section("echo b", 5))
    nonce = new_nonce()
    trace = tmp_path / "trace"
    script = batch.render(nonce).encode()
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    done = subprocess.run(
        ["strace", "-f", "-y", "-e", "trace=write", "-o", str(trace), "/bin/sh", "-s"],
        input=script,
        capture_output=True,
    )
    header, results = batch.parse(done.stdout, nonce)
    assert header is not None and all(r.status == 0 for r in results.values())
    lines = trace.read_text().splitlines()
    writes = [line.split(" write(", 1)[1] for line in lines if " write(" in line]
    header_write = next(w for w in writes if marker(nonce, "S ") in w)
    ours = header_write.split(",", 1)[0]  # e.g. 1<pipe:[123]>: the pipe we read
    to_us = [w for w in writes if w.startswith(ours + ",")]
    # the header, the group's one write, the end marker
    assert len(to_us) == 3, to_us


def test_group_overrun_over_ssh(lab: Lab, tmp_path: Path) -> None:
    """Through a real sshd: run_batch re-runs the members its group's watchdog cut off."""
    inventory = load_inventory(lab.inventory(tmp_path / "inv.yml", ["good"]))
    batch = Batch()
    quick = batch.add(Section("echo quick", 1))
    hangs = batch.add(Section("sleep 30", 1))
    later = batch.add(Section("cat /etc/hostname", 1))
    connector = Connector(SshOptions())
    session = connector.open(inventory.hosts[0])
    try:
        run = run_batch(session, batch, sudo=False)
    finally:
        session.close()
    assert run.problem == ""
    assert run.results[quick].output == "quick\n"
    assert run.results[hangs].timed_out and run.results[hangs].problem == "timed out after 1 s"
    assert run.results[later].output == "lab-good\n" and run.results[later].status == 0
