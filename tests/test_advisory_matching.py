"""OSV matching rules, unit by unit, and against a brute-force matcher on random ranges."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from compliance.advisories.matching import (
    canonical_record,
    compile_affected,
    compile_range,
    fixed_versions,
    matching_ids,
)
from compliance.advisories.severity import record_severity
from compliance.findings import Severity
from tests.osv_records import RECORDS, _affected_by_range, brute_force


def ids(name: str, version: str) -> set[str]:
    entries = [e for r in RECORDS for e in compile_affected(r) if e.name == name]
    return set(matching_ids(entries, version))


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("0.9", False),
        ("1.0", True),
        ("1.4.9", True),
        ("1.5", False),
        ("1.9", False),
        ("2.0.0", True),
        ("2.2", True),
        ("2.3", False),
        ("2.3.0", False),
        ("2.10", False),  # 2.10 > 2.3 as versions, < as strings
        ("3.0", True),
        ("99", True),
        ("3.0rc1", False),  # a pre-release of 3.0 sorts before it
    ],
)
def test_several_unsorted_pairs(version: str, affected: bool) -> None:
    assert ("PYSEC-9000-1" in ids("demo-pkg", version)) is affected


def test_withdrawn_record_never_matches() -> None:
    assert "PYSEC-9000-2" not in ids("demo-pkg", "0.1")
    assert compile_affected(RECORDS[1]) == []


def test_git_ranges_are_ignored_and_other_ecosystems_skipped() -> None:
    (entry,) = compile_affected(RECORDS[0])
    assert len(entry.ranges) == 1  # the GIT range is not compiled
    assert compile_affected(RECORDS[5]) == []  # npm


def test_versions_only_record() -> None:
    assert ids("versions-only", "1.1") == {"PYSEC-9000-3"}
    assert ids("versions-only", "1.1.0") == {"PYSEC-9000-3"}  # PEP 440: 1.1 == 1.1.0
    assert ids("versions-only", "1.2") == set()


def test_names_are_canonicalised_and_3_2_equals_3_2_0() -> None:
    (entry,) = compile_affected(RECORDS[3])
    assert entry.name == "weird-name-pkg"
    assert ids("weird-name-pkg", "3.1.9") == {"GHSA-9000-weird-name"}
    assert ids("weird-name-pkg", "3.2") == set()  # fixed: 3.2.0
    assert ids("weird-name-pkg", "3.1") == {"GHSA-9000-weird-name"}  # listed as 3.1.0
    assert ids("last-pkg", "3.2.0") == {"PYSEC-9000-4"}  # listed as 3.2


def test_last_affected_is_inclusive() -> None:
    assert ids("last-pkg", "1.4") == {"PYSEC-9000-4"}
    assert ids("last-pkg", "1.4.0") == {"PYSEC-9000-4"}
    assert ids("last-pkg", "1.4.1") == set()
    assert ids("last-pkg", "0.9") == set()


def test_limit_bounds_the_range() -> None:
    rng = compile_range({"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"limit": "2.0"}]})
    assert rng is not None
    assert rng.contains(Version("1.9")) and not rng.contains(Version("2.0"))


def test_unreadable_fixed_version_keeps_the_range_open() -> None:
    """Documented choice: an unreadable bound errs on reporting, never on hiding."""
    rng = compile_range(
        {"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"fixed": "2019-09-1x"}]}
    )
    assert rng is not None and rng.contains(Version("5.0"))


def test_fixed_versions_sorted_as_versions() -> None:
    record = {
        "id": "X",
        "affected": [
            {
                "package": {"name": "P", "ecosystem": "PyPI"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "0"}, {"fixed": "1.10"}, {"fixed": "1.9"}],
                    }
                ],
            }
        ],
    }
    assert fixed_versions(record, "p") == ["1.9", "1.10"]


def test_canonical_record_rewrites_pypi_names_only() -> None:
    record = canonical_record(RECORDS[3])
    assert record["affected"][0]["package"]["name"] == "weird-name-pkg"
    assert RECORDS[3]["affected"][0]["package"]["name"] == "Weird_Name.Pkg"  # not mutated


def test_severity_from_cvss_database_specific_or_none() -> None:
    assert record_severity(RECORDS[0]) is Severity.CRITICAL  # CVSS 9.8
    assert record_severity(RECORDS[3]) is Severity.MEDIUM  # GitHub's MODERATE
    assert record_severity(RECORDS[2]) is None  # the caller applies unknown_severity
    bad = {"severity": [{"type": "CVSS_V3", "score": "not a vector"}]}
    assert record_severity(bad) is None


def test_fixture_matcher_agrees_with_brute_force() -> None:
    for name in ("demo-pkg", "versions-only", "Weird_Name.Pkg", "last-pkg"):
        for version in ("0.5", "1.0", "1.1", "1.4", "1.4.1", "2.1", "3.1", "3.2", "3.2.0", "4"):
            canonical = name.lower().replace("_", "-").replace(".", "-")
            assert ids(canonical, version) == brute_force(RECORDS, name, version)


versions = st.tuples(st.integers(0, 6), st.integers(0, 3)).map(lambda t: f"{t[0]}.{t[1]}")


@settings(max_examples=300, deadline=None)
@given(
    bounds=st.lists(versions, min_size=1, max_size=8, unique=True),
    probe=versions,
    seed=st.integers(0, 1000),
    kinds=st.lists(st.sampled_from(["fixed", "last_affected", "open"]), min_size=4, max_size=4),
)
def test_random_ranges_agree_with_brute_force(
    bounds: list[str], probe: str, seed: int, kinds: list[str]
) -> None:
    ordered = sorted(bounds, key=Version)
    events: list[dict[str, str]] = []
    for i in range(0, len(ordered), 2):  # disjoint [introduced, fixed) pairs …
        events.append({"introduced": ordered[i]})
        kind = kinds[(i // 2) % 4]
        if i + 1 < len(ordered) and kind != "open":
            events.append({kind: ordered[i + 1]})
        elif kind == "open":
            break
    random.Random(seed).shuffle(events)  # … listed in any order
    rng = compile_range({"type": "ECOSYSTEM", "events": events})
    assert rng is not None
    assert rng.contains(Version(probe)) is _affected_by_range(Version(probe), events)


def test_served_record_has_no_bound_pip_audit_cannot_read() -> None:
    """pip-audit parses every `fixed` with packaging and crashes the whole audit on one it
    cannot read; the served record drops it, as the matcher does, and says so."""
    record = {
        "id": "X",
        "affected": [
            {
                "package": {"name": "P", "ecosystem": "PyPI"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "1.0"}, {"fixed": "0.2.0-n653"}],
                    },
                    {"type": "GIT", "events": [{"introduced": "0"}, {"fixed": "abc123"}]},
                ],
            }
        ],
    }
    served = canonical_record(record)
    ranges = served["affected"][0]["ranges"]
    assert ranges[0]["events"] == [{"introduced": "1.0"}]
    assert ranges[1] == record["affected"][0]["ranges"][1]  # GIT ranges untouched
    assert served["database_specific"]["unreadable_versions_rewritten"] == [{"fixed": "0.2.0-n653"}]
    assert set(matching_ids(compile_affected(served), "5.0")) == {"X"}
    assert set(matching_ids(compile_affected(record), "5.0")) == {"X"}
