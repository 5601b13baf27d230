"""Compact JSON written piece by piece, so a report of 100k findings never exists as one
dict tree or one string (together several times the file's size in memory).

The envelope (the small dicts and lists around the findings) is walked here; every item of
an `Array` or `Spool` is encoded on its own by the standard library's C encoder. The bytes
are exactly those of `json.dumps(value, ensure_ascii=False, separators=(",", ":"))` for
the same document, so files stay what the schemas and our consumers already accept.
Hand-rolled rather than a library: `json.dump` of a streamable list (what json-stream and
similar packages build on) runs the standard library's pure-Python encoder, not the C one,
which made every finding several times slower to write; here the envelope is a few lines.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable
from typing import IO, Any

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
SPOOL_IN_MEMORY = 8 << 20  # characters a spool keeps in memory before moving to a temp file


class Array:
    """A JSON array whose items are read from `items` while the document is written."""

    def __init__(self, items: Iterable[Any]):
        self.items = items


class Spool:
    """A JSON array filled now and placed in the document later.

    For documents whose head needs figures known only after every item was seen (the
    scanners of a GitLab report, the rules of a SARIF run): items are encoded into a
    temporary file as they come, and copied into the output when the document is written.
    """

    def __init__(self) -> None:
        self._file = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by copy_to
            max_size=SPOOL_IN_MEMORY, mode="w+", encoding="utf-8", newline="\n"
        )
        self.count = 0

    def append(self, item: Any) -> None:
        self._file.write("," + _encode(item) if self.count else _encode(item))
        self.count += 1

    def copy_to(self, out: IO[str]) -> None:
        self._file.seek(0)
        shutil.copyfileobj(self._file, out)
        self._file.close()


def write_json(out: IO[str], value: Any) -> None:
    """`value` as compact JSON and a newline (what `common.dump_json` returns as a string)."""
    _write(out, value)
    out.write("\n")


def _streams(value: Any) -> bool:
    """Whether an Array or Spool is somewhere inside; parts without one (the scan, 8,000 host
    checks) go to the C encoder in one call instead of being walked here key by key."""
    if isinstance(value, Array | Spool):
        return True
    if isinstance(value, dict):
        return any(_streams(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_streams(v) for v in value)
    return False


def _write(out: IO[str], value: Any) -> None:
    if not _streams(value):
        out.write(_encode(value))
    elif isinstance(value, dict):
        out.write("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.write(",")
            out.write(_encode(str(key)))
            out.write(":")
            _write(out, item)
        out.write("}")
    elif isinstance(value, list | tuple):
        out.write("[")
        for i, item in enumerate(value):
            if i:
                out.write(",")
            _write(out, item)
        out.write("]")
    elif isinstance(value, Array):
        out.write("[")
        separator = ""
        for item in value.items:
            out.write(separator + _encode(item))
            separator = ","
        out.write("]")
    else:
        out.write("[")
        value.copy_to(out)
        out.write("]")
