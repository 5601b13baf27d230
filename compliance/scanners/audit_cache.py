"""pip-audit's answers kept for a warm scan, when the advisories are a local database.

With `--advisory-db DIR` the answer for a set of pins is a function of the pins, the
pip-audit executable and the database's files: the same three give the same answer, so a
warm scan reuses it without starting pip-audit or the mirror. The key holds the
database's file list with sizes and mtimes (the index's own cache key), so any change to a
record is a miss. Against a remote service (api.osv.dev, `dependencies.osv_url`) nothing
is cached: advisories published since the last scan must be seen. Entries are JSON and
HMAC-tagged by ResultCache: a planted entry is a miss, never code."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from compliance.advisories.index import database_key
from compliance.advisories.loader import AdvisoryDbError
from compliance.cache import ResultCache


class AuditCache:
    def __init__(self, cache: ResultCache, db: str | None, identity: str):
        """`db`: the scan's advisory database (None: a remote service, never cached)."""
        self._cache = cache
        self._namespace: str | None = None
        self.database_key: str | None = None
        """The database's key, once taken here (AdvisoryIndex.open need not take it again)."""
        if not db or not cache.enabled:
            return
        try:
            self.database_key = database_key(Path(db))
        except (OSError, AdvisoryDbError):
            return  # the scan itself reports an unusable database
        self._namespace = f"pip-audit-answers|{identity}|db={self.database_key}"

    @staticmethod
    def _digest(pins: Iterable[str]) -> dict[str, str]:
        text = "\n".join(sorted(set(pins)))
        return {"pins": hashlib.sha256(text.encode()).hexdigest()}

    def get(self, pins: Iterable[str]) -> dict[str, Any] | None:
        if self._namespace is None:
            return None
        hit = self._cache.get(self._namespace, self._digest(pins)).get("pins")
        return hit if isinstance(hit, dict) else None

    def put(self, pins: Iterable[str], answer: dict[str, Any]) -> None:
        if self._namespace is not None:
            self._cache.put(self._namespace, self._digest(pins), {"pins": answer})
