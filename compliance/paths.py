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
