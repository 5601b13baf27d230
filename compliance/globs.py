"""Gitignore-style path patterns, matched exactly as git matches them (via pathspec)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from pathspec import GitIgnoreSpec


@lru_cache(maxsize=256)
def _spec(patterns: tuple[str, ...]) -> GitIgnoreSpec:
    return GitIgnoreSpec.from_lines(patterns)


def matcher(patterns: Iterable[str]) -> GitIgnoreSpec:
    return _spec(tuple(p.removeprefix("./") for p in patterns))


def matches(pattern: str, path: str) -> bool:
    return bool(matcher([pattern]).match_file(path))
