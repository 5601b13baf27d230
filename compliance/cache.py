"""Per-file scanner results, reused when nothing that could change them has changed.

A cached entry is keyed by everything a per-file result depends on: the scanner, the tool's
version, a digest of its configuration (rules, options), the file's repo-relative path and
the SHA-256 of its content. An unchanged tree therefore re-runs nothing, and after a
one-file change only that file goes back to the tool.

Only clean results are stored: a file with any error is scanned again next time, so the
cache can never turn a failure into a pass. Any problem with the cache itself (unwritable
folder, corrupt database) disables it for the run: every file is a miss and is scanned,
which is slower but never wrong.

The tool's version is needed for the key before the tool runs, and asking semgrep costs
seconds, so the version is remembered per executable (real path, size, mtime): upgrading
the tool rewrites its entry point and so invalidates everything it produced.

Location: `$COMPLIANCE_CACHE_DIR`, else `$XDG_CACHE_HOME/compliance`, else
`~/.cache/compliance`. `COMPLIANCE_CACHE_DIR=off` disables the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = 1


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


def executable_identity(tool_path: str) -> str:
    real = os.path.realpath(tool_path)
    try:
        st = os.stat(real)
    except OSError:
        return real
    return f"{real}|{st.st_size}|{st.st_mtime_ns}"


class ResultCache:
    """A small SQLite key-value store; one per process, safe across threads and processes."""

    _lock = threading.Lock()

    def __init__(self, directory: Path | None):
        self._db: sqlite3.Connection | None = None
        if directory is None:
            return
        try:
            directory.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                directory / f"results-v{SCHEMA}.sqlite", timeout=30, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS entry (key TEXT PRIMARY KEY, value TEXT)")
            db.execute("CREATE TABLE IF NOT EXISTS tool (identity TEXT PRIMARY KEY, version TEXT)")
            db.commit()
            self._db = db
        except (OSError, sqlite3.Error):
            self._db = None

    @classmethod
    def open_default(cls) -> ResultCache:
        return cls(default_directory())

    @classmethod
    def for_scan(cls, options: Mapping[str, Any]) -> ResultCache:
        """The default cache, unless the scan's options say `cache: False`."""
        return cls.open_default() if options.get("cache", True) else cls(None)

    def lookup(
        self,
        tool_path: str,
        root: Path,
        files: Iterable[str],
        namespace: Callable[[str], str],
        version: str | None = None,
    ) -> CachedFiles:
        """What the cache already knows about these files for this tool and configuration.

        `namespace(version)` builds the key prefix (tool version + configuration digest).
        Without a `version`, the one remembered for the executable is used; when none is
        remembered, nothing is a hit (the tool has to run and tell us its version).
        """
        digests = self.digests(root, files)
        known = version or self.known_version(tool_path)
        hits = self.get(namespace(known), digests) if known else {}
        return CachedFiles(self, tool_path, namespace, digests, known, hits)

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def known_version(self, tool_path: str) -> str | None:
        row = self._get(
            "SELECT version FROM tool WHERE identity = ?", executable_identity(tool_path)
        )
        return str(row) if row is not None else None

    def tool_version(self, tool_path: str, probe: Callable[[], str]) -> str:
        """The executable's version, asking it (`probe`, a `--version` run: ~1 s for a
        Python tool) only when this executable was never asked before."""
        known = self.known_version(tool_path)
        if known:
            return known
        version = probe()
        self.remember_version(tool_path, version)
        return version

    def remember_version(self, tool_path: str, version: str) -> None:
        self._put(
            "INSERT OR REPLACE INTO tool VALUES (?, ?)", executable_identity(tool_path), version
        )

    def digests(self, root: Path, files: Iterable[str]) -> dict[str, str]:
        """Content digests of the files, taken before the tool runs: a file edited while
        the tool reads it is stored under its old content and not reused for the new."""
        if not self.enabled:
            return {}
        found = {name: file_digest(root / name) for name in files}
        return {name: digest for name, digest in found.items() if digest is not None}

    def get(self, namespace: str, digests: Mapping[str, str]) -> dict[str, Any]:
        hits: dict[str, Any] = {}
        for name, digest in digests.items():
            value = self._get(
                "SELECT value FROM entry WHERE key = ?", _key(namespace, name, digest)
            )
            if value is None:
                continue
            try:
                hits[name] = json.loads(value)
            except ValueError:
                continue
        return hits

    def put(self, namespace: str, digests: Mapping[str, str], values: Mapping[str, Any]) -> None:
        """Store clean per-file results (the caller leaves out every file with an error)."""
        rows = [
            (_key(namespace, name, digests[name]), json.dumps(value))
            for name, value in values.items()
            if name in digests
        ]
        if not rows or self._db is None:
            return
        with self._lock:
            try:
                self._db.executemany("INSERT OR REPLACE INTO entry VALUES (?, ?)", rows)
                self._db.commit()
            except sqlite3.Error:
                self._db = None

    def _get(self, sql: str, key: str) -> Any:
        if self._db is None:
            return None
        with self._lock:
            try:
                row = self._db.execute(sql, (key,)).fetchone()
            except sqlite3.Error:
                self._db = None
                return None
        return row[0] if row else None

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

    def todo(self, files: Iterable[str]) -> list[str]:
        """The files the tool still has to scan, in the given order."""
        return [name for name in files if name not in self.hits]

    def store(self, version: str, clean: Mapping[str, Any]) -> None:
        """Remember the tool's version and the per-file results of files scanned cleanly.

        The caller passes only files the tool reported on without any error, and nothing at
        all after an error that is not tied to one file."""
        if not self.cache.enabled:
            return
        self.cache.remember_version(self.tool_path, version)
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
