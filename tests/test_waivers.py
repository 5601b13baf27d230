import os
from datetime import date

import pytest

from compliance.policy import ConfigError, Waiver, append_waiver, load_policy, load_waivers
from compliance.policy.scan_waivers import read_scan_waivers
from compliance.policy.waiver_rules import governance_problems, new_waiver_problems


def test_append_keeps_comments_and_reads_back(tmp_path):
    path = tmp_path / "waivers.yml"
    path.write_text(
        "# reviewed by security\nwaivers:\n  - rule: B101\n    path: tests/**\n"
        "    reason: asserts in tests\n    approver: bob\n    expires: 2027-06-30\n"
    )
    new = Waiver(
        fingerprint="abc", reason="constant input", approver="alice", expires=date(2027, 1, 31)
    )
    append_waiver(path, new)
    text = path.read_text()
    assert text.startswith("# reviewed by security\n")
    entries = load_waivers(path)
    assert [e.waiver for e in entries][-1] == new
    assert entries[1].source == f"{path}:8"


def test_append_to_the_shipped_empty_flow_list_grows_a_block(tmp_path):
    path = tmp_path / "waivers.yml"
    path.write_text("# the team's waivers\nwaivers: []\n")
    new = Waiver(rule="B603", reason="fixed argv", approver="carol", expires=date(2027, 2, 1))
    append_waiver(path, new)
    assert [e.waiver for e in load_waivers(path)] == [new]
    assert path.read_text().startswith("# the team's waivers\nwaivers:\n  - rule: B603\n")


def test_append_creates_the_file(tmp_path):
    path = tmp_path / "waivers.yml"
    new = Waiver(rule="B603", reason="fixed argv", approver="carol", expires=date(2027, 2, 1))
    append_waiver(path, new)
    assert [e.waiver for e in load_waivers(path)] == [new]


def test_invalid_waiver_names_line_and_key(tmp_path):
    path = tmp_path / "waivers.yml"
    path.write_text(
        "waivers:\n  - fingerprint: abc\n    reason: fine\n    approver: bob\n"
        "  - rule: B1\n    reason: ok ok\n    approver: bob\n    expires: someday\n"
    )
    with pytest.raises(ConfigError) as info:
        load_waivers(path)
    problems = info.value.problems
    assert any(f"{path}:2: waivers.0.expires: required key is missing" in p for p in problems)
    assert any(f"{path}:8: waivers.1.expires:" in p for p in problems)


def test_waiver_must_name_something(tmp_path):
    path = tmp_path / "waivers.yml"
    path.write_text("waivers:\n  - reason: because\n    approver: bob\n    expires: 2027-01-01\n")
    with pytest.raises(ConfigError) as info:
        load_waivers(path)
    assert "needs a fingerprint, or a rule" in info.value.problems[0]
    assert info.value.problems[0].startswith(f"{path}:2:")


def test_missing_waiver_file_means_no_waivers(tmp_path):
    assert load_waivers(tmp_path / "absent.yml") == []


EXISTING = """\
# Waivers of the payments team. Reviewed by security (see SEC-123).
waivers:
  - rule: B101          # asserts are stripped in tests only
    path: "tests/**"
    reason: 'asserts in tests'
    approver: bob
    expires: 2027-06-30

# Keep this list short: every entry is a debt.
"""


def test_append_keeps_every_comment_quote_and_line(tmp_path):
    path = tmp_path / "waivers.yml"
    path.write_text(EXISTING)
    new = Waiver(fingerprint="abc", reason="yes", approver="alice", expires=date(2027, 1, 31))
    append_waiver(path, new)
    text = path.read_text()
    body, _, closing = EXISTING.partition("\n# Keep")
    assert text.startswith(body.rstrip("\n") + "\n  - fingerprint: abc\n")  # untouched above
    assert text.rstrip().endswith("# Keep" + closing.rstrip())  # the closing note stays last
    entries = load_waivers(path)
    assert [e.waiver for e in entries] == [entries[0].waiver, new]
    assert entries[1].waiver.reason == "yes"  # quoted: YAML 1.1 would read yes as true


