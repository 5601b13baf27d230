"""The result cache: keys follow content, a broken cache only costs time."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.cache import ResultCache, default_directory


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
