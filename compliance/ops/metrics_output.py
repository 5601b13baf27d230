"""Where `compliance metrics --output` writes: FMT[:FILE] as on every other command.

The one format is `prometheus` (the exposition text node_exporter's textfile collector
reads). `prometheus:FILE` writes FILE, `prometheus:-` (or `-`) stdout, `prometheus` alone
reports/compliance.prom. A bare FILE was the spelling before `--output` took FMT:FILE; it
still works, and the caller warns, so a node_exporter cron line keeps running until edited.
A report format (`html`, `html:x`) is refused instead of read as a file name with a colon.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from compliance.errors import UserError
from compliance.render.outputs import REPORTS_DIR
from compliance.render.registry import FORMATS

FORMAT = "prometheus"
DEFAULT_FILE = REPORTS_DIR / "compliance.prom"


@dataclass(frozen=True)
class MetricsOutput:
    path: Path | None  # None: standard output
    deprecated: bool = False
    """Given as a bare FILE, the old spelling of `prometheus:FILE`."""


def parse_metrics_output(spec: str | None) -> MetricsOutput:
    if spec is None or spec.strip() == "-":
        return MetricsOutput(None)
    name, sep, file = spec.partition(":")
    name = name.strip()
    if name == FORMAT:
        if not sep:
            return MetricsOutput(DEFAULT_FILE)
        if not file.strip():
            raise UserError(f"--output {spec!r}: the file after ':' is empty")
        return MetricsOutput(None if file.strip() == "-" else Path(file))
    if name in FORMATS:
        raise UserError(
            f"--output {spec!r}: metrics are written as {FORMAT}, not {name}",
            f"use --output {FORMAT}:FILE (or {FORMAT}:- for stdout)",
        )
    return MetricsOutput(Path(spec), deprecated=True)
