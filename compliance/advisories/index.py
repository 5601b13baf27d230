"""The advisory index: OSV records read once, kept in SQLite, matched from memory.

Reading the 2,661 YAML files of the PyPA database takes seconds; opening an index built
from them takes milliseconds. The index is cached on disk keyed by the database's file
list with sizes and mtimes, so any change to the records rebuilds it and nothing stale is
ever served. It is written to a temporary file and renamed into place, so a scan that
builds it while another reads it never sees half an index. SQLite rather than pickle: a
cache file someone else can write must not be able to run code.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from compliance.advisories.loader import AdvisoryDbError, iter_records, list_sources
from compliance.advisories.matching import (
    AffectedPackage,
    canonical_record,
    compiled_entry,
    listed_by_name,
    matching_ids,
    names_of,
    ranges_by_name,
)
from compliance.paths import advisory_cache_directory as default_cache_dir

INDEX_FORMAT = "5"  # bump when the stored form of a record changes
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (id TEXT PRIMARY KEY, withdrawn INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE affected (
    name TEXT NOT NULL, record_id TEXT NOT NULL, listed TEXT NOT NULL, ranges TEXT NOT NULL
);
CREATE INDEX affected_name ON affected (name);
"""


@dataclass(frozen=True)
class IndexStats:
    records: int
    withdrawn: int
    packages: int
    built: bool  # False: an up-to-date cached index was opened
    seconds: float
    path: str  # the index file, or ":memory:"


class AdvisoryIndex:
    """Thread-safe read access to one indexed database (the HTTP server shares it)."""

    def __init__(self, conn: sqlite3.Connection, stats: IndexStats):
        self._conn = conn
        self._lock = threading.Lock()
        self._compiled: dict[str, list[AffectedPackage]] = {}
        self.stats = stats

    @classmethod
    def open(cls, db: Path, cache_dir: Path | None = None, key: str | None = None) -> AdvisoryIndex:
        """Open the cached index of `db`, building it first if it is missing or stale.
        `key`: database_key(db) when the caller has just taken it (stat-ing the PyPA
        database's 2,661 files costs ~0.04 s: once per scan is enough)."""
        started = time.perf_counter()
        db = db.resolve()
        key = key or _cache_key(db)
        cache = cache_dir if cache_dir is not None else default_cache_dir()
        target = cache / f"{hashlib.sha256(str(db).encode()).hexdigest()[:20]}.sqlite"
        conn = _open_cached(target, key)
        built = conn is None
        if conn is None:
            conn = _build(db, key, target)
        stats = _stats(conn, built, time.perf_counter() - started)
        return cls(conn, stats)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def query(self, name: str, version: str | None) -> list[str]:
        """JSON texts of the live records affecting `name` at `version` (all when None)."""
        canonical = canonicalize_name(name)
        entries = self._entries(canonical)
        if version is None:
            ids = list(dict.fromkeys(e.record_id for e in entries))
        else:
            ids = matching_ids(entries, version)
        return self._bodies(ids)

    def records(self, name: str, version: str) -> list[dict[str, Any]]:
        """The live records affecting `name` at `version`, parsed: what query() answers,
        for an in-process caller (the index engine)."""
        return [json.loads(body) for body in self.query(name, version)]

    def get(self, record_id: str) -> str | None:
        """The JSON text of one record by id, withdrawn or not (as osv.dev's GET answers)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT body FROM records WHERE id = ?", (record_id,)
            ).fetchone()
        return str(row[0]) if row else None

    def package_names(self) -> list[str]:
        with self._lock:
            rows = self._conn.execute("SELECT DISTINCT name FROM affected ORDER BY name")
            return [str(r[0]) for r in rows]

    def _entries(self, name: str) -> list[AffectedPackage]:
        with self._lock:
            cached = self._compiled.get(name)
            if cached is not None:
                return cached
            rows = self._conn.execute(
                "SELECT record_id, listed, ranges FROM affected WHERE name = ? ORDER BY record_id",
                (name,),
            ).fetchall()
            entries = [
                compiled_entry(str(record_id), name, entry, keys)
                for record_id, listed, ranges in rows
                for keys in [json.loads(listed)]
                for entry in json.loads(ranges)
            ]
            self._compiled[name] = entries
            return entries

    def _bodies(self, ids: Iterable[str]) -> list[str]:
        wanted = list(ids)
        if not wanted:
            return []
        with self._lock:
            marks = ",".join("?" * len(wanted))
            rows = dict(
                self._conn.execute(  # nosemgrep: python-sql-string-built
                    # only "?" placeholders are spliced in; the values are parameters
                    f"SELECT id, body FROM records WHERE id IN ({marks})",  # noqa: S608
                    wanted,
                ).fetchall()
            )
        return [str(rows[i]) for i in wanted if i in rows]


def database_key(db: Path) -> str:
    """What identifies a database's content for a cache: its files, sizes and mtimes."""
    return _cache_key(db.resolve())


