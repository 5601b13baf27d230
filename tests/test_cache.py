"""The result cache: keys follow content, a broken cache only costs time."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from compliance.cache import (
    KEY_ENV,
    KEY_FILE,
    ResultCache,
    _key,
    default_directory,
    executable_identity,
    script_interpreter,
    site_packages,
)


def test_hits_follow_content_and_namespace(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    cache = ResultCache(tmp_path / "cache")
    digests = cache.digests(root, ["a.py"])
    cache.put("ns", digests, {"a.py": {"results": [1]}})
    assert cache.get("ns", cache.digests(root, ["a.py"])) == {"a.py": {"results": [1]}}
    assert cache.get("other-rules", cache.digests(root, ["a.py"])) == {}
    (root / "a.py").write_text("x = 2\n")
    assert cache.get("ns", cache.digests(root, ["a.py"])) == {}


def test_tool_version_is_remembered_per_executable(tmp_path: Path) -> None:
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n")
    cache = ResultCache(tmp_path / "cache")
    assert cache.known_version(str(tool)) is None
    cache.remember_version(str(tool), "1.0")
    assert cache.known_version(str(tool)) == "1.0"
    tool.write_text("#!/bin/sh\n# upgraded\n")
    # the identity is taken once per cache (one scan), so a later scan sees the upgrade
    assert ResultCache(tmp_path / "cache").known_version(str(tool)) is None


def test_corrupt_cache_disables_itself(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "results-v2.sqlite").write_bytes(b"this is not a database" * 100)
    cache = ResultCache(folder)
    assert not cache.enabled
    assert cache.get("ns", {"a.py": "0" * 64}) == {}


@pytest.mark.parametrize("value", ["off", "", "0"])
def test_cache_can_be_switched_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", value)
    assert default_directory() is None
    assert not ResultCache.open_default().enabled


# -- integrity: entries and versions the runner did not write are misses --------------------


def test_a_forged_entry_is_a_miss_and_the_fresh_result_overwrites_it(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    cache = ResultCache(tmp_path / "cache")
    digests = cache.digests(root, ["a.py"])
    cache.put("ns", digests, {"a.py": {"results": ["B602"]}})
    key = _key("ns", "a.py", digests["a.py"])
    db = sqlite3.connect(tmp_path / "cache" / "results-v2.sqlite")
    # right key, right tag, other value: what a planted "nothing found" looks like
    db.execute("UPDATE entry SET value = ? WHERE key = ?", ('{"results": []}', key))
    db.commit()
    assert cache.get("ns", digests) == {}
    # right key, a tag made up without the secret
    forged = hmac.new(b"guess", b"entry\0" + key.encode(), hashlib.sha256).hexdigest()
    db.execute("INSERT OR REPLACE INTO entry VALUES (?, ?, ?)", (key, '{"results": []}', forged))
    db.commit()
    assert cache.get("ns", digests) == {}
    # another entry's valid tag copied over
    cache.put("ns", {"b.py": digests["a.py"]}, {"b.py": {"results": []}})
    other = _key("ns", "b.py", digests["a.py"])
    (tag,) = db.execute("SELECT tag FROM entry WHERE key = ?", (other,)).fetchone()
    db.execute("UPDATE entry SET value = ?, tag = ? WHERE key = ?", ('{"results": []}', tag, key))
    db.commit()
    assert cache.get("ns", digests) == {}
    cache.put("ns", digests, {"a.py": {"results": ["B602"]}})  # the scan's fresh result
    assert cache.get("ns", digests) == {"a.py": {"results": ["B602"]}}
    db.close()


def test_a_forged_tool_version_is_not_believed(tmp_path: Path) -> None:
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n")
    cache = ResultCache(tmp_path / "cache")
    cache.remember_version(str(tool), "1.9.4")
    db = sqlite3.connect(tmp_path / "cache" / "results-v2.sqlite")
    db.execute("UPDATE tool SET version = '0.0.1'")
    db.commit()
    db.close()
    assert ResultCache(tmp_path / "cache").known_version(str(tool)) is None


def test_entries_of_another_secret_do_not_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    monkeypatch.setenv(KEY_ENV, "a" * 32)
    first = ResultCache(tmp_path / "cache")
    first.put("ns", first.digests(root, ["a.py"]), {"a.py": {"results": []}})
    assert first.get("ns", first.digests(root, ["a.py"])) != {}
    monkeypatch.setenv(KEY_ENV, "b" * 32)
    second = ResultCache(tmp_path / "cache")
    assert second.get("ns", second.digests(root, ["a.py"])) == {}
    assert not (tmp_path / "cache" / KEY_FILE).exists()  # the CI variable is the secret


def test_the_key_file_is_private_and_random(tmp_path: Path) -> None:
    ResultCache(tmp_path / "cache")
    key = tmp_path / "cache" / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    ResultCache(tmp_path / "other")
    assert (tmp_path / "other" / KEY_FILE).read_bytes() != key.read_bytes()


@pytest.mark.parametrize("mode", [0o644, 0o620, 0o606, 0o660])
def test_a_key_file_others_can_read_or_write_turns_the_cache_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: int
) -> None:
    ResultCache(tmp_path / "cache")
    (tmp_path / "cache" / KEY_FILE).chmod(mode)
    cache = ResultCache(tmp_path / "cache")
    assert not cache.enabled
    err = capsys.readouterr().err
    assert "warning: result cache off for this run" in err and "chmod 600" in err


def test_a_key_file_that_is_a_symlink_or_too_short_turns_the_cache_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planted = tmp_path / "planted-key"
    planted.write_bytes(b"k" * 32)
    planted.chmod(0o600)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / KEY_FILE).symlink_to(planted)
    assert not ResultCache(tmp_path / "cache").enabled
    (tmp_path / "short").mkdir()
    (tmp_path / "short" / KEY_FILE).write_bytes(b"short")
    (tmp_path / "short" / KEY_FILE).chmod(0o600)
    assert not ResultCache(tmp_path / "short").enabled
    err = capsys.readouterr().err
    assert "key file" in err and "not 32 bytes long" in err


def test_a_short_secret_in_the_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(KEY_ENV, "hunter2")
    assert not ResultCache(tmp_path / "cache").enabled
    assert "shorter than 16 characters" in capsys.readouterr().err


# -- the key covers the executable, its interpreter and its packages -------------------------


def fake_venv(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A venv's shape: bin/python, lib/python3.X/site-packages, a tool whose #! names it."""
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("interpreter v1")
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    tool = venv / "bin" / "tool"
    tool.write_text(f"#!{python}\nimport tool\n")
    return tool, python, site


