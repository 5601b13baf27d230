"""The index engine (`dependencies.engine: index`, the default with `--advisory-db`) against
the pip-audit engine: the same fixtures give the same findings, severities, fix versions
and fingerprints. The pip-audit side is the real pip-audit against the real loopback
mirror; no traffic leaves 127.0.0.1. An unusable database is exit 2 with either engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.osv_records import RECORDS, write_pypa_layout
from tests.test_pip_audit_e2e import MAIN, scan, write_policy, write_tree

pytestmark = pytest.mark.e2e

MORE_RECORDS: list[dict[str, Any]] = [
    {  # aliases a PYSEC record that also matches: pip-audit folds it into that one
        "id": "GHSA-9000-dupe-of-one",
        "summary": "The same flaw as PYSEC-9000-1, under its GHSA id",
        "aliases": ["PYSEC-9000-1", "CVE-9000-0099"],
        "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"name": "demo-pkg", "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}]}],
            }
        ],
    },
    {  # no summary: the description is the details, on one line; two affected entries
        "id": "GHSA-9000-two-entries",
        "details": "First line.\nSecond line.",
        "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"name": "lock-pkg", "ecosystem": "PyPI"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.5"}]}
                ],
            },
            {
                "package": {"name": "Lock_Pkg", "ecosystem": "PyPI"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"fixed": "2.1.0"}]},
                    {"type": "ECOSYSTEM", "events": [{"introduced": "3.0"}, {"fixed": "3.1"}]},
                ],
            },
        ],
    },
    {  # neither summary nor details
        "id": "PYSEC-9000-bare",
        "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"name": "deep-pkg", "ecosystem": "PyPI"}, "versions": ["0.9"]}],
    },
]

LOCK = """lock-version = "1.0"
created-by = "tests"

[[packages]]
name = "lock-pkg"
version = "1.0"
dependencies = [{name = "deep-pkg"}]

[[packages]]
name = "deep-pkg"
version = "0.9"

[[packages]]
name = "demo-pkg"
version = "1.2"
"""

COMPARED = (
    "rule_id", "severity", "title", "message", "path", "package", "version", "evidence",
    "fingerprint", "remediation", "fix_versions", "blocking",
)  # fmt: skip


def shape(findings: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a finding says, references as a set (pip-audit prints aliases in set order)."""
    rows = []
    for f in findings:
        fields = tuple(repr(f.get(k)) for k in COMPARED)
        rows.append((*fields, tuple(sorted(f.get("references") or ()))))
    return sorted(rows)


def both_engines(tmp: Path, tree: Path, db: Path) -> tuple[Any, ...]:
    runs = {}
    for engine in ("index", "pip-audit"):
        folder = tmp / engine
        folder.mkdir()
        policy = write_policy(folder / "policy.yml", f"dependencies:\n  engine: {engine}\n")
        runs[engine] = scan(folder, tree, "--advisory-db", str(db), policy=policy)
    return runs["index"], runs["pip-audit"]


@pytest.mark.parametrize(
    "files",
    [
        {name: "\n".join(lines) + "\n" for name, lines in MAIN.items()},
        {"pylock.toml": LOCK, "requirements.txt": "demo-pkg==2.1\nlast-pkg==1.4\n"},
    ],
    ids=["requirements", "lock"],
)
def test_index_engine_equals_pip_audit(tmp_path: Path, files: dict[str, str]) -> None:
    db = write_pypa_layout(tmp_path / "advisories", [*RECORDS, *MORE_RECORDS])
    tree = tmp_path / "tree"
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text, encoding="utf-8")
    (index, by_index), (pip_audit, by_pip_audit) = both_engines(tmp_path, tree, db)
    assert index.returncode == pip_audit.returncode == 1, (index.stderr, pip_audit.stderr)
    assert by_index and shape(by_index) == shape(by_pip_audit)


def test_index_engine_merges_aliases_as_pip_audit_does(tmp_path: Path) -> None:
    db = write_pypa_layout(tmp_path / "advisories", [*RECORDS, *MORE_RECORDS])
    tree = write_tree(tmp_path / "tree", {"requirements.txt": ["demo-pkg==1.2"]})
    run, findings = scan(tmp_path, tree, "--advisory-db", str(db))
    assert run.returncode == 1, run.stderr
    rules = [f["rule_id"] for f in findings]
    assert "GHSA-9000-dupe-of-one" not in rules, rules  # PYSEC-9000-1 by another name
    # [id, *aliases] sorted PYSEC first names the GHSA record PYSEC-9000-1 too; pip-audit
    # keeps both PYSEC results and folds the real one's aliases into the first (the same
    # fingerprint twice, as pip-audit reports it: test_index_engine_equals_pip_audit)
    assert set(rules) == {"PYSEC-9000-1"}
    merged = {"CVE-9000-0001", "GHSA-aaaa-bbbb-cccc", "CVE-9000-0099", "GHSA-9000-dupe-of-one"}
    assert merged in [set(f["references"]) for f in findings]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("garbage", "the advisory database cannot be used: "),
        ("empty", "the advisory database cannot be used: it holds no records"),
    ],
)
@pytest.mark.parametrize("engine", ["index", "pip-audit"])
def test_unusable_database_exits_2(
    tmp_path: Path, engine: str, breakage: str, message: str
) -> None:
    db = tmp_path / "advisories"
    if breakage == "garbage":
        write_pypa_layout(db)
        (db / "vulns" / "demo-pkg" / "PYSEC-9000-9.yaml").write_text("id: X\naffected: [\n")
    else:
        (db / "vulns").mkdir(parents=True)
    tree = write_tree(tmp_path / "tree", {"requirements.txt": ["demo-pkg==1.2"]})
    policy = write_policy(tmp_path / "policy.yml", f"dependencies:\n  engine: {engine}\n")
    run, _ = scan(tmp_path, tree, "--advisory-db", str(db), policy=policy)
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_index_engine_needs_a_local_database(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", {"requirements.txt": ["demo-pkg==1.2"]})
    policy = write_policy(tmp_path / "policy.yml", "dependencies:\n  engine: index\n")
    run, _ = scan(tmp_path, tree, policy=policy)
    assert run.returncode == 2
    assert "dependencies.engine: index needs a local advisory database" in run.stderr
