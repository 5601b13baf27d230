"""Writing reports for a stored scan: `--output FMT[:FILE]`, shared by `scan`, `audit` and
`report`.

A report is written to a temporary file beside its destination and renamed into place, so
a CI artifact is either the complete new report or absent, never half a file. When no
output is asked for, the HTML report goes to reports/ (what a pipeline keeps as artifact).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO

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


def default_outputs(reports_dir: Path = REPORTS_DIR) -> list[OutputSpec]:
    return [OutputSpec("html", reports_dir / FORMATS["html"].filename)]


def write_outputs(
    store: Store,
    scan_id: int,
    specs: Sequence[OutputSpec],
    options: RenderOptions | None = None,
    stdout: IO[str] | None = None,
) -> None:
    """Render each spec from the stored scan; `-` specs go to `stdout` (sys.stdout).

    The scan's context is loaded once for all formats; its findings are read from the store
    by each format as it writes. Raises RenderError naming the file on any write problem: a
    report that could not be written must not look like a clean run.
    """
    write_report(load_report(store, scan_id), specs, options, stdout)


def write_report(
    report: ReportData,
    specs: Sequence[OutputSpec],
    options: RenderOptions | None = None,
    stdout: IO[str] | None = None,
) -> None:
    """Render one loaded report (a scan, or a whole scan group) to each spec."""
    options = options or RenderOptions.from_env()
    for spec in specs:
        fmt = get_format(spec.format)
        if spec.path is None:
            fmt.write(report, options, stdout or sys.stdout)
        else:
            write_atomically(spec.path, partial(fmt.write, report, options))


def write_atomically(path: Path, write: Callable[[IO[str]], None]) -> None:
    """A regular file is replaced whole (a temporary file renamed over it), so a reader
    never sees half a report. A path that exists and is not a regular file (`/dev/stdout`,
    `/dev/null`, a FIFO a pipeline reads) is written in place: renaming over it replaced
    the device or pipe with a file, and as root `--output json:/dev/null` replaced the
    machine's /dev/null. A symlink to a file keeps being a symlink: the file it points to
    is replaced."""
    try:
        if path.exists() and not path.is_file():
            with path.open("w", encoding="utf-8", newline="\n") as handle:
                write(handle)
            return
        if path.is_symlink():
            path = path.resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
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
