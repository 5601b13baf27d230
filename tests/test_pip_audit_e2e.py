"""The dependency gate end to end: the real `compliance scan`, the real pip-audit, the real
mirror on loopback, small OSV records written for the tests. No traffic leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.osv_records import RECORDS, brute_force, write_pypa_layout

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
COMPLIANCE = str(BIN / "compliance")
SHARED_DB = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pypa-advisory-db"

MAIN = {
    "requirements.txt": [
        "demo-pkg==1.2",
        "Weird_Name.Pkg==3.1",
        "versions-only==1.1.0",
        "last-pkg==1.4",
        "clean-pkg==1.0",
    ],
    "requirements-dev.txt": ["demo-pkg==2.1", "last-pkg==1.4.1", "weird-name-pkg==3.2"],
}


def write_tree(root: Path, files: dict[str, list[str]]) -> Path:
    for name, lines in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def write_policy(path: Path, extra: str = "") -> Path:
    path.write_text(
        "version: 1\nscanners: [pip-audit]\nwaivers: null\nunknown_severity: low\n" + extra,
        encoding="utf-8",
    )
    return path


def scan(
    tmp: Path, tree: Path, *args: str, policy: Path | None = None, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    db = tmp / "store.sqlite"
    full_env = {**os.environ, "COMPLIANCE_CACHE_DIR": str(tmp / "cache"), **(env or {})}
    policy = policy or write_policy(tmp / "policy.yml")
    run = subprocess.run(
        [COMPLIANCE, "scan", str(tree), "--db", str(db), "--policy", str(policy), *args],
        capture_output=True, text=True, env=full_env, timeout=300,
    )  # fmt: skip
    listed = subprocess.run(
        [COMPLIANCE, "findings", "--db", str(db), "--json"],
        capture_output=True, text=True, env=full_env, timeout=60,
    )  # fmt: skip
    findings = json.loads(listed.stdout) if listed.returncode == 0 else []
    return run, findings


def test_mirror_findings_equal_an_independent_matcher(tmp_path: Path) -> None:
    db = write_pypa_layout(tmp_path / "advisories")
    tree = write_tree(tmp_path / "tree", MAIN)
    run, findings = scan(tmp_path, tree, "--advisory-db", str(db))
    assert run.returncode == 1, run.stderr  # a critical advisory blocks
    record_ids = {r["id"] for r in RECORDS}

    def record_id(f: dict[str, Any]) -> str:
        """pip-audit names an advisory by PYSEC/CVE id first; the OSV record id may be an alias."""
        (found,) = {f["rule_id"], *f["references"]} & record_ids
        return str(found)

    got = {(f["path"], f["package"], f["version"], record_id(f)) for f in findings}
    expected = set()
    for path, lines in MAIN.items():
        for line in lines:
            name, version = line.split("==")
            canonical = name.lower().replace("_", "-").replace(".", "-")
            expected |= {(path, canonical, version, i) for i in brute_force(RECORDS, name, version)}
    assert got == expected
    assert ("requirements-dev.txt", "weird-name-pkg", "3.2", "GHSA-9000-weird-name") not in got
    by_rule = {(record_id(f), f["version"]): f for f in findings}
    weird = by_rule[("GHSA-9000-weird-name", "3.1")]
    assert weird["fix_versions"] == ["3.2.0"]  # pip-audit read it: the name was canonicalised
    assert weird["rule_id"] == "CVE-9000-0003"  # pip-audit's choice of primary id
    assert weird["references"] == ["GHSA-9000-weird-name"]
    assert weird["severity"] == "medium"  # database_specific MODERATE
    assert by_rule[("PYSEC-9000-1", "1.2")]["severity"] == "critical"  # CVSS 9.8
    assert by_rule[("PYSEC-9000-3", "1.1.0")]["severity"] == "low"  # none given: policy's
    assert by_rule[("PYSEC-9000-3", "1.1.0")]["fix_versions"] == []
    # the fingerprint follows manifest + package + advisory: the same pin in the dev file
    # and in production are two findings (moving it to production is a new one)
    assert (
        by_rule[("PYSEC-9000-1", "1.2")]["fingerprint"]
        != by_rule[("PYSEC-9000-1", "2.1")]["fingerprint"]
    )


def test_unpinned_dependency_exits_2_naming_it(tmp_path: Path) -> None:
    db = write_pypa_layout(tmp_path / "advisories")
    tree = write_tree(
        tmp_path / "tree",
        {
            "requirements.txt": ["clean-pkg==1.0", "flask>=2", "-e ./local-thing"],
            "pyproject.toml": ['[project]\nname = "x"\nversion = "1"\ndependencies = ["click"]'],
        },
    )
    run, _ = scan(tmp_path, tree, "--advisory-db", str(db))
    assert run.returncode == 2, run.stderr
    assert "requirements.txt:2: flask could not be audited: not pinned to one version (>=2)" in (
        run.stderr
    )
    assert "requirements.txt:3: -e ./local-thing could not be audited: an editable" in run.stderr
    assert "pyproject.toml:4: click could not be audited: not pinned" in run.stderr
    assert "dependencies.unpinned: warn" in run.stderr  # says how to accept it


def test_skips_pass_only_when_the_policy_says_so(tmp_path: Path) -> None:
    db = write_pypa_layout(tmp_path / "advisories")
    tree = write_tree(tmp_path / "tree", {"requirements.txt": ["clean-pkg==1.0", "flask>=2"]})
    policy = write_policy(tmp_path / "lenient.yml", "errors:\n  dependencies.unpinned: warn\n")
    run, _ = scan(tmp_path, tree, "--advisory-db", str(db), policy=policy)
    assert run.returncode == 0, run.stderr
    assert "flask" in run.stdout + run.stderr  # still shown as a warning


def test_offline_without_a_mirror_exits_2(tmp_path: Path) -> None:
    """Offline is simulated by a closed loopback port; the real internet is never touched."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    policy = write_policy(
        tmp_path / "offline.yml", f"dependencies:\n  osv_url: http://127.0.0.1:{port}/v1/query\n"
    )
    tree = write_tree(tmp_path / "tree", {"requirements.txt": ["clean-pkg==1.0"]})
    run, _ = scan(tmp_path, tree, policy=policy)
    assert run.returncode == 2
    assert "could not reach the advisory service" in run.stderr
    assert "--advisory-db" in run.stderr  # says what to do


