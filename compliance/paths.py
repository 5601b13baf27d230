"""Where shipped files live, whether running from a checkout or a plain `pip install`, and
where the gate keeps its own state by default (never in the folder it happens to run in,
which in CI is the checkout a merge request controls)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED_POLICIES = PACKAGE_DIR / "policies"


def shipped_policy(name: str) -> Path:
    return SHIPPED_POLICIES / name


def state_directory() -> Path:
    """`$XDG_STATE_HOME/compliance`, else `~/.local/state/compliance`: the default home of
    the database and of reports that must not land in the scanned tree. A relative
    $XDG_STATE_HOME is ignored, as the XDG spec says: it would mean "wherever we run"."""
    base = Path(os.environ.get("XDG_STATE_HOME") or "")
    if not base.is_absolute():
        base = Path.home() / ".local" / "state"
    return base / "compliance"


def new_file_mode() -> int:
    """The mode `open()` would give a new file under the process umask. Files written via
    mkstemp (for an atomic rename) start 0600, which would hide a report or an edited
    waiver file from the team and the CI runner's other users; they are set to this.
    (Reading the umask means setting it: done at once, restored at once.)"""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


TOOLS_ENV = "COMPLIANCE_TOOLS_DIR"


def tools_directory() -> Path:
    """Where the bandit venvs per Python live (bandit_python.py): code the gate runs.
    Here, not in bandit_python, so that the state guard of every scan need not import
    bandit's machinery to name the folder."""
    from compliance.cache import default_directory

    configured = os.environ.get(TOOLS_ENV)
    if configured:
        return Path(configured)
    cache = default_directory()
    if cache is not None:
        return cache / "tools"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "compliance" / "tools"


def advisory_cache_directory() -> Path:
    """Where advisory indexes are kept (advisories/index.py)."""
    base = os.environ.get("COMPLIANCE_CACHE_DIR")
    if base:
        return Path(base) / "advisories"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "compliance" / "advisories"
