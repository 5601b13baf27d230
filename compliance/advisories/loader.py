"""OSV records from a folder or a zip, as JSON or YAML.

Both layouts that matter work without configuration: the PyPA advisory database
(`vulns/<package>/<ID>.yaml`) and osv.dev's ecosystem export (`PyPI/all.zip`, one
`<ID>.json` per record). Any other file is ignored; a record that cannot be read is an
error naming the file (and line for YAML), because a mirror that quietly drops an advisory
passes a gate that should block.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from compliance.errors import UserError

RECORD_SUFFIXES = (".json", ".yaml", ".yml")

try:  # libyaml is ten times faster on the 2,661 files of the PyPA database
    _YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _YamlLoader = yaml.SafeLoader


class AdvisoryDbError(UserError):
    """The advisory database cannot be used as it is; the message names the file."""


@dataclass(frozen=True)
class SourceFile:
    """A record file: its name inside the database, size and mtime (for the cache key)."""

    name: str
    size: int
    mtime_ns: int


def list_sources(db: Path) -> list[SourceFile]:
    """The record files of a folder or zip, sorted; raises AdvisoryDbError if it is neither."""
    if db.is_dir():
        # os.scandir, not pathlib: every warm scan with --advisory-db stats all the files
        found = []
        pending = [("", str(db))]
        while pending:
            prefix, folder = pending.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir():
                        pending.append((f"{prefix}{entry.name}/", entry.path))
                    elif entry.name.lower().endswith(RECORD_SUFFIXES):
                        stat = entry.stat()
                        found.append(
                            SourceFile(prefix + entry.name, stat.st_size, stat.st_mtime_ns)
                        )
        return sorted(found, key=lambda s: s.name)
    if db.is_file() and zipfile.is_zipfile(db):
        stat = db.stat()
        with zipfile.ZipFile(db) as archive:
            names = [
                info.filename
                for info in archive.infolist()
                if not info.is_dir() and info.filename.lower().endswith(RECORD_SUFFIXES)
            ]
        return [SourceFile(n, stat.st_size, stat.st_mtime_ns) for n in sorted(names)]
    if not db.exists():
        raise AdvisoryDbError(f"{db}: no such file or directory")
    raise AdvisoryDbError(f"{db}: neither a folder nor a zip file of OSV records")


def iter_records(db: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, record) for every record file; raises AdvisoryDbError on the first bad one."""
    if db.is_dir():
        for source in list_sources(db):
            path = db / source.name
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise AdvisoryDbError(f"{path}: cannot read: {exc.strerror}") from None
            yield source.name, parse_record(str(path), data)
        return
    try:
        with zipfile.ZipFile(db) as archive:
            for source in list_sources(db):
                yield source.name, parse_record(f"{db}:{source.name}", archive.read(source.name))
    except (zipfile.BadZipFile, OSError) as exc:
        raise AdvisoryDbError(f"{db}: cannot read the zip: {exc}") from None


def parse_record(where: str, data: bytes) -> dict[str, Any]:
    try:
        if where.lower().endswith(".json"):
            record = json.loads(data)
        else:
            # _YamlLoader subclasses SafeLoader
            record = yaml.load(data, Loader=_YamlLoader)  # noqa: S506 # nosemgrep: python-yaml-unsafe-load
    except json.JSONDecodeError as exc:
        raise AdvisoryDbError(f"{where}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise AdvisoryDbError(f"{where}{line}: invalid YAML: {problem}") from None
    except UnicodeDecodeError as exc:
        raise AdvisoryDbError(f"{where}: not UTF-8 text: {exc}") from None
    problem = shape_problem(record)
    if problem:
        raise AdvisoryDbError(f"{where}: not an OSV record: {problem}")
    assert isinstance(record, dict)
    return record


def shape_problem(record: Any) -> str | None:
    """What keeps `record` from being matched reliably, or None when it is usable."""
    if not isinstance(record, Mapping):
        return "the file must hold one mapping"
    if not isinstance(record.get("id"), str) or not record["id"]:
        return "'id' is missing"
    affected = record.get("affected", [])
    if not isinstance(affected, list):
        return "'affected' must be a list"
    for i, entry in enumerate(affected):
        where = f"affected[{i}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("package"), Mapping):
            return f"{where}.package is missing"
        versions = entry.get("versions", [])
        if not isinstance(versions, list):
            return f"{where}.versions must be a list"
        bad = _unquoted_version(versions)
        if bad:
            return f"{where}.versions: {bad}"
        ranges = entry.get("ranges", [])
        if not isinstance(ranges, list):
            return f"{where}.ranges must be a list"
        for j, rng in enumerate(ranges):
            if not isinstance(rng, Mapping) or not isinstance(rng.get("events"), list):
                return f"{where}.ranges[{j}].events is missing"
            if not all(isinstance(e, Mapping) for e in rng["events"]):
                return f"{where}.ranges[{j}].events must be mappings"
            bad = _unquoted_version([v for e in rng["events"] for v in e.values()])
            if bad:
                return f"{where}.ranges[{j}].events: {bad}"
    return None


def _unquoted_version(values: list[Any]) -> str | None:
    """YAML reads `fixed: 1.10` as the number 1.1: refuse it rather than match the wrong one."""
    for value in values:
        if isinstance(value, bool) or not isinstance(value, str | int):
            return f'version {value!r} is not text; quote it in YAML ("1.10", not 1.10)'
    return None
