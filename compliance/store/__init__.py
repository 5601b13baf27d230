"""The findings store: SQLite by default, PostgreSQL by URL."""

from compliance.store.engine import StoreError, database_url
from compliance.store.repository import ScanMeta, ScanOutcome, Store

__all__ = ["ScanMeta", "ScanOutcome", "Store", "StoreError", "database_url"]
