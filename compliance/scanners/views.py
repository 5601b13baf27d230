"""What a scanner's tool reads when a file of the tree cannot be handed over as it is.

Some Python runs from files the tools would not read as Python, or would misread:

- a script without a Python suffix whose first line is a python shebang
  (`#!/usr/bin/env python3`, `#!/usr/bin/python3 -u`, `#!/usr/bin/env -S python3 -X dev`):
  bandit reads any file it is named, but semgrep's OCaml CLI picks a file's language by its
  name alone (an extensionless file named on its command line is not Python to it), so
  semgrep gets a copy named `<path>.py`;
- a notebook (`.ipynb`): its code cells joined into one module (`notebook_code`), IPython
  syntax replaced line for line so every line keeps its place: a shell escape (`!cmd`,
  `x = !cmd`, `%system`, `%sx`, a `%%bash` cell) by a call `__compliance_notebook_shell__(…)`
  that a shipped semgrep rule reports (it runs a shell command), other magics and help
  (`%time`, `obj?`) by `pass`. Findings are mapped back to the notebook, cell and line;
- Python declaring a PEP 263 coding other than UTF-8 (`# -*- coding: utf-7 -*-`, latin-1,
  cp1252): the text that runs is the decoded one (UTF-7 can hide `+AAo-os.system(x)` in
  what reads as a comment), so it is decoded exactly as Python decodes it
  (`tokenize.detect_encoding`). Bandit decodes such files itself; semgrep reads every file
  as UTF-8 and gets a UTF-8 copy. Lines map back to the file's own lines (`SourceMap`);
- any other file that is not valid UTF-8: semgrep's regex engine then matches nothing in the
  whole file (one latin-1 byte hides every secret in it), so it gets a copy with each
  invalid byte replaced by U+FFFD; no line moves;
- a file whose name is not valid UTF-8: neither the tools' JSON nor the store can carry the
  name, so the tools get a copy named by `display_path` (`a\\xff.py`).

Copies (`View`) live in a temporary `Mirror` folder under the tree's own relative paths, so
rules' `paths:` filters and the result cache see the same names; nothing is written into the
scanned tree.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import shutil
import tempfile
import tokenize
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from compliance.scanners.interface import ScannerFailure

COPIES, PYTHON = "copies", "python"
"""Folders of a mirror: copies of files as a whole; Python-only copies (`<path>.py`)."""
PYTHON_SUFFIXES = (".py", ".pyw", ".pyi")
NOTEBOOK_SUFFIX = ".ipynb"
SHELL_CALL = "__compliance_notebook_shell__"
UTF8 = ("utf-8", "utf-8-sig")
_INTERPRETER = re.compile(r"(?:python|pypy)[0-9.]*(?:-dbg)?")
_ENV_OPTIONS_WITH_VALUE = {"-u", "--unset", "-C", "--chdir", "-P"}
# IPython: which line magics run a shell, and what the body of a cell magic is
_SHELL_LINE_MAGICS = {"system", "sx", "sc"}
_SHELL_CELLS = {"bash", "sh", "zsh", "system", "!", "script"}
_PYTHON_CELLS = {"time", "timeit", "capture", "prun", "debug", "python", "python2", "python3"}
_PYTHON_CELLS |= {"pypy", "pypy3"}
_ASSIGNED = re.compile(r"[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*(?P<kind>[!%])")
_CODING = re.compile(r"[ \t\f]*#.*?coding[:=]")  # PEP 263
_HELP = re.compile(r"\?{0,2}[\w.\[\]()'\"]+\?{0,2}")


class ViewError(Exception):
    """A file that cannot be read the way the code in it would run (bad notebook, bad coding)."""

    def __init__(self, reason: str, hint: str):
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass(frozen=True)
class SourceMap:
    """How the lines a tool read map back to the file in the tree.

    `origins[i]` is where line i+1 of what the tool read comes from: (cell, line in the cell)
    for a notebook, (None, line of the file) for decoded Python. `shown` are the lines to
    show as evidence: what Python runs (decoded), or the cell's own lines (a notebook)."""

    origins: tuple[tuple[int | None, int], ...]
    shown: tuple[str, ...]
    how: str

    def locate(self, start: int, end: int) -> tuple[int, int, int | None]:
        """(first line, last line, cell) in the file for lines start..end of the copy."""
        cell, first = self._origin(start)
        end_cell, last = self._origin(max(start, end))
        if end_cell != cell:
            last = first
        return first, max(first, last), cell

    def note(self, line: int) -> str:
        """Where the finding is, said in its message."""
        cell, inner = self._origin(line)
        if cell is not None:
            return f"notebook cell {cell}, line {inner}"
        return f"line {line} of the file as Python decodes it ({self.how})"

    def _origin(self, line: int) -> tuple[int | None, int]:
        if not self.origins:
            return None, line
        return self.origins[min(max(line, 1), len(self.origins)) - 1]


@dataclass(frozen=True)
class View:
    """A file of the tree as a tool reads it: `data` under `alias` in a Mirror folder."""

    path: str  # the tree's name for the file
    alias: str  # its name in the mirror (valid UTF-8, relative)
    data: bytes | None  # None: the file's own bytes
    source_map: SourceMap | None = None


