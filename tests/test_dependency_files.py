"""Reading dependency files (compliance/scanners/dependency_files.py) into exact pins and
named, unauditable dependencies. What the gate does with their advisories is in test_gate.py."""

from __future__ import annotations

from pathlib import Path

from compliance.scanners.dependency_files import Pin, is_dependency_file, parse_source
from compliance.scanners.pip_audit import PipAuditScanner


def test_select_picks_every_dependency_source() -> None:
    files = [
        "requirements.txt",
        "requirements-dev.txt",
        "svc/requirements/base.txt",
        "pyproject.toml",
        "pylock.toml",
        "pylock.web.toml",
        "docs/notes.txt",
        "setup.py",
    ]
    assert PipAuditScanner().select(Path("."), files) == files[:6]
    assert not is_dependency_file("docs/notes.txt")


def test_requirements_pins_and_reasons(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("Requests==2.0.0\n")
    (tmp_path / "constraints.txt").write_text("urllib3==1.0\n")
    (tmp_path / "requirements.txt").write_text(
        "-r base.txt\n-c constraints.txt\n"
        "Django==3.2 --hash=sha256:" + "a" * 64 + "\n"
        "flask>=2\nbar==1.*\nbaz===1.0\nqux==1.0 ; python_version < '3'\n"
        "-e git+https://example.invalid/x#egg=x\n"
    )
    parsed = parse_source(tmp_path, "requirements.txt")
    assert set(parsed.pins) == {
        Pin("requests", "2.0.0", "requirements.txt"),  # from the nested -r file
        Pin("django", "3.2", "requirements.txt"),
        Pin("baz", "1.0", "requirements.txt"),
        Pin("qux", "1.0", "requirements.txt"),  # markers are not evaluated: still a dependency
    }
    reasons = {u.name: u.reason for u in parsed.unaudited}
    assert set(reasons) == {"flask", "bar", "x"}  # constraints add no dependency
    assert "not pinned to one version (>=2)" in reasons["flask"]
    assert "editable" in reasons["x"]


def test_broken_requirements_line_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("ok==1.0\nthis is not a requirement\n")
    parsed = parse_source(tmp_path, "requirements.txt")
    assert parsed.problems and parsed.problems[0].startswith("line 2:")
    assert "\n" not in parsed.problems[0]


def test_pyproject_and_pylock(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "1"\ndependencies = ["click==8.1.7", "jinja2>=3"]\n'
        '[project.optional-dependencies]\ntest = ["pytest==8.0"]\n'
        '[dependency-groups]\ndev = ["ruff==0.5.0", {include-group = "x"}]\n'
    )
    parsed = parse_source(tmp_path, "pyproject.toml")
    assert {p.name for p in parsed.pins} == {"click", "pytest", "ruff"}
    assert [u.name for u in parsed.unaudited] == ["jinja2"]
    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\n[[packages]]\nname = "Click"\nversion = "8.1.7"\n'
        '[[packages]]\nname = "local"\n[packages.directory]\npath = "."\n'
    )
    parsed = parse_source(tmp_path, "pylock.toml")
    assert parsed.pins == (Pin("click", "8.1.7", "pylock.toml"),)
    assert [u.name for u in parsed.unaudited] == ["local"]
    (tmp_path / "pylock.bad.toml").write_text("packages = [\n")
    assert parse_source(tmp_path, "pylock.bad.toml").problems
