"""Reading dependency files into exact pins and named, unauditable dependencies."""

from __future__ import annotations

from pathlib import Path

from compliance.manifests.interface import Dependency
from compliance.manifests.registry import is_manifest, parse_manifest
from compliance.scanners.pip_audit import PipAuditScanner


def test_select_picks_every_dependency_source() -> None:
    files = [
        "requirements.txt",
        "requirements-dev.txt",
        "svc/requirements/base.txt",
        "pyproject.toml",
        "pylock.toml",
        "pylock.web.toml",
        "dev-requirements.txt",
        "reqs/prod-requirements.txt",
        "requirements.in",
        "poetry.lock",
        "uv.lock",
        "Pipfile",
        "Pipfile.lock",
        "pdm.lock",
        "setup.cfg",
        "environment.yml",
        "docs/notes.txt",
        "setup.py",
    ]
    assert PipAuditScanner().select(Path("."), files) == files[:-2]
    assert not is_manifest("docs/notes.txt")


def _pins(root: Path, path: str) -> set[tuple[str, str | None, str]]:
    return {
        (d.name, d.version, d.path) for d in parse_manifest(root, path).dependencies if d.version
    }


def _unpinned(root: Path, path: str) -> dict[str, Dependency]:
    deps = parse_manifest(root, path).dependencies
    return {d.name: d for d in deps if d.version is None}


def test_requirements_pins_and_reasons(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("Requests==2.0.0\n")
    (tmp_path / "constraints.txt").write_text("urllib3==1.0\nflask==2.3.0\n")
    (tmp_path / "requirements.txt").write_text(
        "-r base.txt\n-c constraints.txt\n"
        "Django==3.2 --hash=sha256:" + "a" * 64 + "\n"
        "flask>=2\nbar==1.*\nbaz===1.0\nqux==1.0 ; python_version < '3'\n"
        "-e git+https://example.invalid/x#egg=x\n"
    )
    assert _pins(tmp_path, "requirements.txt") == {
        ("requests", "2.0.0", "base.txt"),  # from the nested -r file, named as its own file
        ("django", "3.2", "requirements.txt"),
        ("flask", "2.3.0", "requirements.txt"),  # the -c constraint pins the bare range
        ("baz", "1.0", "requirements.txt"),
        ("qux", "1.0", "requirements.txt"),  # markers are not evaluated: still a dependency
    }
    unpinned = _unpinned(tmp_path, "requirements.txt")
    assert set(unpinned) == {"bar", "x"}  # constraints add no dependency
    assert unpinned["bar"].spec == "==1.*" and unpinned["bar"].line == 5
    assert unpinned["x"].source == "editable"
    rules = {(s.rule, s.line) for s in parse_manifest(tmp_path, "requirements.txt").supply_chain}
    assert rules == {("editable", 8), ("unpinned-vcs", 8)}


def test_broken_requirements_line_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("ok==1.0\nthis is not a requirement\n")
    problems = parse_manifest(tmp_path, "requirements.txt").problems
    assert problems and problems[0].startswith("requirements.txt:2:")
    assert "\n" not in problems[0]


def test_include_leaving_the_tree_is_a_problem(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tmp_path / "outside.txt").write_text("secret==1.0\n")
    (tree / "requirements.txt").write_text("-r ../outside.txt\nok==1.0\n")
    manifest = parse_manifest(tree, "requirements.txt")
    assert manifest.problems == (
        "requirements.txt:1: includes a file outside the scanned tree: -r ../outside.txt",
    )
    assert {d.name for d in manifest.dependencies} == {"ok"}


def test_pyproject_and_pylock(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "1"\ndependencies = ["click==8.1.7", "jinja2>=3"]\n'
        '[project.optional-dependencies]\ntest = ["pytest==8.0"]\n'
        '[dependency-groups]\ndev = ["ruff==0.5.0", {include-group = "lint"}]\n'
        'lint = ["mypy==1.0"]\n'
    )
    assert {n for n, _, _ in _pins(tmp_path, "pyproject.toml")} == {
        "click",
        "pytest",
        "ruff",
        "mypy",
    }
    assert list(_unpinned(tmp_path, "pyproject.toml")) == ["jinja2"]
    assert _unpinned(tmp_path, "pyproject.toml")["jinja2"].line == 4
    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\n[[packages]]\nname = "Click"\nversion = "8.1.7"\n'
        '[[packages]]\nname = "local"\n[packages.directory]\npath = "."\n'
    )
    lock = parse_manifest(tmp_path, "pylock.toml")
    assert [(d.name, d.version) for d in lock.dependencies if d.version] == [("click", "8.1.7")]
    assert [(d.name, d.source) for d in lock.dependencies if not d.version] == [("local", "path")]
    (tmp_path / "pylock.bad.toml").write_text("packages = [\n")
    (problem,) = parse_manifest(tmp_path, "pylock.bad.toml").problems
    assert problem.startswith("pylock.bad.toml:")


def test_lock_graphs_say_what_pulls_each_package_in(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "a"\ndependencies = ["web"]\n')
    (tmp_path / "poetry.lock").write_text(
        '[[package]]\nname = "web"\nversion = "1.0"\n[package.dependencies]\nmid = "*"\n'
        '[[package]]\nname = "mid"\nversion = "2.0"\n[package.dependencies]\nleaf = "*"\n'
        '[[package]]\nname = "leaf"\nversion = "3.0"\n[[package]]\nname = "orphan"\n'
        'version = "4.0"\n'
    )
    (tmp_path / "uv.lock").write_text(
        'version = 1\n[[package]]\nname = "a"\nversion = "0"\nsource = { virtual = "." }\n'
        'dependencies = [{ name = "web" }]\n'
        '[[package]]\nname = "web"\nversion = "1.0"\ndependencies = [{ name = "leaf" }]\n'
        '[[package]]\nname = "leaf"\nversion = "3.0"\n'
    )
    (tmp_path / "pdm.lock").write_text(
        '[[package]]\nname = "web"\nversion = "1.0"\ndependencies = ["leaf>=1"]\n'
        '[[package]]\nname = "leaf"\nversion = "3.0"\n[[package]]\nversion = "1"\n'
    )
    graphs = {
        lock: {
            d.name: (d.version, d.direct, d.via)
            for d in parse_manifest(tmp_path, lock).dependencies
        }
        for lock in ("poetry.lock", "uv.lock", "pdm.lock")
    }
    assert graphs["poetry.lock"] == {
        "web": ("1.0", True, ()),
        "mid": ("2.0", False, ("web",)),
        "leaf": ("3.0", False, ("web",)),
        "orphan": ("4.0", False, ()),  # in the lock, pulled in by nothing declared
    }
    assert graphs["uv.lock"] == {"web": ("1.0", True, ()), "leaf": ("3.0", False, ("web",))}
    assert graphs["pdm.lock"] == {"web": ("1.0", True, ()), "leaf": ("3.0", False, ("web",))}
    assert parse_manifest(tmp_path, "pdm.lock").problems == (
        "pdm.lock: package entry 3 has no name",
    )
