"""Per-file scanner results, reused when nothing that could change them has changed.

A cached entry is keyed by everything a per-file result depends on: the scanner and the
gate's own adapter (its version and the source of the modules that run the tool and trim
its output), the tool's version, the executable's identity (`executable_identity`), a
digest of the configuration (resolved rules, applied config files, options), the file's
repo-relative path and the SHA-256 of its content. An unchanged tree therefore re-runs
nothing, and after a one-file change only that file goes back to the tool.

Only clean results are stored: a file with any error is scanned again next time, so the
cache can never turn a failure into a pass. Any problem with the cache itself (unwritable
folder, corrupt database, an unsafe key file) disables it for the run: every file is a
miss and is scanned, which is slower but never wrong.

Entries cannot be planted. The cache lives outside the scanned tree (the runner owns it),
and every entry, and every remembered tool version, carries an HMAC-SHA256 tag over its key
and value, keyed by a secret the runner owns: `$COMPLIANCE_CACHE_KEY` (a CI variable), else
32 random bytes in `<cache folder>/key`, created with mode 0600 on first use. A key file
that is not a regular file owned by us, or that others may read or write, turns the cache
off for the run with a warning. An entry whose tag does not verify is a miss, and the fresh
result overwrites it. Values are JSON: nothing is ever unpickled or unmarshalled.

The tool's version is needed for the key before the tool runs, and asking semgrep costs
seconds, so the version is remembered per executable identity: upgrading the tool, its
interpreter or any package installed beside it changes the identity, which both asks the
tool again and starts a fresh set of entries.

Location: `$COMPLIANCE_CACHE_DIR`, else `$XDG_CACHE_HOME/compliance`, else
`~/.cache/compliance`. `COMPLIANCE_CACHE_DIR=off` disables the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shlex
import shutil
import sqlite3
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import Any

SCHEMA = 2
KEY_ENV = "COMPLIANCE_CACHE_KEY"
KEY_FILE = "key"
KEY_BYTES = 32
MIN_ENV_KEY = 16  # characters: shorter is a password, not a secret
PIP_TRAMPOLINE = "'''exec'"  # pip's /bin/sh launcher for interpreter paths too long for #!
SCRIPT_BYTES = 1_000_000  # an entry point this small is identified by its content
PACKAGE_METADATA = (".dist-info", ".egg-info", ".egg-link")
_WARNED: set[str] = set()


def default_directory() -> Path | None:
    configured = os.environ.get("COMPLIANCE_CACHE_DIR")
    if configured is not None:
        if configured.strip().lower() in ("", "off", "0", "false", "no"):
            return None
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "compliance"


def file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None  # unreadable: never cached, the tool will report it


def executable_identity(tool_path: str, payload: Sequence[str] = ()) -> str:
    """Who would run: the tool's entry point, the interpreter its shebang names, the
    packages installed for that interpreter, and `payload` files among them (semgrep's
    engine binary). A few stat calls and one folder listing, no process.

    The entry point is named by content (a small script: the same after a reinstall of the
    same version, so a CI job that installs the gate afresh still gets hits), the
    interpreter by path, size and mtime, the packages by the names of their `*.dist-info`
    folders (name and version of every package: installing, upgrading or removing any, a
    bandit plugin say, changes it), a payload by path and size."""
    parts = [_content_identity(tool_path)]
    interpreter = script_interpreter(tool_path)
    if interpreter is not None:
        parts.append("python=" + _stat_identity(interpreter))
        for site in site_packages(interpreter):
            parts.append("site=" + _installed(site))
            parts += [
                f"{name}=" + _stat_identity(str(site / name), mtime=False) for name in payload
            ]
    return "|".join(parts)


def script_interpreter(tool_path: str) -> str | None:
    """The interpreter a script's `#!` line names (`env NAME` is looked up on PATH; pip's
    `/bin/sh` trampoline for long paths is read from its second line), None for a binary."""
    try:
        with open(tool_path, "rb") as handle:
            head = handle.read(1024)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    lines = head[2:].decode("utf-8", "replace").splitlines()
    words = _words(lines[0]) if lines else []
    if not words:
        return None
    program = os.path.basename(words[0])
    if program == "env":
        names = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        return shutil.which(names[0]) if names else None
    if program == "sh" and len(lines) > 1 and lines[1].startswith(PIP_TRAMPOLINE):
        trampoline = _words(lines[1])
        return trampoline[1] if len(trampoline) > 1 else None
    return words[0]


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:
        return []


def site_packages(interpreter: str) -> list[Path]:
    """The package folders of an interpreter, found from its path as written (a venv's
    `bin/python` is a symlink: its own folder leads to the venv, not the base install)."""
    prefix = Path(interpreter).parent.parent
    found: list[Path] = []
    for pattern in ("lib/python3*/site-packages", "lib64/python3*/site-packages"):
        found += sorted(prefix.glob(pattern))
    debian = prefix / "lib" / "python3" / "dist-packages"
    if debian.is_dir():
        found.append(debian)
    return list(dict.fromkeys(p.resolve() for p in found))


def _stat_identity(path: str, *, mtime: bool = True) -> str:
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError:
        return real
    return f"{real}|{st.st_size}|{st.st_mtime_ns}" if mtime else f"{real}|{st.st_size}"


def _content_identity(path: str) -> str:
    """A script by its content; anything large (a binary) by path, size and mtime."""
    real = os.path.realpath(path)
    try:
        if os.stat(real).st_size > SCRIPT_BYTES:
            return _stat_identity(real)
        with open(real, "rb") as handle:
            return f"{real}|sha256={hashlib.sha256(handle.read()).hexdigest()}"
    except OSError:
        return real


def _installed(site: Path) -> str:
    """The packages of a site-packages folder, by their metadata folders' names."""
    try:
        names = sorted(n for n in os.listdir(site) if n.endswith(PACKAGE_METADATA))
    except OSError:
        return str(site)
    return f"{site}|" + hashlib.sha256("\0".join(names).encode()).hexdigest()


