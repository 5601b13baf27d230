"""bandit on the code's Python, end to end: the real command, the real bandit installed for
each interpreter this machine has (3.11, 3.12, 3.13), real git repositories.

An interpreter this machine lacks is a skip that names it (`scripts/test.sh` runs pytest
with -rs, so each skip is printed with its reason); the machines this project runs on have
all three (pyenv's 3.12 and 3.13 beside the 3.11 the gate runs on)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from compliance.scanners.bandit_python import Interpreter, RequiresPython, choose, discover
from tests.conftest import committed_repo, run_cli

pytestmark = pytest.mark.e2e

# 3.11: an exception group handler (PEP 654)
PY311 = """
    import pickle

    def load(blob):
        try:
            return pickle.loads(blob)
        except* ValueError:
            return None
    """
# 3.12: quotes nested in an f-string (PEP 701) and a type alias statement (PEP 695)
PY312 = """
    import pickle

    type Pair = tuple[int, int]

    def greet(user):
        return f"hello {user["name"]}"

    def load(blob):
        return pickle.loads(blob)
    """
# 3.13: a default for a type parameter (PEP 696)
PY313 = """
    import pickle

    type Box[T = int] = list[T]

    def load(blob):
        return pickle.loads(blob)
    """


def python(minor: str) -> Interpreter:
    for interpreter in discover():
        if interpreter.minor == minor:
            return interpreter
    pytest.skip(f"no Python {minor} on this machine (PATH, pyenv, uv): its case was not run")


repo = committed_repo


def scan(root: Path, policy: Path, tmp: Path, **env: str) -> tuple[int, str, list[dict]]:
    """The scan's exit code, what it printed, and the findings it stored."""
    db = tmp / "store.db"
    run = run_cli(
        "scan",
        root,
        "--policy",
        policy,
        "--db",
        db,
        env={"COMPLIANCE_CACHE_DIR": str(tmp / "cache"), **env},
    )
    stored = run_cli("findings", "--db", db, "--json") if db.exists() else None
    found = stored.json() if stored is not None and stored.code == 0 else []
    return run.code, run.stdout + run.stderr, found


