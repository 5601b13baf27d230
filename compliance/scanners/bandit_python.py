"""Which Python bandit runs on, and bandit installed for it.

Bandit parses the code with the `ast` of the interpreter it runs under: bandit on 3.11
cannot read a nested-quote f-string (3.12) or `type X = ...` (3.12), and reports such a file
as unparsable. So bandit runs under an interpreter at least as new as the code needs:

1. the one the policy names (`per_scanner.bandit.python`: `3.12`, `python3.12` or a path);
2. otherwise the newest interpreter found (every `python3.N` on PATH, pyenv's and uv's
   installed versions, the gate's own) whose version satisfies the scanned project's
   `requires-python` (`pyproject.toml` at the scanned root), or the newest of all when none
   does or the file cannot be read (said in the summary, with file:line).

The gate's own bandit serves its own minor version. For any other interpreter bandit, at
exactly the gate's bandit version, lives in a venv per interpreter under
`$COMPLIANCE_TOOLS_DIR`, else `<cache folder>/tools` (outside the scanned tree, owned by the
runner), installed on first use. An install that fails (no network) is scanner.missing,
exit 2, with the exact command that installs it. `COMPLIANCE_BANDIT_BIN` still pins a
bandit outright.

A file bandit cannot parse is parsed again, as syntax only (`ast`, nothing runs), by each
newer interpreter found: the first that reads it says which Python's syntax it uses.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from compliance.cache import script_interpreter
from compliance.paths import tools_directory
from compliance.scanners.bandit_config import PYPROJECT, parse_toml
from compliance.scanners.interface import ScannerFailure
from compliance.scanners.process import env_override_name, find_tool, run_tool, stderr_tail
from compliance.scanners.repo_config import Unreadable, line_of, printable, read_tree_file

OLDEST = (3, 10)
"""Bandit 1.9 needs Python 3.10 or newer: older interpreters are never candidates."""
PROBE_TIMEOUT = 20.0
INSTALL_TIMEOUT = 600.0
COMPLETE = ".complete"  # written last into a venv whose install finished
PARSE_ERROR = "syntax error while parsing AST from file"
"""Bandit's reason for a file its interpreter's `ast` cannot read."""
_NAME = re.compile(r"^python3\.(\d{1,2})$")
_POLICY_VALUE = re.compile(r"^(?:python)?3\.\d{1,2}$")
_VERSION_SCRIPT = "import sys; print('%d.%d.%d' % sys.version_info[:3])"
# Reads each named file as syntax only, and prints the names it could read (JSON on stdout).
_SYNTAX_SCRIPT = (
    "import ast, json, sys\n"
    "ok = []\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        with open(name, 'rb') as f:\n"
    "            ast.parse(f.read(), name)\n"
    "        ok.append(name)\n"
    "    except Exception:\n"
    "        pass\n"
    "print(json.dumps(ok))\n"
)


@dataclass(frozen=True, order=True)
class Interpreter:
    version: tuple[int, int, int]
    path: str

    @property
    def minor(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def full(self) -> str:
        return ".".join(str(n) for n in self.version)


@dataclass(frozen=True)
class RequiresPython:
    specifier: SpecifierSet
    text: str
    where: str  # pyproject.toml:LINE


@dataclass(frozen=True)
class BanditRuntime:
    """The bandit a scan runs and the interpreter under it, and how it was chosen."""

    tool: str
    interpreter: Interpreter | None  # None: a pinned bandit whose interpreter is unknown
    reason: str
    requires: RequiresPython | None
    unread: str = ""
    """Why the tree's requires-python could not be read (file:line), when it could not."""

    def describe(self) -> str:
        python = f"python {self.interpreter.full}" if self.interpreter else "python unknown"
        if self.unread:
            wanted = f"; requires-python not read: {self.unread}"
        elif self.requires:
            wanted = f"; requires-python {self.requires.text!r} ({self.requires.where})"
        else:
            wanted = "; no requires-python in the scanned tree"
        return f"runs on {python} ({self.reason}){wanted}"


def read_requires_python(root: Path) -> RequiresPython | None:
    """`[project] requires-python` of the scanned tree's pyproject.toml, or None. The tree
    is hostile: bounded read, no symlink out; any problem names file:line (ScannerFailure)."""
    try:
        data = read_tree_file(root, PYPROJECT)
        if data is None:
            return None
        document = parse_toml(data, PYPROJECT)
    except Unreadable as exc:
        raise ScannerFailure(
            "scanner.parse",
            f"{exc}; requires-python cannot be read",
            hint="fix pyproject.toml, or set per_scanner.bandit.python in the policy",
            path=PYPROJECT,
        ) from None
    project = document.get("project")
    if not isinstance(project, dict) or "requires-python" not in project:
        return None
    value = project["requires-python"]
    text = data.decode("utf-8", "replace")
    where = f"{PYPROJECT}:{line_of(text, 'requires-python', 'project') or 1}"
    if not isinstance(value, str):
        raise _bad_requires(where, f"is not a string ({type(value).__name__})")
    try:
        specifier = SpecifierSet(value)
    except InvalidSpecifier:
        raise _bad_requires(where, f"{printable(value)!r} is not a version specifier") from None
    return RequiresPython(specifier, printable(value), where)