def test_reinstalling_the_same_tool_keeps_its_identity(tmp_path: Path) -> None:
    """A CI job that installs the gate afresh (new mtimes, same files) still gets hits."""
    tool, _, site = fake_venv(tmp_path)
    (site / "bandit-1.9.4.dist-info").mkdir()
    before = executable_identity(str(tool))
    text = tool.read_text()
    tool.unlink()
    tool.write_text(text)
    os.utime(tool, ns=(0, 1))
    os.utime(site, ns=(0, 1))
    assert executable_identity(str(tool)) == before


def test_identity_follows_the_interpreter_and_its_packages(tmp_path: Path) -> None:
    tool, python, site = fake_venv(tmp_path)
    assert script_interpreter(str(tool)) == str(python)
    before = executable_identity(str(tool))
    python.write_text("interpreter v2, same path")
    after_interpreter = executable_identity(str(tool))
    assert after_interpreter != before
    (site / "bandit_plugin_extra").mkdir()
    (site / "__pycache__").mkdir()  # written by any import: not an installation
    assert executable_identity(str(tool)) == after_interpreter
    (site / "bandit_plugin_extra-1.0.dist-info").mkdir()  # a plugin installed beside the tool
    assert executable_identity(str(tool)) != after_interpreter
    after_plugin = executable_identity(str(tool))
    tool.write_text(tool.read_text() + "# upgraded\n")
    assert executable_identity(str(tool)) != after_plugin
    payload = site / "engine"
    payload.write_text("v1")
    with_payload = executable_identity(str(tool), ("engine",))
    payload.write_text("v2 longer")
    assert executable_identity(str(tool), ("engine",)) != with_payload


def test_a_new_interpreter_asks_the_tool_again_and_misses(tmp_path: Path) -> None:
    tool, python, _ = fake_venv(tmp_path)
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    cache = ResultCache(tmp_path / "cache")
    cache.lookup(str(tool), root, ["a.py"], lambda v: f"ns|{v}", version="1.0").store(
        "1.0", {"a.py": {"results": []}}
    )
    warm = ResultCache(tmp_path / "cache")
    assert warm.lookup(str(tool), root, ["a.py"], lambda v: f"ns|{v}").hits
    python.write_text("another build of the interpreter")
    cold = ResultCache(tmp_path / "cache")
    assert cold.known_version(str(tool)) is None
    assert not cold.lookup(str(tool), root, ["a.py"], lambda v: f"ns|{v}", version="1.0").hits