def _cache_key(db: Path) -> str:
    digest = hashlib.sha256(f"{INDEX_FORMAT}\0{db}".encode())
    for source in list_sources(db):
        digest.update(f"\0{source.name}\0{source.size}\0{source.mtime_ns}".encode())
    return digest.hexdigest()


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, check_same_thread=False, isolation_level=None)


def _open_cached(target: Path, key: str) -> sqlite3.Connection | None:
    if not target.is_file():
        return None
    try:
        conn = _connect(str(target))
        row = conn.execute("SELECT value FROM meta WHERE key = 'key'").fetchone()
    except sqlite3.Error:
        return None
    if row is None or row[0] != key:
        conn.close()
        return None
    return conn


def _build(db: Path, key: str, target: Path) -> sqlite3.Connection:
    records: dict[str, dict[str, Any]] = {}
    for _, record in iter_records(db):
        previous = records.get(record["id"])
        if previous is None or str(record.get("modified", "")) >= str(previous.get("modified", "")):
            records[record["id"]] = record
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".index-", suffix=".sqlite", dir=target.parent)
        os.close(fd)
    except OSError:
        conn = _connect(":memory:")  # no writable cache: index in memory, every time
        _fill(conn, records, key)
        return conn
    conn = _connect(tmp_name)
    try:
        _fill(conn, records, key)
        conn.close()
        os.replace(tmp_name, target)
    except BaseException:
        conn.close()
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return _connect(str(target))


def _fill(conn: sqlite3.Connection, records: dict[str, dict[str, Any]], key: str) -> None:
    conn.executescript(SCHEMA)
    conn.execute("BEGIN")
    for record_id, record in sorted(records.items()):
        withdrawn = bool(record.get("withdrawn"))
        served = canonical_record(record)
        body = json.dumps(served, default=_json_value, separators=(",", ":"))
        conn.execute("INSERT INTO records VALUES (?, ?, ?)", (record_id, int(withdrawn), body))
        if not withdrawn:
            listed = listed_by_name(record)
            ranges = ranges_by_name(served)  # matched as served: unreadable bounds rewritten
            conn.executemany(
                "INSERT INTO affected VALUES (?, ?, ?, ?)",
                [
                    (n, record_id, json.dumps(listed.get(n, [])), _compact(ranges.get(n, [])))
                    for n in names_of(record)
                ],
            )
    conn.execute("INSERT INTO meta VALUES ('key', ?)", (key,))
    conn.execute("INSERT INTO meta SELECT 'records', COUNT(*) FROM records")
    conn.execute("INSERT INTO meta SELECT 'withdrawn', COUNT(*) FROM records WHERE withdrawn")
    conn.execute("INSERT INTO meta SELECT 'packages', COUNT(DISTINCT name) FROM affected")
    conn.execute("COMMIT")


def _json_value(value: Any) -> str:
    """YAML reads an unquoted `published: 2021-01-11 10:15:00Z` as a datetime; OSV (and
    pip-audit's strict parser) want RFC 3339 text: `2021-01-11T10:15:00Z`."""
    if isinstance(value, datetime):
        utc = value.astimezone(UTC) if value.tzinfo else value
        fraction = f".{utc.microsecond:06d}" if utc.microsecond else ""
        return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
    if isinstance(value, date):
        return value.isoformat() + "T00:00:00Z"
    return str(value)


STATS = ("records", "withdrawn", "packages")
"""Counted once when the index is built and kept in `meta` (counting at every open cost
~0.04 s a scan)."""


def _compact(value: Any) -> str:
    return json.dumps(value, default=_json_value, separators=(",", ":"))


def _stats(conn: sqlite3.Connection, built: bool, seconds: float) -> IndexStats:
    rows = dict(conn.execute("SELECT key, value FROM meta WHERE key != 'key'").fetchall())
    records, withdrawn, packages = (int(rows[name]) for name in STATS)
    path = conn.execute("PRAGMA database_list").fetchone()[2] or ":memory:"
    return IndexStats(records, withdrawn, packages, built, seconds, str(path))


__all__ = ["AdvisoryDbError", "AdvisoryIndex", "IndexStats", "default_cache_dir"]