def _bad_requires(where: str, problem: str) -> ScannerFailure:
    return ScannerFailure(
        "scanner.parse",
        f"{where}: requires-python {problem}",
        hint='write it as PEP 440 specifiers, e.g. requires-python = ">=3.12"',
        path=PYPROJECT,
    )


def discover() -> list[Interpreter]:
    """Every interpreter found, newest first, one per path (each asked for its version)."""
    found: dict[str, Interpreter] = {}
    for path in _candidates():
        real = os.path.realpath(path)
        if real in found:
            continue
        version = probe(path)
        if version is not None and version[:2] >= OLDEST:
            found[real] = Interpreter(version, path)
    return sorted(found.values(), reverse=True)


def _candidates() -> Iterable[str]:
    yield sys.executable
    shims = os.path.join(_pyenv_root(), "shims")
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        # pyenv's shims answer only for the versions pyenv has selected: its versions are
        # read below, from where they are installed
        if folder and os.path.realpath(folder) != os.path.realpath(shims):
            yield from _named(Path(folder))
    for base in (Path(_pyenv_root()) / "versions", _uv_root()):
        try:
            installs = sorted(base.iterdir())
        except OSError:
            continue
        for install in installs:
            yield from _named(install / "bin")


def _named(folder: Path) -> Iterable[str]:
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return
    for name in names:
        if _NAME.match(name) and os.access(folder / name, os.X_OK):
            yield str(folder / name)


def _pyenv_root() -> str:
    return os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")


def _uv_root() -> Path:
    configured = os.environ.get("UV_PYTHON_INSTALL_DIR")
    if configured:
        return Path(configured)
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "uv" / "python"


