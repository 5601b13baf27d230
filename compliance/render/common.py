"""Small pieces several formats share: timestamps, repo-relative paths, severity scales."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

from compliance.findings import Severity
from compliance.render.rows import StoredFinding
from compliance.store.models import ScanRecord

_NAMESPACE = uuid.UUID("6f1d3c0e-5b7a-4c55-9a53-2a9e0f3c1b77")


def dump_json(value: Any) -> str:
    """Compact JSON: Python's C encoder only runs without indent, and at 100k findings the
    indented files are a third larger and ten times slower to write. Pipe through `jq` to
    read them."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


def utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if value.tzinfo is None:  # SQLite hands back naive datetimes that were stored as UTC
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def gitlab_time(value: datetime | None) -> str:
    """yyyy-mm-ddThh:mm:ss in UTC, without a zone suffix: GitLab's schema forbids one."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%S")


def iso_z(value: datetime | None) -> str:
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def stable_uuid(*parts: str) -> str:
    """A UUID that stays the same for the same finding, so re-uploads do not duplicate."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


_SEVERITIES = {s.label: s for s in Severity}


def severity_of(label: str) -> Severity:
    """A stored severity label as the enum: a dict lookup, called once or more per finding."""
    return _SEVERITIES.get(label) or Severity.parse(label)


def repo_path(path: str | None, scan: ScanRecord) -> str | None:
    """A repo-relative POSIX path; absolute paths under the scanned root are made relative."""
    if not path:
        return None
    return _repo_path(path, str((scan.summary or {}).get("root") or ""))


_WINDOWS_PATH = re.compile(r"[A-Za-z]:\\|\\\\")


@lru_cache(maxsize=65536)
def _repo_path(path: str, scan_root: str) -> str | None:
    """Cached: a scan's findings share a few thousand paths among 100k rows.

    Backslashes are separators only in a Windows path (`C:\\…`, `\\\\server`); in a POSIX
    name they are characters (`caf\\xe9.py` is how a name that is not UTF-8 is shown)."""
    text = path.replace("\\", "/") if _WINDOWS_PATH.match(path) else path
    root = scan_root.replace("\\", "/").rstrip("/")
    if root and text.startswith(root + "/"):
        text = text[len(root) + 1 :]
    while text.startswith("./"):
        text = text[2:]
    return str(PurePosixPath(text)) if text else None


def is_dependency(record: StoredFinding) -> bool:
    return bool(record.package)


def is_code(record: StoredFinding) -> bool:
    return bool(record.path) and not record.package and not record.host


def location_text(record: StoredFinding) -> str:
    if record.package:
        name = f"{record.package}=={record.version}" if record.version else record.package
        return f"{name} ({record.path})" if record.path else name
    if record.path:
        return f"{record.path}:{record.start_line}" if record.start_line else record.path
    return record.host or "?"
