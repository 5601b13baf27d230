"""The tree's own scanner settings in a scan: stored with it, printed after it.

The policy's `repository_config` decides whether `.bandit` & co. apply; either way a
reviewer must see them, because each can hide a finding. The stored form (the scan's
summary JSON, key `repository_config`) lists every setting and, for those applied, every
skipped test and excluded file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from compliance.scanners.interface import ScannerResult
from compliance.scanners.repo_config import printable

MAX_LISTED = 50
LINE_LIMIT = 1000  # characters of one setting's line


def repository_config_summary(mode: str, results: Sequence[ScannerResult]) -> dict[str, Any]:
    settings = [s for r in results for s in r.repository_config]
    applied = [s for s in settings if s.applied]
    return {
        "mode": mode,
        "settings": [
            {
                "scanner": s.scanner,
                "file": s.file,
                "line": s.line,
                "key": s.key,
                "value": s.value,
                "effect": s.effect,
                "applied": s.applied,
                "tests": list(s.tests),
                "files": list(s.files),
            }
            for s in settings
        ],
        "skipped_tests": sorted({t for s in applied for t in s.tests}),
        "excluded_files": sorted({f for s in applied for f in s.files}),
    }


def repository_config_lines(results: Sequence[ScannerResult]) -> list[str]:
    """Terminal lines: each setting, marked applied or not, then what the applied ones skip."""
    settings = [s for r in results for s in r.repository_config]
    if not settings:
        return []
    lines = ["repository scanner settings (the policy's repository_config decides what applies):"]
    for s in settings[:MAX_LISTED]:
        mark = "APPLIED    " if s.applied else "not applied"
        lines.append(f"  {mark} {s.scanner} {printable(s.one_line(), LINE_LIMIT)}")
    if len(settings) > MAX_LISTED:
        lines.append(f"  … and {len(settings) - MAX_LISTED} more (compliance scans --json)")
    applied = [s for s in settings if s.applied]
    tests = sorted({t for s in applied for t in s.tests})
    if tests:
        lines.append("  skipped tests (applied): " + printable(", ".join(tests)))
    files = sorted({f for s in applied for f in s.files})
    if files:
        shown = ", ".join(printable(f) for f in files[:MAX_LISTED])
        more = f" … and {len(files) - MAX_LISTED} more" if len(files) > MAX_LISTED else ""
        lines.append(f"  excluded files (applied, {len(files)}): {shown}{more}")
    return lines