def python_kind(root: Path, name: str, head: bytes | None = None) -> str | None:
    """'module' (a Python suffix), 'notebook', 'script' (a python shebang) or None."""
    if name.endswith(PYTHON_SUFFIXES):
        return "module"
    if name.endswith(NOTEBOOK_SUFFIX):
        return "notebook"
    if head is None:
        head = _first_line(root / name)
    return "script" if is_python_shebang(head) else None


def is_python_shebang(first_line: bytes) -> bool:
    """`#!/usr/bin/python3 -u`, `#!/usr/bin/env python3`, `#!/usr/bin/env -S python3 -X dev`…"""
    if not first_line.startswith(b"#!"):
        return False
    words = first_line[2:].split(b"\n", 1)[0].decode("utf-8", "replace").split()
    if not words:
        return False
    program, rest = PurePosixPath(words[0]).name, words[1:]
    if program == "env":
        program = ""
        skip = False
        for word in rest:
            if skip:
                skip = False
                continue
            if word in _ENV_OPTIONS_WITH_VALUE:
                skip = True
                continue
            if word.startswith("-S") and len(word) > 2:
                word = word[2:]  # `env -Spython3`
            elif word.startswith("-") or "=" in word:
                continue  # an option (-S, -i) or VAR=value
            program = PurePosixPath(word.strip("'\"")).name
            break
    return _INTERPRETER.fullmatch(program) is not None


