"""Reading the tree's bandit settings: bandit's own semantics, and garbage never crashes.

The end-to-end proofs (real bandit, real git) are in test_repository_config_e2e.py; these
pin the parts a real tree rarely shows: arbitrary bytes in every file the gate reads, and
bandit's exclude matching.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.scanners.bandit_config import bandit_excludes, bandit_plan, baseline_key
from compliance.scanners.interface import ScannerFailure

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FILES = ("app.py", "tests/test_app.py", "mytests.py", "vendored/lib/x.py")
CONFIG_FILES = (".bandit", "pyproject.toml", "bandit.yml", "setup.cfg", "tox.ini", "b.json")
# bytes that look like what they are often enough to reach the parsers' deeper branches
FRAGMENTS = st.sampled_from(
    [
        b"[bandit]\n",
        b"[tool.bandit]\n",
        b"[tool:bandit]\n",
        b"skips = B602\n",
        b'skips = ["B602"]\n',
        b"configfile = bandit.yml\n",
        b"baseline = b.json\n",
        b"profile = p\n",
        b"exclude = vendored,\n",
        b"exclude_dirs = [1, 2]\n",
        b"profiles:\n  p:\n    include: [B101]\n",
        b"shell_injection: {subprocess: []}\n",
        b'{"results": [{"filename": "app.py"}]}',
        b"a: &a [x]\nb: *a\n",
        b"%(x)s\n",
        b"\xff\xfe\x00",
        b"\n  continued\n",
    ]
)
CONTENT = st.one_of(st.binary(max_size=300), st.lists(FRAGMENTS, max_size=6).map(b"".join))


@SETTINGS
@given(st.dictionaries(st.sampled_from(CONFIG_FILES), CONTENT, min_size=1))
def test_any_bytes_are_listed_in_report_mode_and_a_clean_error_in_apply_mode(files) -> None:
    root = Path(tempfile.mkdtemp(prefix="bandit-config-"))
    try:
        for name, data in files.items():
            (root / name).write_bytes(data)
        report = bandit_plan(root, FILES, "report")
        assert report.ini == "[bandit]\n" and report.configfile is None and not report.excluded
        for setting in report.settings:
            assert not setting.applied and setting.effect.isprintable()
        try:
            applied = bandit_plan(root, FILES, "apply")
        except ScannerFailure as exc:
            assert exc.reason.startswith("cannot apply the repository's bandit settings: ")
            assert "\n" not in exc.reason and "repository_config: report" in exc.hint
        else:
            assert set(applied.excluded) <= set(FILES)
            assert all(s.effect.isprintable() for s in applied.settings)
    finally:
        shutil.rmtree(root)


@pytest.mark.parametrize(
    ("patterns", "excluded"),
    [
        (["tests"], {"tests/test_app.py", "mytests.py"}),  # bandit: the pattern anywhere
        (["*/lib/*"], {"vendored/lib/x.py"}),
        (["vendored/*"], {"vendored/lib/x.py"}),
        ([""], set(FILES)),  # `exclude = a,` leaves an empty pattern: bandit drops all
        ([], set()),
    ],
)
def test_excludes_match_as_bandit_matches(patterns, excluded) -> None:
    assert {f for f in FILES if bandit_excludes(f, patterns)} == excluded


def test_ini_exclude_naming_a_folder_excludes_its_files(tmp_path) -> None:
    (tmp_path / "vendored").mkdir()
    (tmp_path / ".bandit").write_text("[bandit]\nexclude = vendored\n")
    assert bandit_plan(tmp_path, FILES, "apply").excluded == ("vendored/lib/x.py",)
    assert bandit_plan(tmp_path, FILES, "report").excluded == ()


def test_baseline_compares_what_bandit_compares() -> None:
    ours = {
        "filename": "app.py",
        "test_id": "B602",
        "test_name": "subprocess_popen_with_shell_equals_true",
        "issue_severity": "HIGH",
        "issue_confidence": "HIGH",
        "issue_text": "subprocess call with shell=True identified, security issue.",
        "issue_cwe": {"id": 78, "link": "x"},
        "line_number": 5,
    }
    written = {**ours, "filename": "./app.py", "line_number": 40, "code": "anything"}
    assert baseline_key(ours) == baseline_key(written)  # lines and code do not count
    assert baseline_key(ours) != baseline_key({**written, "issue_severity": "LOW"})
    assert baseline_key(ours) != baseline_key({**written, "filename": "other.py"})


def test_only_the_selecting_keys_reach_bandit(tmp_path) -> None:
    (tmp_path / ".bandit").write_text(
        "[bandit]\nskips = B101\noutput = /tmp/elsewhere.json\nlevel = HIGH\ntargets = /etc\n"
    )
    plan = bandit_plan(tmp_path, FILES, "apply")
    assert plan.ini == "[bandit]\nskips = B101\n\n"
    owned = {s.key: s for s in plan.settings if s.key in ("output", "level", "targets")}
    assert all(not s.applied and s.effect.startswith("not applied") for s in owned.values())
