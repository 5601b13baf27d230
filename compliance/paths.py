"""Where shipped files live, whether running from a checkout or a plain `pip install`."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED_POLICIES = PACKAGE_DIR / "policies"


def shipped_policy(name: str) -> Path:
    return SHIPPED_POLICIES / name
