"""The findings store: SQLite by default, PostgreSQL by URL."""

from compliance.store.engine import StoreError, database_url
from compliance.store.repository import HostCheckRow, ScanMeta, ScanOutcome, Store

__all__ = ["HostCheckRow", "ScanMeta", "ScanOutcome", "Store", "StoreError", "database_url"]