def policy(tmp: Path, python_setting: str | None = None) -> Path:
    path = tmp / "policy.yml"
    lines = ["scanners: [bandit]", "waivers: null", "per_scanner:", "  bandit:"]
    lines.append("    min_confidence: medium")
    if python_setting:
        lines.append(f'    python: "{python_setting}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rules(findings: list[dict], path: str) -> set[str]:
    return {f["rule_id"] for f in findings if f["path"] == path}


@pytest.mark.parametrize(("minor", "source"), [("3.11", PY311), ("3.12", PY312), ("3.13", PY313)])
def test_code_of_each_version_is_scanned_on_that_python(
    tmp_path: Path, minor: str, source: str
) -> None:
    """Each version's syntax parses when bandit runs on that version, and its finding (the
    pickle load) is found in that very file."""
    interpreter = python(minor)
    root = repo(tmp_path / "tree", {"app.py": source})
    code, out, found = scan(root, policy(tmp_path, minor), tmp_path)
    assert code in (0, 1), out
    assert "B301" in rules(found, "app.py"), out
    assert f"runs on python {interpreter.full} (per_scanner.bandit.python)" in out


@pytest.mark.parametrize(
    ("minor", "newer", "source"), [("3.11", "3.12", PY312), ("3.12", "3.13", PY313)]
)
def test_newer_syntax_than_bandits_python_says_which_and_how(
    tmp_path: Path, minor: str, newer: str, source: str
) -> None:
    """Bandit pinned to an older Python: exit 2, and the file is said to use the newer
    syntax, with the two ways out; never a hint to exclude it."""
    python(minor), python(newer)
    root = repo(tmp_path / "tree", {"app.py": source, "old.py": "x = 1\n"})
    code, out, _ = scan(root, policy(tmp_path, minor), tmp_path)
    assert code == 2, out
    expected = (
        f"uses Python {newer} syntax; bandit ran on {minor}: run the gate with "
        f"python{newer}+ or set per_scanner.bandit.python"
    )
    assert expected in out
    assert "exclude" not in out.lower()


def test_default_is_the_newest_python_and_reads_every_version(tmp_path: Path) -> None:
    """No policy setting, no requires-python: the newest Python found runs bandit, and a
    tree mixing 3.11, 3.12 and 3.13 syntax is scanned whole."""
    newest = discover()[0]
    python("3.13")
    root = repo(tmp_path / "tree", {"a.py": PY311, "b.py": PY312, "c.py": PY313})
    code, out, found = scan(root, policy(tmp_path), tmp_path)
    assert code in (0, 1), out
    assert all("B301" in rules(found, name) for name in ("a.py", "b.py", "c.py")), out
    assert f"runs on python {newest.full} (the newest Python found)" in out
    assert "no requires-python in the scanned tree" in out


def test_requires_python_picks_the_interpreter_and_is_shown(tmp_path: Path) -> None:
    """`requires-python = ">=3.12,<3.13"` makes bandit run on 3.12 although 3.13 is there,
    and the summary names the specifier and where it was read."""
    py312 = python("3.12")
    python("3.13")
    pyproject = '[project]\nname = "app"\nrequires-python = ">=3.12,<3.13"\n'
    root = repo(tmp_path / "tree", {"pyproject.toml": pyproject, "app.py": PY312})
    code, out, found = scan(root, policy(tmp_path), tmp_path)
    assert code in (0, 1), out
    assert "B301" in rules(found, "app.py")
    assert (
        f"runs on python {py312.full} (the newest Python found that requires-python admits)" in out
    )
    assert "requires-python '>=3.12,<3.13' (pyproject.toml:3)" in out


@pytest.mark.parametrize(
    ("pyproject", "expected"),
    [
        (
            '[project]\nname = "app"\nrequires-python = [3]\n',
            "pyproject.toml:3: requires-python is not a string",
        ),
        (
            '[project]\nname = "app"\n\nrequires-python = "3.12 or so"\n',
            "pyproject.toml:4: requires-python '3.12 or so' is not a version specifier",
        ),
        (
            '[project]\nname = "app"\nrequires-python = ">=3.12\n',
            "pyproject.toml:3: not valid TOML",
        ),
    ],
)
def test_unreadable_requires_python_is_named_at_file_line(
    tmp_path: Path, pyproject: str, expected: str
) -> None:
    """The scanned tree's pyproject.toml is hostile input: a bad one is named at file:line
    in the summary, no traceback, and bandit runs on the newest Python found (the parser
    that reads the most: a broken file can neither pick an older one nor stop the scan)."""
    newest = discover()[0]
    root = repo(tmp_path / "tree", {"pyproject.toml": pyproject, "app.py": PY312})
    code, out, found = scan(root, policy(tmp_path), tmp_path)
    assert code in (0, 1), out
    assert f"runs on python {newest.full} (the newest Python found)" in out
    assert f"requires-python not read: {expected}" in out
    assert "B301" in rules(found, "app.py")
    assert "Traceback" not in out


def test_pyproject_too_large_is_not_read(tmp_path: Path) -> None:
    """A pyproject.toml of megabytes (a bomb) is refused, not parsed, and said."""
    root = repo(tmp_path / "tree", {"app.py": "x = 1\n"})
    (root / "pyproject.toml").write_text("# " + "x" * 5_000_000 + "\n")
    code, out, _ = scan(root, policy(tmp_path), tmp_path)
    assert code == 0, out
    assert "requires-python not read: pyproject.toml: is larger than" in out


def test_bandit_missing_for_a_python_and_not_installable_names_the_command(
    tmp_path: Path,
) -> None:
    """Offline: an empty tools folder and a package index that refuses connections (a
    closed loopback port). Real venv, real pip failing: exit 2 with the exact command."""
    minor = python("3.12").minor
    root = repo(tmp_path / "tree", {"app.py": "x = 1\n"})
    tools = tmp_path / "tools"
    code, out, _ = scan(
        root,
        policy(tmp_path, minor),
        tmp_path,
        COMPLIANCE_TOOLS_DIR=str(tools),
        PIP_INDEX_URL="http://127.0.0.1:9/simple",
        PIP_FIND_LINKS="",
        PIP_NO_CACHE_DIR="1",
    )
    assert code == 2, out
    assert f"is not installed for Python {minor}" in out
    assert "install it with: " in out and "-m pip install bandit==" in out
    assert not any(p.name.startswith("bandit-") for p in tools.iterdir())  # nothing half-built


def test_result_cache_is_keyed_by_the_interpreter(tmp_path: Path) -> None:
    """A warm cache filled by bandit on 3.12 must not answer for bandit on 3.11: the file
    that 3.12 read cleanly is still unparsable on 3.11 (fail closed, not a cached pass)."""
    python("3.11"), python("3.12")
    root = repo(tmp_path / "tree", {"app.py": PY312.replace("pickle.loads(blob)", "blob")})
    code, out, _ = scan(root, policy(tmp_path, "3.12"), tmp_path)
    assert code == 0, out
    code, out, _ = scan(root, policy(tmp_path, "3.11"), tmp_path)
    assert code == 2, out
    assert "uses Python 3.12 syntax; bandit ran on 3.11" in out


def test_policy_python_must_be_a_version_or_a_path(tmp_path: Path) -> None:
    """`per_scanner.bandit.python` is validated with the policy: file:line, exit 2."""
    root = repo(tmp_path / "tree", {"app.py": "x = 1\n"})
    code, out, _ = scan(root, policy(tmp_path, "newest please"), tmp_path)
    assert code == 2, out
    assert "policy.yml:" in out and "python" in out


def test_policy_python_not_on_this_machine(tmp_path: Path) -> None:
    """A version no interpreter here has: exit 2 saying where it looked and what to do."""
    root = repo(tmp_path / "tree", {"app.py": "x = 1\n"})
    code, out, _ = scan(root, policy(tmp_path, "3.99"), tmp_path)
    assert code == 2, out
    assert "asks for Python 3.99, but none was found" in out


def test_pinned_bandit_still_wins(tmp_path: Path) -> None:
    """COMPLIANCE_BANDIT_BIN names a bandit outright: it runs, and the summary says so."""
    bandit = Path(sys.executable).parent / "bandit"
    root = repo(tmp_path / "tree", {"app.py": PY311})
    code, out, found = scan(root, policy(tmp_path), tmp_path, COMPLIANCE_BANDIT_BIN=str(bandit))
    assert code in (0, 1), out
    assert "bandit pinned by COMPLIANCE_BANDIT_BIN" in out
    assert "B301" in rules(found, "app.py")


def interpreters(*versions: tuple[int, int, int]) -> list[Interpreter]:
    return sorted((Interpreter(v, f"/py/{v[0]}.{v[1]}") for v in versions), reverse=True)


def test_choose_the_newest_the_project_admits() -> None:
    found = interpreters((3, 11, 7), (3, 12, 1), (3, 13, 0))
    assert choose(None, None, found)[0].minor == "3.13"
    capped = RequiresPython(SpecifierSet("<3.13,>=3.11"), "<3.13,>=3.11", "pyproject.toml:3")
    assert choose(None, capped, found)[0].minor == "3.12"
    none_fits = RequiresPython(SpecifierSet(">=3.14"), ">=3.14", "pyproject.toml:3")
    chosen, why = choose(None, none_fits, found)
    assert chosen.minor == "3.13" and "none found satisfies" in why
    assert choose("python3.11", capped, found)[0].minor == "3.11"
