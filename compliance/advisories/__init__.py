"""An air-gapped OSV advisory mirror: load records, index them, match versions, serve HTTP.

One job per module: `loader` reads record files, `index` keeps them in SQLite, `matching`
applies the OSV rules with PEP 440 versions, `severity` reads CVSS, `server` speaks
osv.dev's API.

The names below load on first use: every `compliance scan` imports `matching` and
`severity` (through the pip-audit scanner), but the index and the HTTP server only with
`--advisory-db` or `compliance advisories serve`, and importing them costs ~0.1 s.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compliance.advisories.index import AdvisoryIndex, IndexStats, default_cache_dir
    from compliance.advisories.loader import AdvisoryDbError
    from compliance.advisories.server import MirrorServer, running_mirror

_HOME = {
    "AdvisoryDbError": "loader",
    "AdvisoryIndex": "index",
    "IndexStats": "index",
    "default_cache_dir": "index",
    "MirrorServer": "server",
    "running_mirror": "server",
}

__all__ = [
    "AdvisoryDbError",
    "AdvisoryIndex",
    "IndexStats",
    "MirrorServer",
    "default_cache_dir",
    "running_mirror",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
