"""Every manifest kind end to end: the real `compliance scan`, the real pip-audit, the real
mirror on loopback (and, for resolution, a real pip against a package index on loopback).
Fixtures are written here; no traffic leaves 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.osv_records import write_pypa_layout
from tests.package_index import serve_index, write_wheel
from tests.test_pip_audit_e2e import scan, write_policy

pytestmark = pytest.mark.e2e

PYSEC = "PYSEC-9000-1"  # demo-pkg 1.0-1.5 and 2.0-2.3: critical; 1.5 fixes 1.2
PIPFILE_LOCK = json.dumps(
    {
        "_meta": {"hash": {}},
        "default": {"demo-pkg": {"version": "==1.2", "hashes": []}},
        "develop": {},
    }
)
# kind → (files under svc/, the manifest the finding names, its coverage kind)
KINDS: dict[str, tuple[dict[str, str], str, str]] = {
    "requirements": ({"requirements.txt": "demo-pkg==1.2\n"}, "requirements.txt", "requirements"),
    "dev-requirements": (
        {"dev-requirements.txt": "demo-pkg==1.2\n"}, "dev-requirements.txt", "requirements",
    ),
    "requirements-folder": (
        {"requirements/prod.txt": "demo-pkg==1.2\n"}, "requirements/prod.txt", "requirements",
    ),
    "include": (
        {"requirements.txt": "-r common.txt\n", "common.txt": "demo-pkg==1.2\n"},
        "common.txt", "requirements",
    ),
    "constraint": (
        {"requirements.txt": "-c constraints.txt\ndemo-pkg\n",
         "constraints.txt": "demo-pkg==1.2\n"},
        "requirements.txt", "requirements",
    ),
    "requirements-in": (
        {"requirements.in": "demo-pkg\n", "requirements.txt": "demo-pkg==1.2\n"},
        "requirements.txt", "requirements",
    ),
    "pep621": (
        {"pyproject.toml": '[project]\nname = "a"\nversion = "1"\n'
         'dependencies = ["demo-pkg==1.2"]\n'},
        "pyproject.toml", "pyproject",
    ),
    "pep621-optional": (
        {"pyproject.toml": '[project]\nname = "a"\nversion = "1"\n'
         '[project.optional-dependencies]\nweb = ["demo-pkg==1.2"]\n'},
        "pyproject.toml", "pyproject",
    ),
    "pep735": (
        {"pyproject.toml": '[dependency-groups]\ndev = [{include-group = "base"}]\n'
         'base = ["demo-pkg==1.2"]\n'},
        "pyproject.toml", "pyproject",
    ),
    "poetry": (
        {"pyproject.toml": '[tool.poetry]\nname = "a"\n[tool.poetry.dependencies]\n'
         'python = "^3.11"\ndemo-pkg = "1.2"\n'},
        "pyproject.toml", "pyproject",
    ),
    "dynamic": (
        {"pyproject.toml": '[project]\nname = "a"\nversion = "1"\ndynamic = ["dependencies"]\n'
         '[tool.setuptools.dynamic]\ndependencies = {file = ["deps.txt"]}\n',
         "deps.txt": "demo-pkg==1.2\n"},
        "deps.txt", "pyproject",
    ),
    "poetry.lock": (
        {"poetry.lock": '[[package]]\nname = "demo-pkg"\nversion = "1.2"\n'},
        "poetry.lock", "poetry.lock",
    ),
    "uv.lock": (
        {"uv.lock": 'version = 1\n[[package]]\nname = "app"\nversion = "0.1"\n'
         'source = { editable = "." }\ndependencies = [{ name = "demo-pkg" }]\n'
         '[[package]]\nname = "demo-pkg"\nversion = "1.2"\n'
         'source = { registry = "https://pypi.org/simple" }\n'},
        "uv.lock", "uv.lock",
    ),
    "Pipfile.lock": ({"Pipfile.lock": PIPFILE_LOCK}, "Pipfile.lock", "Pipfile.lock"),
    "pdm.lock": (
        {"pdm.lock": '[metadata]\ngroups = ["default"]\n[[package]]\nname = "demo-pkg"\n'
         'version = "1.2"\n'},
        "pdm.lock", "pdm.lock",
    ),
    "pylock.toml": (
        {"pylock.toml": 'lock-version = "1.0"\ncreated-by = "t"\n[[packages]]\n'
         'name = "demo-pkg"\nversion = "1.2"\n'},
        "pylock.toml", "pylock.toml",
    ),
    "Pipfile": ({"Pipfile": '[packages]\ndemo-pkg = "==1.2"\n'}, "Pipfile", "Pipfile"),
    "setup.cfg": (
        {"setup.cfg": "[metadata]\nname = a\n[options]\ninstall_requires =\n    demo-pkg==1.2\n"},
        "setup.cfg", "setup.cfg",
    ),
    "environment.yml": (
        {"environment.yml": "name: a\ndependencies:\n  - python=3.11\n  - pip\n"
         "  - pip:\n    - demo-pkg==1.2\n"},
        "environment.yml", "environment.yml",
    ),
}  # fmt: skip


def write_files(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def advisories(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pypa_layout(tmp_path_factory.mktemp("advisories"))


def by_rule(findings: list[dict[str, Any]], rule: str) -> list[dict[str, Any]]:
    return [f for f in findings if rule in (f["rule_id"], *f["references"])]


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_manifest_kind_is_audited_where_it_lies(
    tmp_path: Path, advisories: Path, kind: str
) -> None:
    files, manifest, coverage_kind = KINDS[kind]
    tree = write_files(tmp_path / "tree", {f"svc/{name}": text for name, text in files.items()})
    run, findings = scan(tmp_path, tree, "--advisory-db", str(advisories))
    assert run.returncode == 1, run.stdout + run.stderr  # critical advisory, no error
    (finding,) = by_rule(findings, PYSEC)
    assert (finding["path"], finding["package"], finding["version"]) == (
        f"svc/{manifest}",
        "demo-pkg",
        "1.2",
    )
    assert "upgrade demo-pkg to 1.5 or later (fixes all its known advisories)" in str(
        finding["remediation"]
    )
    top = next(name for name in files if name not in ("common.txt", "deps.txt", "constraints.txt"))
    assert f"svc/{top} ({coverage_kind}): " in run.stdout  # its own coverage line


def test_requirements_in_without_its_compiled_file_is_unpinned(
    tmp_path: Path, advisories: Path
) -> None:
    tree = write_files(tmp_path / "tree", {"requirements.in": "demo-pkg\n"})
    run, _ = scan(tmp_path, tree, "--advisory-db", str(advisories))
    assert run.returncode == 2
    assert "requirements.in:1: demo-pkg could not be audited: not pinned" in run.stderr


def test_a_bare_name_offline_exits_2_naming_the_line(tmp_path: Path, advisories: Path) -> None:
    tree = write_files(tmp_path / "tree", {"requirements.txt": "demo-pkg==2.5\nFlask\n"})
    run, _ = scan(tmp_path, tree, "--advisory-db", str(advisories))
    assert run.returncode == 2
    assert "requirements.txt:2: flask could not be audited: not pinned to one version" in run.stderr
    assert "dependencies.index_url" in run.stderr and "dependencies.unpinned: warn" in run.stderr
    assert "internal error" not in run.stderr + run.stdout
    lenient = write_policy(tmp_path / "lenient.yml", "errors:\n  dependencies.unpinned: warn\n")
    run, _ = scan(tmp_path, tree, "--advisory-db", str(advisories), policy=lenient)
    assert run.returncode == 0, run.stderr  # downgraded by the policy, explicitly
    assert "flask" in run.stdout + run.stderr


def test_a_vulnerable_transitive_dependency_in_a_lock_names_its_path(
    tmp_path: Path, advisories: Path
) -> None:
    tree = write_files(
        tmp_path / "tree",
        {
            "app/pyproject.toml": '[project]\nname = "app"\nversion = "1"\n'
            'dependencies = ["web-framework>=1"]\n',
            "app/poetry.lock": '[[package]]\nname = "web-framework"\nversion = "1.0"\n'
            '[package.dependencies]\nmiddle = ">=1"\n'
            '[[package]]\nname = "middle"\nversion = "2.0"\n'
            '[package.dependencies]\ndemo-pkg = "*"\n'
            '[[package]]\nname = "demo-pkg"\nversion = "1.2"\n',
        },
    )
    run, findings = scan(tmp_path, tree, "--advisory-db", str(advisories))
    assert run.returncode == 1, run.stderr  # the ranged pyproject is pinned by its lock
    (finding,) = by_rule(findings, PYSEC)
    assert finding["path"] == "app/poetry.lock"
    assert "(transitive; pulled in by web-framework)" in finding["evidence"]
    assert "app/pyproject.toml (pyproject): 1 packages, pinned by app/poetry.lock" in run.stdout
    # the same pin in another manifest is another finding (the path is in the fingerprint)
    write_files(tree, {"tools/requirements-dev.txt": "demo-pkg==1.2\n"})
    _, again = (
        scan(tmp_path / "b", tree, "--advisory-db", str(advisories))
        if ((tmp_path / "b").mkdir() or True)
        else (None, [])
    )
    prints = {f["path"]: f["fingerprint"] for f in by_rule(again, PYSEC)}
    assert set(prints) == {"app/poetry.lock", "tools/requirements-dev.txt"}
    assert len(set(prints.values())) == 2


SUPPLY = [
    ("--index-url https://corp.example/simple", "supply-chain.index-url", "medium"),
    ("--extra-index-url https://corp.example/simple", "supply-chain.extra-index-url", "high"),
    ("--trusted-host corp.example", "supply-chain.trusted-host", "high"),
    ("--extra-index-url http://corp.example/simple", "supply-chain.plain-http", "high"),
    ("git+https://example.invalid/x.git@main#egg=x", "supply-chain.unpinned-vcs", "medium"),
    ("https://example.invalid/y-1.0.tar.gz#egg=y", "supply-chain.unhashed-url", "medium"),
    ("-e ./local-thing", "supply-chain.editable", "low"),
]


@pytest.mark.parametrize(("line", "rule", "severity"), SUPPLY, ids=[r for _, r, _ in SUPPLY])
def test_each_supply_chain_line_is_a_finding(
    tmp_path: Path, advisories: Path, line: str, rule: str, severity: str
) -> None:
    tree = write_files(tmp_path / "tree", {"requirements.txt": f"clean-pkg==1.0\n{line}\n"})
    policy = write_policy(
        tmp_path / "p.yml", "errors:\n  dependencies.skipped: warn\ngate:\n  fail_on: critical\n"
    )
    run, findings = scan(tmp_path, tree, "--advisory-db", str(advisories), policy=policy)
    assert run.returncode == 0, run.stderr
    (found,) = [f for f in findings if f["rule_id"] == rule]
    assert (found["path"], found["line"], found["severity"]) == (
        "requirements.txt",
        2,
        severity,
    )


def test_a_pinned_vcs_commit_and_a_hashed_url_are_not_findings(
    tmp_path: Path, advisories: Path
) -> None:
    tree = write_files(
        tmp_path / "tree",
        {
            "requirements.txt": "git+https://example.invalid/x.git@" + "a" * 40 + "#egg=x\n"
            "https://example.invalid/y-1.0.tar.gz#sha256=" + "b" * 64 + "\n"
        },
    )
    policy = write_policy(tmp_path / "p.yml", "errors:\n  dependencies.skipped: warn\n")
    run, findings = scan(tmp_path, tree, "--advisory-db", str(advisories), policy=policy)
    assert run.returncode == 0, run.stderr
    assert not [f for f in findings if f["rule_id"].startswith("supply-chain.")]
    assert "a VCS requirement has no version to look up" in run.stdout + run.stderr  # said


def test_an_unreadable_manifest_names_file_and_line(tmp_path: Path, advisories: Path) -> None:
    tree = write_files(tmp_path / "tree", {"poetry.lock": '[[package]]\nname = "x"\nversion = \n'})
    run, _ = scan(tmp_path, tree, "--advisory-db", str(advisories))
    assert run.returncode == 2
    assert "poetry.lock:3: not valid TOML" in run.stderr
    assert "Traceback" not in run.stderr


def test_unpinned_requirements_are_resolved_through_the_policys_index(
    tmp_path: Path, advisories: Path
) -> None:
    """A real pip resolves `web-framework` (bare) against a PEP 503 index on loopback: it
    pulls in demo-pkg 1.2, which the mirror knows is vulnerable."""
    index = tmp_path / "index"
    write_wheel(index, "web-framework", "1.0", ("demo-pkg>=1",))
    write_wheel(index, "demo-pkg", "1.2")
    tree = write_files(tmp_path / "tree", {"requirements.txt": "web-framework\n"})
    with serve_index(index) as url:
        policy = write_policy(tmp_path / "p.yml", f"dependencies:\n  index_url: {url}\n")
        run, findings = scan(tmp_path, tree, "--advisory-db", str(advisories), policy=policy)
    assert run.returncode == 1, run.stdout + run.stderr
    (finding,) = by_rule(findings, PYSEC)
    assert (finding["package"], finding["version"]) == ("demo-pkg", "1.2")
    assert "pulled in by web-framework" in finding["evidence"]
    assert "resolved through dependencies.index_url (2 packages)" in run.stdout


def test_resolution_that_fails_is_an_unpinned_error(tmp_path: Path, advisories: Path) -> None:
    index = tmp_path / "index"
    write_wheel(index, "other", "1.0")
    tree = write_files(tmp_path / "tree", {"requirements.txt": "not-on-the-index\n"})
    with serve_index(index) as url:
        policy = write_policy(tmp_path / "p.yml", f"dependencies:\n  index_url: {url}\n")
        run, _ = scan(tmp_path, tree, "--advisory-db", str(advisories), policy=policy)
    assert run.returncode == 2
    assert "requirements.txt:1: not-on-the-index could not be audited" in run.stderr
    assert "resolving failed: pip could not resolve" in run.stderr


def test_the_shipped_policy_audits_dependencies_and_fails_closed_offline(tmp_path: Path) -> None:
    """No --policy: the shipped default. Offline is the closed loopback port conftest gives
    $COMPLIANCE_OSV_URL; the real internet is never touched."""
    import os
    import subprocess

    from tests.test_pip_audit_e2e import COMPLIANCE

    tree = write_files(tmp_path / "tree", {"requirements.txt": "pyyaml==5.3\n"})
    env = {**os.environ, "COMPLIANCE_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.run(
        [COMPLIANCE, "scan", str(tree), "--db", str(tmp_path / "s.db")],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 2, run.stdout + run.stderr
    assert "pip-audit could not reach the advisory service" in run.stderr
    for fix in ("--advisory-db DIR", "dependencies.osv_url", "leaving pip-audit out of"):
        assert fix in run.stderr


def test_a_warm_scan_reuses_answers_until_the_database_changes(tmp_path: Path) -> None:
    """With --advisory-db, pip-audit's answer for a pin set is cached; the cache key holds
    the database's files, so a record added since is seen on the next scan."""
    from tests.osv_records import RECORDS

    db = write_pypa_layout(tmp_path / "advisories")
    tree = write_files(tmp_path / "tree", {"requirements.txt": "demo-pkg==2.5\n"})
    cold, findings = scan(tmp_path, tree, "--advisory-db", str(db))
    assert cold.returncode == 0 and findings == [], cold.stderr  # 2.5 is fixed in 2.3
    warm, findings = scan(tmp_path, tree, "--advisory-db", str(db))
    assert warm.returncode == 0 and findings == [], warm.stderr
    record = {
        "id": "PYSEC-9000-9",
        "modified": "2024-03-01T00:00:00Z",
        "severity": RECORDS[0]["severity"],
        "affected": [{"package": {"name": "demo-pkg", "ecosystem": "PyPI"}, "versions": ["2.5"]}],
    }
    (db / "demo-pkg" / "PYSEC-9000-9.json").write_text(json.dumps(record), encoding="utf-8")
    again, findings = scan(tmp_path, tree, "--advisory-db", str(db))
    assert again.returncode == 1, again.stderr
    assert [f["rule_id"] for f in findings] == ["PYSEC-9000-9"]
