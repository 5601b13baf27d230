"""An air-gapped OSV advisory mirror: load records, index them, match versions, serve HTTP.

One job per module: `loader` reads record files, `index` keeps them in SQLite, `matching`
applies the OSV rules with PEP 440 versions, `severity` reads CVSS, `server` speaks
osv.dev's API.
"""

from compliance.advisories.index import AdvisoryIndex, IndexStats, default_cache_dir
from compliance.advisories.loader import AdvisoryDbError
from compliance.advisories.server import MirrorServer, running_mirror

__all__ = [
    "AdvisoryDbError",
    "AdvisoryIndex",
    "IndexStats",
    "MirrorServer",
    "default_cache_dir",
    "running_mirror",
]