def test_a_failed_append_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "waivers.yml"
    path.write_text("# broken\nwaivers:\n  - rule: B1\n    reason: [unclosed\n")
    before = path.read_bytes()
    new = Waiver(rule="B603", reason="fixed argv", approver="carol", expires=date(2027, 2, 1))
    with pytest.raises(ConfigError):
        append_waiver(path, new)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["waivers.yml"]  # no temporary file left


TODAY = date(2026, 3, 1)


def waiver(**fields):
    base = {"rule": "B602", "reason": "reviewed input", "approver": "alice"}
    return Waiver(**{**base, **fields})


def test_a_waiver_may_run_at_most_max_days_from_its_creation():
    ok = waiver(expires=date(2027, 2, 28), created=TODAY)
    assert governance_problems(ok, max_days=365, today=TODAY) == []
    (far,) = governance_problems(
        waiver(expires=date(2031, 3, 1), created=TODAY), max_days=365, today=TODAY
    )
    assert "1826 days after its created date 2026-03-01" in far and "waivers_max_days" in far
    # without `created`, today is the start: an old hand-written expiry cannot hide
    (undated,) = governance_problems(waiver(expires=date(2031, 3, 1)), max_days=365, today=TODAY)
    assert "days after today" in undated
    # a created date in the future would stretch the window: refused, and measured from today
    future = governance_problems(
        waiver(expires=date(2030, 1, 1), created=date(2029, 6, 1)), max_days=365, today=TODAY
    )
    assert any("in the future" in p for p in future) and any("days after" in p for p in future)


def test_approver_and_requester_must_be_two_people():
    (same,) = governance_problems(
        waiver(expires=date(2026, 6, 1), requested_by="Alice"), max_days=365, today=TODAY
    )
    assert "needs a second person" in same
    problems = new_waiver_problems(
        waiver(expires=date(2026, 6, 1)),
        max_days=365,
        today=TODAY,
        requester={"alice@example.org", "Alice Liddell"},
    )
    assert len(problems) == 1 and "is the requester" in problems[0]
    past = new_waiver_problems(
        waiver(expires=date(2026, 2, 1)), max_days=365, today=TODAY, requester={"bob"}
    )
    assert past == ["it expires 2026-02-01, which is in the past"]


def test_repository_waivers_are_governed_and_a_trusted_file_in_the_tree_is_too(
    tmp_path, policy_file
):
    root = tmp_path / "repo"
    (root / ".compliance").mkdir(parents=True)
    (root / ".compliance" / "waivers.yml").write_text(
        "waivers:\n"
        "  - {rule: B602, reason: reviewed, approver: bob, expires: 2026-06-01}\n"
        "  - {rule: B603, reason: reviewed, approver: bob, expires: 2031-06-01}\n"
    )
    outside = policy_file(
        "version: 1\n",
        waivers="waivers:\n  - {rule: B604, reason: ours, approver: sec, expires: 2031-01-01}\n",
    )
    read = read_scan_waivers(load_policy(outside), root, TODAY)
    assert [e.waiver.rule for e in read.entries] == ["B604", "B602"]  # trusted as written
    (rejected,) = read.rejected
    assert rejected.startswith(f"{root.resolve()}/.compliance/waivers.yml:3: waiver not applied")
    inside = root / "gate-policy.yml"
    inside.write_text("version: 1\nwaivers: .compliance/waivers.yml\n")
    read = read_scan_waivers(load_policy(inside), root, TODAY)
    assert [e.waiver.rule for e in read.entries] == ["B602"]  # read once, governed
    assert len(read.rejected) == 1


def test_a_fifo_or_huge_repository_waiver_file_is_refused_not_read(tmp_path, policy_file):
    """A planted FIFO would hang a reader; a huge file would fill memory."""
    root = tmp_path / "repo"
    (root / ".compliance").mkdir(parents=True)
    os.mkfifo(root / ".compliance" / "waivers.yml")
    loaded = load_policy(policy_file("version: 1\nwaivers: null\n"))
    read = read_scan_waivers(loaded, root, TODAY)
    assert read.entries == [] and "is not a regular file" in read.rejected[0]
    (root / ".compliance" / "waivers.yml").unlink()
    (root / ".compliance" / "waivers.yml").write_text("# " + "x" * (2 << 20) + "\n")
    read = read_scan_waivers(loaded, root, TODAY)
    assert read.entries == [] and "more than a waiver file holds" in read.rejected[0]
