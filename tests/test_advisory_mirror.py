"""The advisory mirror: loading, the cached index, and the OSV HTTP API over loopback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compliance.advisories import AdvisoryDbError, AdvisoryIndex, running_mirror
from compliance.advisories.server import MirrorServer
from tests.osv_records import RECORDS, write_osv_zip, write_pypa_layout

COMPLIANCE = str(Path(sys.executable).with_name("compliance"))  # the installed console script
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post(url: str, body: Any) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    try:
        with NO_PROXY.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def get(url: str) -> tuple[int, Any]:
    try:
        with NO_PROXY.open(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[MirrorServer]:
    index = AdvisoryIndex.open(write_pypa_layout(tmp_path / "db"), tmp_path / "cache")
    with running_mirror(index) as server:
        yield server
    index.close()


def vuln_ids(answer: Any) -> set[str]:
    return {v["id"] for v in answer.get("vulns", [])}


def test_query_matches_like_pip_audit_asks(mirror: MirrorServer) -> None:
    status, answer = post(
        mirror.query_url, {"package": {"name": "demo-pkg", "ecosystem": "PyPI"}, "version": "2.1"}
    )
    assert status == 200 and vuln_ids(answer) == {"PYSEC-9000-1"}
    record = answer["vulns"][0]
    assert record["aliases"] == ["CVE-9000-0001", "GHSA-aaaa-bbbb-cccc"]
    status, answer = post(
        mirror.query_url, {"package": {"name": "demo-pkg", "ecosystem": "PyPI"}, "version": "1.7"}
    )
    assert status == 200 and answer == {}  # osv.dev's "nothing": pip-audit reads it as none


def test_query_canonicalises_names_in_questions_and_answers(mirror: MirrorServer) -> None:
    _, answer = post(
        mirror.query_url,
        {"package": {"name": "WEIRD.name_pkg", "ecosystem": "PyPI"}, "version": "3.1"},
    )
    assert vuln_ids(answer) == {"GHSA-9000-weird-name"}
    assert answer["vulns"][0]["affected"][0]["package"]["name"] == "weird-name-pkg"


def test_query_by_purl_and_without_version(mirror: MirrorServer) -> None:
    _, answer = post(mirror.query_url, {"package": {"purl": "pkg:pypi/last-pkg@1.4"}})
    assert vuln_ids(answer) == {"PYSEC-9000-4"}
    _, answer = post(mirror.query_url, {"package": {"name": "demo-pkg", "ecosystem": "PyPI"}})
    assert vuln_ids(answer) == {"PYSEC-9000-1"}  # every live record, not the withdrawn one


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"package": {"name": "demo-pkg", "ecosystem": "npm"}, "version": "1"}, "PyPI only"),
        ({"commit": "deadbeef"}, "commit queries"),
        ({"version": "1.0"}, "'package' is required"),
        (b"{not json", "not JSON"),
    ],
)
def test_questions_it_cannot_answer_are_400_not_empty(
    mirror: MirrorServer, body: Any, message: str
) -> None:
    status, answer = post(mirror.query_url, body)
    assert status == 400 and message in answer["message"]


def test_querybatch(mirror: MirrorServer) -> None:
    queries = [
        {"package": {"name": "demo-pkg", "ecosystem": "PyPI"}, "version": "1.2"},
        {"package": {"name": "versions-only", "ecosystem": "PyPI"}, "version": "1.0.0"},
        {"package": {"name": "nothing-here", "ecosystem": "PyPI"}, "version": "1.0"},
    ]
    status, answer = post(mirror.base_url + "/v1/querybatch", {"queries": queries})
    assert status == 200
    assert [sorted(v["id"] for v in r.get("vulns", [])) for r in answer["results"]] == [
        ["PYSEC-9000-1"],
        ["PYSEC-9000-3"],
        [],
    ]


def test_get_record_by_id(mirror: MirrorServer) -> None:
    status, record = get(mirror.base_url + "/v1/vulns/PYSEC-9000-1")
    assert status == 200 and record["severity"][0]["type"] == "CVSS_V3"
    status, _ = get(mirror.base_url + "/v1/vulns/PYSEC-0000-0")
    assert status == 404


def test_index_is_cached_and_rebuilt_when_a_record_changes(tmp_path: Path) -> None:
    db = write_pypa_layout(tmp_path / "db")
    first = AdvisoryIndex.open(db, tmp_path / "cache")
    assert first.stats.built and first.stats.records == len(RECORDS)
    assert first.stats.withdrawn == 1
    first.close()
    second = AdvisoryIndex.open(db, tmp_path / "cache")
    assert not second.stats.built
    second.close()
    changed = db / "versions-only" / "PYSEC-9000-3.json"
    record = json.loads(changed.read_text())
    record["affected"][0]["versions"].append("1.2")
    changed.write_text(json.dumps(record))
    os.utime(changed, ns=(time.time_ns(), time.time_ns() + 10**9))
    third = AdvisoryIndex.open(db, tmp_path / "cache")
    assert third.stats.built
    assert third.query("versions-only", "1.2")  # the edit is served, nothing stale
    third.close()


def test_osv_zip_export_loads(tmp_path: Path) -> None:
    index = AdvisoryIndex.open(write_osv_zip(tmp_path / "all.zip"), tmp_path / "cache")
    assert index.stats.records == len(RECORDS)
    assert [json.loads(b)["id"] for b in index.query("Demo_Pkg", "3.5")] == ["PYSEC-9000-1"]
    index.close()


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    db = write_pypa_layout(tmp_path / "db")
    (db / "demo-pkg" / "PYSEC-9000-9.yaml").write_text("id: X\naffected: [\n  - oops: {\n")
    with pytest.raises(AdvisoryDbError, match=r"PYSEC-9000-9\.yaml:\d+: invalid YAML"):
        AdvisoryIndex.open(db, tmp_path / "cache")


def test_unquoted_yaml_version_is_refused(tmp_path: Path) -> None:
    """`fixed: 1.10` is the number 1.1 to YAML: matching it would be silently wrong."""
    db = tmp_path / "db"
    db.mkdir()
    (db / "X.yaml").write_text(
        "id: X\naffected:\n- package: {name: p, ecosystem: PyPI}\n  ranges:\n"
        "  - type: ECOSYSTEM\n    events:\n    - introduced: '0'\n    - fixed: 1.10\n"
    )
    with pytest.raises(AdvisoryDbError, match="quote it"):
        AdvisoryIndex.open(db, tmp_path / "cache")


def test_serve_command_answers_over_loopback(tmp_path: Path) -> None:
    db = write_pypa_layout(tmp_path / "db")
    env = {**os.environ, "COMPLIANCE_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen(
        [COMPLIANCE, "advisories", "serve", str(db), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1/query)", line)
        assert match, line
        assert "5 advisories (1 withdrawn) for 4 packages" in line
        _, answer = post(
            match.group(1),
            {"package": {"name": "versions-only", "ecosystem": "PyPI"}, "version": "1.1"},
        )
        assert vuln_ids(answer) == {"PYSEC-9000-3"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_command_bad_db_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "X.json").write_text("{broken")
    run = subprocess.run(
        [COMPLIANCE, "advisories", "serve", str(tmp_path / "db")],
        capture_output=True,
        text=True,
        env={**os.environ, "COMPLIANCE_CACHE_DIR": str(tmp_path / "cache")},
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("error: ") and "X.json:1: invalid JSON" in run.stderr
    assert "Traceback" not in run.stderr


def test_yaml_timestamps_are_served_as_rfc3339(tmp_path: Path) -> None:
    """pip-audit parses `published` strictly; YAML turns unquoted timestamps into datetimes."""
    db = tmp_path / "db"
    db.mkdir()
    (db / "T.yaml").write_text(
        "id: T\npublished: 2021-01-11 10:15:00Z\nmodified: 2021-01-12 10:15:00.5+01:00\n"
        "affected:\n- package: {name: p, ecosystem: PyPI}\n  versions: ['1.0']\n"
    )
    index = AdvisoryIndex.open(db, tmp_path / "cache")
    (body,) = index.query("p", "1.0")
    record = json.loads(body)
    assert record["published"] == "2021-01-11T10:15:00Z"
    assert record["modified"] == "2021-01-12T09:15:00.500000Z"
    index.close()
