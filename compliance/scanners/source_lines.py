"""Reading the flagged lines ourselves: tools' own excerpts carry line numbers and context
that would make fingerprints move when unrelated lines are inserted above a finding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


class SourceLines:
    """`shown` gives a file's lines outright: the text Python runs for a file it decodes
    from another coding, a notebook's own cell lines (see views.py)."""

    def __init__(self, root: Path, shown: Mapping[str, Sequence[str]] | None = None):
        self.root = root
        self._resolved_root = root.resolve()
        self._cache: dict[str, list[str]] = {k: list(v) for k, v in (shown or {}).items()}

    def lines(self, path: str) -> list[str]:
        if path not in self._cache:
            text = ""
            try:
                full = (self.root / path).resolve()
                # a tool's path never takes evidence from outside the tree being scanned
                if full.is_relative_to(self._resolved_root):
                    text = full.read_text(encoding="utf-8", errors="replace")
            except (OSError, ValueError):
                pass
            self._cache[path] = text.splitlines()
        return self._cache[path]

    def excerpt(self, path: str, start: int, end: int | None = None) -> str:
        lines = self.lines(path)
        end = max(start, end or start)
        return "\n".join(lines[max(0, start - 1) : end])