@lru_cache(maxsize=64)
def probe(path: str) -> tuple[int, int, int] | None:
    """The interpreter's own version, or None when it does not answer like a Python."""
    try:
        run = subprocess.run(
            [path, "-I", "-c", _VERSION_SCRIPT],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    parts = run.stdout.strip().split(".")
    if run.returncode != 0 or len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def choose(
    wanted: str | None, requires: RequiresPython | None, found: Sequence[Interpreter]
) -> tuple[Interpreter, str]:
    """The interpreter for bandit and why it was chosen (see the module docstring)."""
    if wanted:
        return _named_by_policy(wanted, found), "per_scanner.bandit.python"
    if not found:
        raise ScannerFailure(
            "scanner.missing", "no Python 3.10+ interpreter found to run bandit under"
        )
    if requires is None:
        return found[0], "the newest Python found"
    for interpreter in found:
        if requires.specifier.contains(interpreter.full, prereleases=True):
            return interpreter, "the newest Python found that requires-python admits"
    return found[0], "the newest Python found; none found satisfies requires-python"


def _named_by_policy(wanted: str, found: Sequence[Interpreter]) -> Interpreter:
    if _POLICY_VALUE.match(wanted):
        minor = wanted.removeprefix("python")
        for interpreter in found:
            if interpreter.minor == minor:
                return interpreter
        where = "on PATH, in pyenv's and uv's installed versions"
        raise ScannerFailure(
            "scanner.missing",
            f"per_scanner.bandit.python asks for Python {minor}, but none was found ({where})",
            hint=f"install python{minor} (e.g. `pyenv install {minor}`, "
            f"`apt-get install python{minor}`) or name another in the policy",
        )
    version = probe(wanted)
    if version is None:
        raise ScannerFailure(
            "scanner.missing",
            f"per_scanner.bandit.python names {wanted}, which is not a working Python",
            hint="name an installed interpreter (a path, or a version such as 3.13)",
        )
    return Interpreter(version, wanted)


def runtime(root: Path, wanted: str | None, *, needed: bool = True) -> BanditRuntime:
    """The bandit to run for this scan (installing it for the interpreter if needed).
    Not `needed` (no Python file to scan): the gate's own, nothing read or installed."""
    if not needed:
        own = Interpreter(sys.version_info[:3], sys.executable)
        return BanditRuntime(find_tool("bandit"), own, "no Python file to scan", None)
    # The tree is hostile: a pyproject.toml that cannot be read says so (file:line) in the
    # summary and bandit runs on the newest Python found, which reads the most syntax; a
    # broken file never picks an older parser, nor stops the scan by itself.
    unread = ""
    try:
        requires = read_requires_python(root)
    except ScannerFailure as exc:
        requires, unread = None, exc.reason
    if os.environ.get(env_override_name("bandit")):
        tool = find_tool("bandit")
        python = script_interpreter(tool)
        version = probe(python) if python else None
        return BanditRuntime(
            tool,
            Interpreter(version, python) if version and python else None,
            f"bandit pinned by {env_override_name('bandit')}",
            requires,
            unread,
        )
    interpreter, reason = choose(wanted, requires, discover())
    if interpreter.version[:2] == sys.version_info[:2]:
        return BanditRuntime(find_tool("bandit"), interpreter, reason, requires, unread)
    return BanditRuntime(bandit_for(interpreter), interpreter, reason, requires, unread)


def gate_bandit_version() -> str:
    """The bandit version the gate itself is installed with: every venv pins exactly it."""
    try:
        return installed_version("bandit")
    except PackageNotFoundError:
        run = run_tool([find_tool("bandit"), "--version"], tool="bandit", timeout=60)
        first = run.stdout.strip().split()
        if run.returncode != 0 or len(first) < 2:
            raise ScannerFailure(
                "scanner.missing", "the gate's own bandit version cannot be told"
            ) from None
        return first[1]


def install_command(interpreter: Interpreter, venv: Path, bandit: str) -> str:
    q = shlex.quote
    return (
        f"{q(interpreter.path)} -m venv {q(str(venv))} && "
        f"{q(str(venv / 'bin' / 'python'))} -m pip install bandit=={q(bandit)}"
    )


def bandit_for(interpreter: Interpreter) -> str:
    """`bandit` in this interpreter's venv, installed (once, under a lock) when missing."""
    bandit = gate_bandit_version()
    tag = hashlib.sha256(os.path.realpath(interpreter.path).encode()).hexdigest()[:10]
    home = tools_directory()
    venv = home / f"bandit-{bandit}-py{interpreter.full}-{tag}"
    tool = venv / "bin" / "bandit"
    if (venv / COMPLETE).is_file() and tool.is_file():
        return str(tool)
    command = install_command(interpreter, venv, bandit)
    try:
        home.mkdir(parents=True, exist_ok=True)
        with open(home / ".install.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (venv / COMPLETE).is_file():  # another scan may have installed it meanwhile
                _install(interpreter, venv, bandit, command)
    except OSError as exc:
        raise _not_installed(interpreter, bandit, f"cannot write {home}: {exc}", command) from None
    return str(tool)


def _install(interpreter: Interpreter, venv: Path, bandit: str, command: str) -> None:
    """Build the venv where it stays (its scripts name their interpreter by path); the
    marker file, written last, says it is whole. A failed install leaves nothing behind."""
    shutil.rmtree(venv, ignore_errors=True)
    steps = (
        [interpreter.path, "-m", "venv", str(venv)],
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--retries",
            "1",
            "--timeout",
            "20",
            f"bandit=={bandit}",
        ],
    )
    try:
        for argv in steps:
            run = run_tool(argv, tool="bandit install", timeout=INSTALL_TIMEOUT)
            if run.returncode != 0:
                raise _not_installed(interpreter, bandit, stderr_tail(run.stderr), command)
        (venv / COMPLETE).write_text(bandit + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(venv, ignore_errors=True)
        raise


def _not_installed(interpreter: Interpreter, bandit: str, why: str, command: str) -> ScannerFailure:
    return ScannerFailure(
        "scanner.missing",
        f"bandit {bandit} is not installed for Python {interpreter.full} ({interpreter.path}) "
        f"and could not be installed: {why}",
        hint=f"install it with: {command}",
    )


def newer_syntax(
    root: Path, names: Sequence[str], ran_on: Interpreter | None, timeout: float
) -> dict[str, str]:
    """For files bandit could not parse: the oldest newer Python (found here) whose `ast`
    reads each, as 'X.Y'. A file none reads is left out (it is broken, or not Python)."""
    if ran_on is None or not names:
        return {}
    newer: dict[str, Interpreter] = {}
    for interpreter in discover():
        if interpreter.version[:2] > ran_on.version[:2]:
            newer.setdefault(interpreter.minor, interpreter)
    found: dict[str, str] = {}
    for minor, interpreter in sorted(newer.items(), key=lambda item: item[1].version):
        todo = [n for n in names if n not in found]
        if not todo:
            break
        run = run_tool(
            [interpreter.path, "-I", "-c", _SYNTAX_SCRIPT, *todo],
            tool=f"python{minor}",
            timeout=timeout,
            cwd=root,
        )
        try:
            readable = json.loads(run.stdout)
        except ValueError:
            continue
        if isinstance(readable, list):
            found.update((n, minor) for n in readable if isinstance(n, str) and n in todo)
    return found


def newer_syntax_reason(minor: str, ran_on: Interpreter) -> str:
    """What to say of a file written in newer syntax than bandit's Python (no hint to
    exclude it: it is Python, only newer)."""
    return (
        f"uses Python {minor} syntax; bandit ran on {ran_on.minor}: "
        f"run the gate with python{minor}+ or set per_scanner.bandit.python"
    )
