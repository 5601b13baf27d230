"""Where and how `compliance metrics` writes: `-f/--format` and `-o/--output FMT[:FILE]` as
on every other command.

Two formats: `prometheus` (the exposition text node_exporter's textfile collector reads, the
default) and `json` (the same samples as one JSON document, for scripts). `FMT:FILE` writes
FILE, `FMT:-` (or `-`) stdout, `FMT` alone its file under reports/. A bare FILE was the
spelling before `--output` took FMT:FILE; it still works in --format's format, and the
caller warns, so a node_exporter cron line keeps running until edited. A report format
(`html`, `html:x`) is refused instead of read as a file name with a colon.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from compliance.errors import UserError
from compliance.render.outputs import REPORTS_DIR, check_formats_agree
from compliance.render.registry import FORMATS

FORMAT = "prometheus"
DEFAULT_FILES = {
    FORMAT: REPORTS_DIR / "compliance.prom",
    "json": REPORTS_DIR / "compliance-metrics.json",
}
METRICS_FORMATS = tuple(DEFAULT_FILES)
DEFAULT_FILE = DEFAULT_FILES[FORMAT]


@dataclass(frozen=True)
class MetricsOutput:
    path: Path | None  # None: standard output
    deprecated: bool = False
    """Given as a bare FILE, the old spelling of `FMT:FILE`."""
    format: str = FORMAT


def parse_metrics_output(
    spec: str | None, fmt: str = FORMAT, fmt_given: bool = False
) -> MetricsOutput:
    """`fmt`: --format's value; `fmt_given`: it was on the command line (then an --output
    naming another format is refused, see check_formats_agree)."""
    if spec is None or spec.strip() == "-":
        return MetricsOutput(None, format=fmt)
    name, sep, file = spec.partition(":")
    name = name.strip()
    if name in METRICS_FORMATS:
        check_formats_agree(fmt if fmt_given else None, name, spec)
        if not sep:
            return MetricsOutput(DEFAULT_FILES[name], format=name)
        if not file.strip():
            raise UserError(f"--output {spec!r}: the file after ':' is empty")
        return MetricsOutput(None if file.strip() == "-" else Path(file), format=name)
    if name in FORMATS:
        raise UserError(
            f"--output {spec!r}: metrics are written as {' or '.join(METRICS_FORMATS)}, not {name}",
            f"use --output {FORMAT}:FILE (or {FORMAT}:- for stdout)",
        )
    return MetricsOutput(Path(spec), deprecated=True, format=fmt)