def gate_identity(*modules: ModuleType) -> str:
    """The gate's part of a key: its version and the source of the modules that run a tool
    and shape what is cached. Editing an adapter (a new trim format, a new flag) starts
    fresh entries even when nobody remembered to bump a format number."""
    return _gate_identity(tuple(m.__name__ for m in modules))


@lru_cache(maxsize=32)
def _gate_identity(modules: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    try:
        digest.update(version("compliance").encode())
    except PackageNotFoundError:  # a source tree that was never installed
        digest.update(b"0+unknown")
    for name in modules:
        source = getattr(sys.modules.get(name), "__file__", None)
        digest.update(b"\0" + name.encode() + b"\0")
        try:
            digest.update(Path(str(source)).read_bytes())
        except OSError:
            digest.update(b"(no source)")
    return digest.hexdigest()[:32]


def cache_secret(directory: Path) -> bytes | str:
    """The HMAC key for the cache's entries, or why there is none (a str: cache off)."""
    configured = os.environ.get(KEY_ENV)
    if configured:
        if len(configured) < MIN_ENV_KEY:
            return (
                f"${KEY_ENV} is shorter than {MIN_ENV_KEY} characters; set it to a long "
                "random value (e.g. the output of `openssl rand -hex 32`)"
            )
        return configured.encode("utf-8")
    path = directory / KEY_FILE
    try:
        _create_key_file(path)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        return f"cannot create or read the key file {path}: {exc.strerror or exc}"
    try:
        problem = _unsafe_key_file(path, os.fstat(fd))
        if problem:
            return problem
        key = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(key) != KEY_BYTES:
        return f"the key file {path} is not {KEY_BYTES} bytes long; remove it to make a new one"
    return key


def _create_key_file(path: Path) -> None:
    """A new random key, whole or not at all: written to a private temporary file, then
    linked into place, so that a second process never reads a half-written key."""
    if os.path.lexists(path):
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # mode 0600
    try:
        os.write(fd, secrets.token_bytes(KEY_BYTES))
        os.fsync(fd)
        os.close(fd)
        with contextlib.suppress(FileExistsError):  # another process was first: its key
            os.link(tmp, path)  # is as good as ours
    finally:
        os.unlink(tmp)


def _unsafe_key_file(path: Path, st: os.stat_result) -> str | None:
    if not stat.S_ISREG(st.st_mode):
        return f"the key file {path} is not a regular file; remove it"
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return f"the key file {path} is owned by uid {st.st_uid}, not by us; remove it"
    if st.st_mode & 0o077:
        return (
            f"the key file {path} may be read or written by others "
            f"(mode {stat.S_IMODE(st.st_mode):o}); run `chmod 600 {path}` or remove it"
        )
    return None


def _warn(problem: str) -> None:
    """Once per process: a cache that turned itself off is slower, and someone may be
    tampering with it, so say so (on stderr, never in the verdict)."""
    if problem not in _WARNED:
        _WARNED.add(problem)
        print(f"warning: result cache off for this run: {problem}", file=sys.stderr)


class ResultCache:
    """A small SQLite key-value store; one per process, safe across threads and processes."""

    _lock = threading.Lock()

    def __init__(self, directory: Path | None):
        self._db: sqlite3.Connection | None = None
        self._secret = b""
        self._identities: dict[tuple[str, tuple[str, ...]], str] = {}
        if directory is None:
            return
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return  # unwritable: no cache, every file is scanned
        secret = cache_secret(directory)
        if isinstance(secret, str):
            _warn(secret)
            return
        self._secret = secret
        try:
            db = sqlite3.connect(
                directory / f"results-v{SCHEMA}.sqlite", timeout=30, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS entry "
                "(key TEXT PRIMARY KEY, value TEXT NOT NULL, tag TEXT NOT NULL)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS tool "
                "(identity TEXT PRIMARY KEY, version TEXT NOT NULL, tag TEXT NOT NULL)"
            )
            db.commit()
            self._db = db
        except (OSError, sqlite3.Error):
            self._db = None

    @classmethod
    def open_default(cls) -> ResultCache:
        return cls(default_directory())

    @classmethod
    def for_scan(cls, use_cache: bool) -> ResultCache:
        """The default cache, or none when the scanner's typed options (`FileScanOptions.cache`,
        read once in scan_options.py) turn it off: no mapping is read here."""
        return cls.open_default() if use_cache else cls(None)

    def lookup(
        self,
        tool_path: str,
        root: Path,
        files: Iterable[str],
        namespace: Callable[[str], str],
        version: str | None = None,
        payload: Sequence[str] = (),
    ) -> CachedFiles:
        """What the cache already knows about these files for this tool and configuration.

        `namespace(version)` builds the key prefix (tool version + configuration digest);
        the executable's identity is added here. Without a `version`, the one remembered
        for the executable is used; when none is remembered, nothing is a hit (the tool has
        to run and tell us its version).
        """
        identity = hashlib.sha256(self.identity(tool_path, payload).encode()).hexdigest()[:32]

        def keyed(v: str) -> str:
            return f"{namespace(v)}|exe={identity}"

        digests = self.digests(root, files)
        known = version or self.known_version(tool_path, payload)
        hits = self.get(keyed(known), digests) if known else {}
        return CachedFiles(self, tool_path, keyed, digests, known, hits, tuple(payload))

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def identity(self, tool_path: str, payload: Sequence[str] = ()) -> str:
        """`executable_identity`, taken once per scan (scanners ask for it twice)."""
        memo = (tool_path, tuple(payload))
        if memo not in self._identities:
            self._identities[memo] = executable_identity(tool_path, payload)
        return self._identities[memo]

    def known_version(self, tool_path: str, payload: Sequence[str] = ()) -> str | None:
        identity = self.identity(tool_path, payload)
        row = self._get("SELECT version, tag FROM tool WHERE identity = ?", identity)
        if row is None or not self._verify("tool", identity, str(row[0]), str(row[1])):
            return None
        return str(row[0]) or None

    def tool_version(
        self, tool_path: str, probe: Callable[[], str], payload: Sequence[str] = ()
    ) -> str:
        """The executable's version, asking it (`probe`, a `--version` run: ~1 s for a
        Python tool) only when this executable was never asked before."""
        known = self.known_version(tool_path, payload)
        if known:
            return known
        version = probe()
        self.remember_version(tool_path, version, payload)
        return version

    def remember_version(self, tool_path: str, version: str, payload: Sequence[str] = ()) -> None:
        identity = self.identity(tool_path, payload)
        self._put(
            "INSERT OR REPLACE INTO tool VALUES (?, ?, ?)",
            identity,
            version,
            self._tag("tool", identity, version),
        )

    def digests(self, root: Path, files: Iterable[str]) -> dict[str, str]:
        """Content digests of the files, taken before the tool runs: a file edited while
        the tool reads it is stored under its old content and not reused for the new."""
        if not self.enabled:
            return {}
        found = {name: file_digest(root / name) for name in files}
        return {name: digest for name, digest in found.items() if digest is not None}

    def get(self, namespace: str, digests: Mapping[str, str]) -> dict[str, Any]:
        """The entries whose tag verifies; anything else (planted, corrupt) is a miss."""
        hits: dict[str, Any] = {}
        for name, digest in digests.items():
            key = _key(namespace, name, digest)
            row = self._get("SELECT value, tag FROM entry WHERE key = ?", key)
            if row is None or not self._verify("entry", key, str(row[0]), str(row[1])):
                continue
            try:
                hits[name] = json.loads(row[0])
            except ValueError:
                continue
        return hits

    def put(self, namespace: str, digests: Mapping[str, str], values: Mapping[str, Any]) -> None:
        """Store clean per-file results (the caller leaves out every file with an error)."""
        rows = []
        for name, value in values.items():
            if name in digests:
                key, text = _key(namespace, name, digests[name]), json.dumps(value)
                rows.append((key, text, self._tag("entry", key, text)))
        if not rows or self._db is None:
            return
        with self._lock:
            try:
                self._db.executemany("INSERT OR REPLACE INTO entry VALUES (?, ?, ?)", rows)
                self._db.commit()
            except sqlite3.Error:
                self._db = None

    def _tag(self, kind: str, key: str, value: str) -> str:
        message = b"\0".join((kind.encode(), key.encode(), value.encode()))
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _verify(self, kind: str, key: str, value: str, tag: str) -> bool:
        return hmac.compare_digest(self._tag(kind, key, value), tag)

    def _get(self, sql: str, key: str) -> tuple[Any, ...] | None:
        if self._db is None:
            return None
        with self._lock:
            try:
                row = self._db.execute(sql, (key,)).fetchone()
            except sqlite3.Error:
                self._db = None
                return None
        return tuple(row) if row else None

    def _put(self, sql: str, *args: str) -> None:
        if self._db is None:
            return
        with self._lock:
            try:
                self._db.execute(sql, args)
                self._db.commit()
            except sqlite3.Error:
                self._db = None


@dataclass(frozen=True)
class CachedFiles:
    """One scanner's use of the cache in one scan: the hits, and how to store what ran.

    `digests` were taken before the tool ran, so a file edited meanwhile is stored under
    the content the tool did not necessarily see and will simply miss next time.
    """

    cache: ResultCache
    tool_path: str
    namespace: Callable[[str], str]
    digests: Mapping[str, str]
    version: str | None
    hits: Mapping[str, Any]
    payload: tuple[str, ...] = ()

    def todo(self, files: Iterable[str]) -> list[str]:
        """The files the tool still has to scan, in the given order."""
        return [name for name in files if name not in self.hits]

    def store(self, version: str, clean: Mapping[str, Any]) -> None:
        """Remember the tool's version and the per-file results of files scanned cleanly.

        The caller passes only files the tool reported on without any error, and nothing at
        all after an error that is not tied to one file."""
        if not self.cache.enabled:
            return
        self.cache.remember_version(self.tool_path, version, self.payload)
        self.cache.put(self.namespace(version), self.digests, clean)


def group_by_file(
    files: Iterable[str], path_key: str, **kinds: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, list[Any]]]:
    """Per-file cache values: for each file, its items of every kind (results, suppressed…).

    A file with no items gets empty lists: "scanned, nothing found" is a result too."""
    grouped: dict[str, dict[str, list[Any]]] = {
        name: {kind: [] for kind in kinds} for name in files
    }
    for kind, items in kinds.items():
        for item in items:
            entry = grouped.get(str(item[path_key]))
            if entry is not None:
                entry[kind].append(item)
    return grouped


def _key(namespace: str, name: str, digest: str) -> str:
    return hashlib.sha256(f"{namespace}\0{name}\0{digest}".encode()).hexdigest()
