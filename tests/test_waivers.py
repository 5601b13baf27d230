from datetime import date

import pytest

from compliance.policy import ConfigError, Waiver, append_waiver, load_waivers


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


def test_append_to_flow_style_empty_list_rewrites_cleanly(tmp_path):
    path = tmp_path / "waivers.yml"
    path.write_text("waivers: []\n")
    new = Waiver(rule="B603", reason="fixed argv", approver="carol", expires=date(2027, 2, 1))
    append_waiver(path, new)
    assert [e.waiver for e in load_waivers(path)] == [new]


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