def _first_line(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.readline(512)
    except OSError:
        return b""


def declared_encoding(path: Path) -> str:
    """The coding Python reads the file with (two lines read); 'utf-8' when unreadable (the
    tool will say so), ViewError when Python could not read the declaration itself."""
    try:
        with path.open("rb") as handle:
            return tokenize.detect_encoding(handle.readline)[0]
    except OSError:
        return "utf-8"
    except SyntaxError as exc:
        raise ViewError(
            f"Python cannot read the file's coding declaration: {exc.msg}",
            "declare a coding Python knows (or none: UTF-8)",
        ) from None


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_python(data: bytes) -> tuple[str, SourceMap] | None:
    """The text Python runs and its line map, or None when that is the UTF-8 bytes as they are.

    Raises ViewError when Python itself could not decode the file (it would not run it
    either, but a scanner cannot vouch for a file it cannot read)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise ViewError(
            f"Python cannot read the file's coding declaration: {exc.msg}",
            "declare a coding Python knows (or none: UTF-8)",
        ) from None
    if encoding in UTF8:
        return None
    text, origins = _decode_by_line(data, encoding)
    lines = tuple(line.rstrip("\r") for line in text.split("\n"))
    return text, SourceMap(tuple((None, n) for n in origins), lines, f"decoded from {encoding}")


def _decode_by_line(data: bytes, encoding: str) -> tuple[str, list[int]]:
    """Decode as Python does, noting the file line on which each decoded line starts (UTF-7
    turns `+AAo-` into a line break: one line of the file can hold several of Python's)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    pieces: list[str] = []
    origins: list[int] = []
    starting = True
    number = 0
    try:
        for number, raw in enumerate(io.BytesIO(data), 1):
            piece = decoder.decode(raw)
            starting = _note_starts(piece, number, starting, origins)
            pieces.append(piece)
        tail = decoder.decode(b"", final=True)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ViewError(
            f"Python cannot decode the file as its declared {encoding}: {exc}",
            "fix the bytes or the coding declaration",
        ) from None
    _note_starts(tail, max(number, 1), starting, origins)
    pieces.append(tail)
    return "".join(pieces), origins


def _note_starts(piece: str, number: int, starting: bool, origins: list[int]) -> bool:
    """Record file line `number` for every decoded line that starts in `piece`."""
    if not piece:
        return starting
    parts = piece.split("\n")
    if starting:
        origins.append(number)
    origins.extend(number for _ in parts[1:-1])
    if len(parts) == 1:
        return False
    if parts[-1]:
        origins.append(number)
        return False
    return True


def replaced_utf8(data: bytes) -> bytes:
    """Invalid UTF-8 bytes as U+FFFD: the rest of the file becomes readable to semgrep."""
    return data.decode("utf-8", "replace").encode("utf-8")


def notebook_code(data: bytes) -> tuple[str, SourceMap] | None:
    """A notebook's code cells as one Python module and the map back to cell and line.

    None for a notebook whose kernel language is not Python. Raises ViewError for a file
    that is not a notebook (not JSON, no cells)."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ViewError(
            f"the notebook is not valid JSON: {exc}"[:300],
            "fix the file (open and save it in Jupyter), or add it to the policy's exclude list",
        ) from None
    cells = _cells(document)
    if _language(document) is not None:
        return None
    code: list[str] = []
    shown: list[str] = []
    origins: list[tuple[int | None, int]] = []
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            raise ViewError(f"notebook cell {number} is not a JSON object", _NOTEBOOK_HINT)
        if cell.get("cell_type") != "code":
            continue
        lines = _source_lines(cell, number)
        code.extend(_ipython_to_python(lines))
        shown.extend(_clean(line) for line in lines)
        origins.extend((number, n) for n in range(1, len(lines) + 1))
    for index in range(min(2, len(code))):
        if _CODING.match(code[index]):
            code[index] = ""  # cells are text already: a coding line must not re-decode them
    text = "".join(line + "\n" for line in code)
    return text, SourceMap(tuple(origins), tuple(shown), "notebook")


_NOTEBOOK_HINT = "fix the notebook (open and save it in Jupyter), or exclude it in the policy"


def _cells(document: Any) -> list[Any]:
    if isinstance(document, dict) and isinstance(document.get("cells"), list):
        return list(document["cells"])
    worksheets = document.get("worksheets") if isinstance(document, dict) else None
    if isinstance(worksheets, list):  # nbformat 3
        cells: list[Any] = []
        for sheet in worksheets:
            inner = sheet.get("cells") if isinstance(sheet, dict) else None
            if not isinstance(inner, list):
                raise ViewError("a notebook worksheet has no 'cells' list", _NOTEBOOK_HINT)
            cells.extend(inner)
        return cells
    raise ViewError("the file is JSON but not a notebook: it has no 'cells' list", _NOTEBOOK_HINT)


def _language(document: dict[str, Any]) -> str | None:
    """The kernel's language when every place that names one names the same non-Python one;
    else None (Python). A notebook saying 'python' anywhere is read as Python."""
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return None
    named = []
    for key, field in (("language_info", "name"), ("kernelspec", "language")):
        block = metadata.get(key)
        if isinstance(block, dict) and isinstance(block.get(field), str):
            named.append(str(block[field]).strip().lower())
    if not named or any("python" in name for name in named):
        return None
    return named[0]


def _source_lines(cell: dict[str, Any], number: int) -> list[str]:
    source = cell.get("source", cell.get("input", ""))
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise ViewError(f"notebook cell {number} has a source that is not text", _NOTEBOOK_HINT)
    lines = source.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def _ipython_to_python(lines: list[str]) -> list[str]:
    """IPython syntax → Python, line for line (IPython's own transforms, in outline)."""
    if lines and lines[0].startswith("%%"):
        words = lines[0][2:].split()
        magic = words[0] if words else ""
        body = lines[1:]
        if magic in _SHELL_CELLS and not _runs_python(magic, words[1:]):
            return [_shell("\n".join(lines))] + ["" for _ in body]
        if magic in _PYTHON_CELLS or _runs_python(magic, words[1:]):
            return ["pass", *_ipython_to_python(body)]
        if magic == "writefile" and words[-1:] and words[-1].endswith(PYTHON_SUFFIXES):
            return ["pass", *_ipython_to_python(body)]  # a module the notebook will import
        return ["" for _ in lines]  # %%html, %%javascript, %%sql…: not Python
    return [_ipython_line(line) for line in lines]


def _runs_python(magic: str, args: list[str]) -> bool:
    if magic != "script" or not args:
        return False
    return _INTERPRETER.fullmatch(PurePosixPath(args[0]).name) is not None


def _ipython_line(line: str) -> str:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stripped.startswith("!"):
        return indent + _shell(stripped)
    if stripped.startswith("%"):
        name = stripped.lstrip("%").split(maxsplit=1)[0] if stripped.strip("%") else ""
        return indent + (_shell(stripped) if name in _SHELL_LINE_MAGICS else "pass")
    assigned = _ASSIGNED.match(stripped)
    if assigned:
        rest = stripped[assigned.end() :]
        shell = assigned["kind"] == "!" or rest.split(maxsplit=1)[:1] in (["sx"], ["system"])
        return indent + (_shell(stripped) if shell else "pass")
    if stripped.endswith("?") and _HELP.fullmatch(stripped):
        return indent + "pass"
    return line


def _shell(command: str) -> str:
    return f"{SHELL_CALL}({_clean(command)!r})"


def _clean(text: str) -> str:
    """JSON may hold lone surrogates (`\\udcff`): nothing downstream can store them."""
    return text.encode("utf-8", "replace").decode("utf-8")


@contextmanager
def mirror(root: Path, views: Sequence[View]) -> Iterator[Path]:
    """A temporary folder holding every view under its alias; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="compliance-views-"))
    try:
        for view in views:
            target = folder / view.alias
            parts = PurePosixPath(view.alias).parts
            if not parts or ".." in parts or PurePosixPath(view.alias).is_absolute():
                raise ScannerFailure(
                    "scanner.output", f"refusing a copy outside the mirror folder: {view.alias}"
                )
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                if view.data is None:
                    target.write_bytes((root / view.path).read_bytes())
                else:
                    target.write_bytes(view.data)
            except OSError as exc:
                raise ScannerFailure(
                    "scanner.output",
                    f"cannot write the copy a tool reads of a file: {exc.strerror or exc}",
                    path=view.alias,
                    hint="check the space in the temporary folder ($TMPDIR)",
                ) from None
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