def test_only_fixable_policy_lets_unfixable_advisories_pass(tmp_path: Path) -> None:
    db = write_pypa_layout(tmp_path / "advisories")
    tree = write_tree(tmp_path / "tree", {"requirements.txt": ["versions-only==1.0"]})
    strict = write_policy(tmp_path / "strict.yml", "gate:\n  fail_on: low\n")
    run, findings = scan(tmp_path, tree, "--advisory-db", str(db), policy=strict)
    assert run.returncode == 1 and findings[0]["blocking"]
    lenient = write_policy(
        tmp_path / "fixable.yml", "gate:\n  fail_on: low\ndependencies:\n  only_fixable: true\n"
    )
    run, findings = scan(tmp_path, tree, "--advisory-db", str(db), policy=lenient)
    assert run.returncode == 0, run.stderr
    assert not findings[0]["blocking"] and "only_fixable" in findings[0]["note"]


FAKE = """#!{python}
import json, os, sys
if "--version" in sys.argv:
    print("pip-audit 0.0-fake"); sys.exit(0)
out = sys.argv[sys.argv.index("--output") + 1]
mode = os.environ["FAKE_PIP_AUDIT"]
if mode == "skip":
    json.dump({{"dependencies": [{{"name": "clean-pkg", "skip_reason": "not found"}}],
               "fixes": []}}, open(out, "w"))
elif mode == "crash":
    sys.stderr.write("Traceback ...\\nKeyError: 'boom'\\n"); sys.exit(1)
sys.exit(0)
"""


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        # garbage, a dropped package, other crashes: tests/test_fail_closed_matrix.py
        ("skip", "clean-pkg could not be audited: pip-audit skipped it: not found"),
        # exit 1 is also pip-audit's "vulnerabilities found": without a report it is a crash
        ("crash", "pip-audit exited with code 1: Traceback ... | KeyError: 'boom'"),
    ],
)
def test_pip_audit_misbehaving_exits_2(tmp_path: Path, mode: str, message: str) -> None:
    """A stand-in pip-audit (COMPLIANCE_PIP_AUDIT_BIN): the real one cannot be made to skip a
    pinned package or crash on demand, so this fake shows those faults."""
    fake = tmp_path / "pip-audit"
    fake.write_text(FAKE.format(python=sys.executable))
    fake.chmod(0o755)
    tree = write_tree(tmp_path / "tree", {"requirements.txt": ["clean-pkg==1.0"]})
    db = write_pypa_layout(tmp_path / "advisories")
    policy = write_policy(tmp_path / "engine.yml", "dependencies:\n  engine: pip-audit\n")
    run, _ = scan(
        tmp_path,
        tree,
        "--advisory-db",
        str(db),
        policy=policy,
        env={"COMPLIANCE_PIP_AUDIT_BIN": str(fake), "FAKE_PIP_AUDIT": mode},
    )
    assert run.returncode == 2
    assert message in run.stderr


