"""Writing reports for a stored scan: `--output FMT[:FILE]`, shared by `scan`, `audit` and
`report`.

A report is written to a temporary file beside its destination and renamed into place, so
a CI artifact is either the complete new report or absent, never half a file. When no
output is asked for, the HTML report goes to reports/ (what a pipeline keeps as artifact).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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


def render_report(report: ReportData, fmt: str, options: RenderOptions | None = None) -> str:
    return get_format(fmt).render(report, options or RenderOptions.from_env())


def write_outputs(
    store: Store,
    scan_id: int,
    specs: Sequence[OutputSpec],
    options: RenderOptions | None = None,
) -> list[tuple[OutputSpec, str]]:
    """Render each spec from the stored scan; return (spec, text) for the stdout ones.

    The scan is loaded once for all formats. Raises RenderError naming the file on any
    write problem: a report that could not be written must not look like a clean run.
    """
    return write_report(load_report(store, scan_id), specs, options)


def write_report(
    report: ReportData, specs: Sequence[OutputSpec], options: RenderOptions | None = None
) -> list[tuple[OutputSpec, str]]:
    """Render one loaded report (a scan, or a whole scan group) to each spec."""
    options = options or RenderOptions.from_env()
    to_stdout = []
    for spec in specs:
        text = render_report(report, spec.format, options)
        if spec.path is None:
            to_stdout.append((spec, text))
        else:
            write_atomically(spec.path, text)
    return to_stdout


def write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise RenderError(
            f"cannot write report {path}: {exc.strerror or exc}; check the folder exists and "
            "is writable, or pass another --output"
        ) from exc
