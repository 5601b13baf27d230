"""Validation shared by kinds that take a path on the target."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def absolute_path(value: str) -> str:
    """Targets are audited as root: only absolute paths, never a path with a NUL or newline."""
    if not value.startswith("/"):
        raise ValueError("must be an absolute path (starting with /)")
    if "\x00" in value or "\n" in value:
        raise ValueError("must not contain NUL or newline characters")
    return value


AbsolutePath = Annotated[str, AfterValidator(absolute_path)]