@pytest.mark.skipif(not SHARED_DB.is_dir(), reason="needs ../shared/data/pypa-advisory-db")
def test_pypa_database_through_the_mirror_equals_brute_force(tmp_path: Path) -> None:
    """Optional: real PyPA records (read in place, never copied) for a sample of packages."""
    import yaml
    from packaging.version import InvalidVersion, Version

    records, pins = [], []
    for folder in sorted((SHARED_DB / "vulns").iterdir())[:400:20]:
        loaded = [yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml"))]
        try:  # the brute force only speaks PEP 440; skip packages with legacy versions
            bounds = {
                v
                for r in loaded
                for a in r["affected"]
                for rng in a.get("ranges", [])
                if rng["type"] == "ECOSYSTEM"
                for e in rng["events"]
                for v in e.values()
            } | {v for r in loaded for a in r["affected"] for v in a.get("versions", [])}
            versions = sorted({Version(v) for v in bounds if v != "0"})
        except InvalidVersion:
            continue
        records += loaded
        if versions:
            pins.append((folder.name, str(versions[len(versions) // 2])))
    tree = write_tree(tmp_path / "tree", {"requirements.txt": [f"{n}=={v}" for n, v in pins]})
    run, findings = scan(tmp_path, tree, "--advisory-db", str(SHARED_DB))
    assert run.returncode in (0, 1), run.stderr
    got = {(f["package"], i) for f in findings for i in (f["rule_id"], *f["references"])}
    expected = {(n, i) for n, v in pins for i in brute_force(records, n, v)}
    got = {item for item in got if item[1] in {r["id"] for r in records}}
    assert got == expected and expected


def test_environment_audit_reads_the_installed_packages(tmp_path: Path) -> None:
    """`dependencies.environment: true` audits what is installed for the gate's Python."""
    from importlib.metadata import version

    installed = version("click")
    record = {
        "id": "PYSEC-9000-8",
        "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"name": "Click", "ecosystem": "PyPI"}, "versions": [installed]}],
    }
    db = write_pypa_layout(tmp_path / "advisories", [*RECORDS, record])
    tree = write_tree(tmp_path / "tree", {"requirements.txt": ["clean-pkg==1.0"]})
    policy = write_policy(tmp_path / "env.yml", "dependencies:\n  environment: true\n")
    run, findings = scan(tmp_path, tree, "--advisory-db", str(db), policy=policy)
    assert run.returncode == 0, run.stderr  # unknown severity is low in these tests
    (finding,) = findings
    assert (finding["package"], finding["version"], finding["rule_id"]) == (
        "click",
        installed,
        "PYSEC-9000-8",
    )
    assert finding["path"] is None