def test_a_new_tool_version_misses(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n")
    cache = ResultCache(tmp_path / "cache")
    cache.lookup(str(tool), root, ["a.py"], lambda v: f"ns|{v}", version="1.8").store(
        "1.8", {"a.py": {"results": []}}
    )
    assert cache.lookup(str(tool), root, ["a.py"], lambda v: f"ns|{v}", version="1.8").hits
    assert not cache.lookup(str(tool), root, ["a.py"], lambda v: f"ns|{v}", version="1.9").hits


@pytest.mark.parametrize(
    ("first_line", "second_line", "expected"),
    [
        ("#!/opt/py/bin/python3 -E", "", "/opt/py/bin/python3"),
        (
            "#!/bin/sh",
            '\'\'\'exec\' "/very long/venv/bin/python" "$0" "$@"',
            "/very long/venv/bin/python",
        ),
        ("#!/usr/bin/env -S sh", "", shutil.which("sh")),
        ("\x7fELF", "", None),
    ],
)
def test_shebangs_name_the_interpreter(
    tmp_path: Path, first_line: str, second_line: str, expected: str | None
) -> None:
    tool = tmp_path / "tool"
    tool.write_text(f"{first_line}\n{second_line}\n")
    assert script_interpreter(str(tool)) == expected


def test_site_packages_of_a_venv_interpreter(tmp_path: Path) -> None:
    _, python, site = fake_venv(tmp_path)
    assert site_packages(str(python)) == [site.resolve()]


# -- the key covers what the adapters hand the tools ------------------------------------------


def test_semgrep_key_follows_the_resolved_rules_and_the_timeout(tmp_path: Path) -> None:
    from compliance.scanners.semgrep import _namespace, _options
    from compliance.scanners.semgrep_rules import load_rule_set

    rules = tmp_path / "rules.yml"
    rule = "rules:\n- id: r\n  pattern: eval(...)\n  message: m\n  languages: [python]\n"
    rules.write_text(rule + "  severity: ERROR\n")
    context = _options({})
    first = _namespace("1.0", load_rule_set([rules]), context)
    assert _namespace("1.0", load_rule_set([rules]), context) == first
    rules.write_text(rule + "  severity: WARNING\n")
    assert _namespace("1.0", load_rule_set([rules]), context) != first
    slower = _options({"rule_timeout": 5})
    assert _namespace("1.0", load_rule_set([rules]), slower) != _namespace(
        "1.0", load_rule_set([rules]), context
    )


def test_bandit_key_follows_every_applied_settings_file(tmp_path: Path) -> None:
    from compliance.scanners.bandit import _namespace
    from compliance.scanners.bandit_config import bandit_plan
    from compliance.scanners.bandit_python import Interpreter

    root = tmp_path / "tree"
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    (root / ".bandit").write_text("[bandit]\nconfigfile = conf/bandit.yml\nbaseline = b.json\n")
    (root / "conf").mkdir()
    (root / "conf" / "bandit.yml").write_text("skips: [B101]\n")
    (root / "b.json").write_text('{"results": []}')

    py313 = Interpreter((3, 13, 0), "/opt/python3.13")

    def key(mode: str, python: Interpreter = py313) -> str:
        return _namespace("1.9.4", bandit_plan(root, ["a.py"], mode), python)

    applied, reported, ignored = key("apply"), key("report"), key("ignore")
    assert len({applied, reported, ignored}) == 3
    (root / "conf" / "bandit.yml").write_text("skips: [B101, B602]\n")  # a file .bandit names
    assert key("apply") != applied and key("report") == reported
    changed = key("apply")
    (root / "b.json").write_text('{"results": [], "note": "other"}')
    assert key("apply") != changed
    assert _namespace("1.9.5", bandit_plan(root, ["a.py"], "report"), py313) != reported
    # the Python bandit parses with decides what parses: part of the key
    assert key("report", Interpreter((3, 11, 7), "/opt/python3.11")) != reported
    assert key("report", Interpreter((3, 13, 1), "/opt/python3.13")) != reported
