"""Writing reports for a stored scan: `--output FMT[:FILE]`, shared by `scan`, `audit` and
`report`.

A report is written to a temporary file beside its destination and renamed into place, so
a CI artifact is either the complete new report or absent, never half a file. A symlink at
the destination is never followed: the new report replaces the link (a link planted in a
checkout cannot aim the report at another file), and inside the scanned tree it is refused.
When no output is asked for, the HTML report goes to reports/ (what a pipeline keeps as
artifact); for `scan DIR` that folder must be outside DIR, else the state folder is used.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO

from compliance.errors import UserError
from compliance.paths import new_file_mode, state_directory
from compliance.render.data import ReportData, load_report
from compliance.render.options import RenderError, RenderOptions
from compliance.render.registry import FORMATS, get_format
from compliance.store import Store

REPORTS_DIR = Path("reports")


@dataclass(frozen=True)
class OutputSpec:
    format: str
    path: Path | None  # None: standard output


def parse_output(spec: str, reports_dir: Path = REPORTS_DIR) -> OutputSpec:
    """`html`, `sarif:out/x.sarif`, `json:-` (stdout). Unknown formats name the known ones."""
    name, sep, file = spec.partition(":")
    name = name.strip()
    if not name:
        raise RenderError(f"--output {spec!r}: give FORMAT or FORMAT:FILE, e.g. sarif:out.sarif")
    fmt = get_format(name)
    if sep and not file.strip():
        raise RenderError(f"--output {spec!r}: the file after ':' is empty")
    if file.strip() == "-":
        return OutputSpec(fmt.name, None)
    return OutputSpec(fmt.name, Path(file) if sep else reports_dir / fmt.filename)


def report_output(fmt: str, output: str | None, fmt_given: bool = False) -> OutputSpec:
    """`report --format FMT --output X`. X is read as on `scan` and `audit`: FMT2:FILE, or
    FMT2 alone (its conventional file under reports/); any other X is a FILE (or `-`) for
    FMT. `fmt_given`: --format was on the command line, so an X naming another format is a
    contradiction, refused; a --format from the environment yields to X."""
    if output is None:
        return parse_output(fmt)
    name = output.partition(":")[0].strip()
    if name not in FORMATS:
        return parse_output(f"{fmt}:{output}")
    spec = parse_output(output)
    check_formats_agree(fmt if fmt_given else None, spec.format, output)
    return spec


def check_formats_agree(fmt: str | None, named: str, output: str) -> None:
    """`--format A --output B:FILE` names two formats for one document: refused, never one
    silently dropped. `fmt` None: --format was not given on the command line."""
    if fmt is not None and fmt != named:
        raise UserError(
            f"--format {fmt} and --output {output!r} name two formats for one document",
            f"give one: --output {fmt}:FILE, or --format {fmt} --output FILE",
        )


def default_outputs(reports_dir: Path = REPORTS_DIR) -> list[OutputSpec]:
    return [OutputSpec("html", reports_dir / FORMATS["html"].filename)]


def reports_dir_outside(tree: Path) -> Path:
    """reports/ here, unless that is inside the scanned `tree` (`scan .`): then the state
    folder's reports/, so the gate's report never lands in the tree it judges."""
    real_tree = Path(os.path.realpath(tree))
    if not Path(os.path.realpath(REPORTS_DIR)).is_relative_to(real_tree):
        return REPORTS_DIR
    return state_directory() / "reports"


def write_outputs(
    store: Store,
    scan_id: int,
    specs: Sequence[OutputSpec],
    options: RenderOptions | None = None,
    stdout: IO[str] | None = None,
    tree: Path | None = None,
) -> None:
    """Render each spec from the stored scan; `-` specs go to `stdout` (sys.stdout).

    The scan's context is loaded once for all formats; its findings are read from the store
    by each format as it writes. Raises RenderError naming the file on any write problem: a
    report that could not be written must not look like a clean run. `tree`: the scanned
    tree, where a symlink or device at a report path is refused.
    """
    write_report(load_report(store, scan_id), specs, options, stdout, tree)


def write_report(
    report: ReportData,
    specs: Sequence[OutputSpec],
    options: RenderOptions | None = None,
    stdout: IO[str] | None = None,
    tree: Path | None = None,
) -> None:
    """Render one loaded report (a scan, or a whole scan group) to each spec."""
    options = options or RenderOptions.from_env()
    for spec in specs:
        fmt = get_format(spec.format)
        if spec.path is None:
            fmt.write(report, options, stdout or sys.stdout)
        else:
            write_atomically(spec.path, partial(fmt.write, report, options), tree)


def write_atomically(
    path: Path, write: Callable[[IO[str]], None], tree: Path | None = None
) -> None:
    """A regular file is replaced whole (a temporary file renamed over it), so a reader
    never sees half a report. A symlink is never followed: the rename replaces the link
    itself, so a link planted in a checkout cannot aim the report at another file; inside
    the scanned `tree` a link is refused outright. A device or FIFO (`/dev/null`, a pipe a
    pipeline reads) is written in place, since renaming over it replaced the device (as
    root, the machine's /dev/null); so is a link outside the tree to one (`/dev/stdout`).
    Inside the tree neither is written."""
    try:
        fd = _open_in_place(path, tree)
        if fd is not None:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                write(handle)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            os.fchmod(fd, new_file_mode())  # like any other output, not mkstemp's 0600
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                write(handle)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise RenderError(
            f"cannot write report {path}: {exc.strerror or exc}; check the folder exists and "
            "is writable, or pass another --output"
        ) from exc


def _open_in_place(path: Path, tree: Path | None) -> int | None:
    """An open descriptor to write the report into in place (a device, a FIFO, or outside
    the tree a link to one), or None: write a new file and rename it over `path`. Raises
    RenderError for a link or special file inside the scanned tree."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode):
        return None
    if tree is not None and _inside(path, tree):
        what = "a symlink" if stat.S_ISLNK(mode) else "not a regular file"
        raise RenderError(
            f"report path {path} is {what} inside the scanned tree {tree}: refused, since "
            "the tree could have planted it; pass --output with a path outside the tree"
        )
    link = stat.S_ISLNK(mode)
    if link:
        try:
            target = os.stat(path).st_mode
        except OSError:
            return None  # a dangling link: replaced
        if stat.S_ISREG(target) or stat.S_ISDIR(target):
            return None  # the link is replaced; the file it points to stays as it was
    # not a link: O_NOFOLLOW fails if one appears meanwhile; a link: checked once opened
    fd = os.open(path, os.O_WRONLY | (0 if link else getattr(os, "O_NOFOLLOW", 0)))
    if stat.S_ISREG(os.fstat(fd).st_mode):  # the link was turned to a file meanwhile
        os.close(fd)
        return None
    return fd


def _inside(path: Path, tree: Path) -> bool:
    """The link or file at `path` (its folder resolved) lies within `tree`."""
    where = Path(os.path.realpath(path.parent)) / path.name
    return where.is_relative_to(Path(os.path.realpath(tree)))
