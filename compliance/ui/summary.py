"""Showing a scan or audit summary: tables on a terminal, plain lines elsewhere, the verdict
alone with -q, every blocking finding with -v."""

from __future__ import annotations

from collections.abc import Sequence

from compliance.render.terminal import (
    SummaryParts,
    plain_lines,
    styled_lines,
    summary_parts,
    summary_view,
)
from compliance.ui.console import Ui


def show_summary(ui: Ui, parts: SummaryParts, header: bool = True) -> None:
    if ui.settings.quiet:
        ui.show(*styled_lines([parts.verdict, *(f"  {r}" for r in parts.reasons)], parts.outcome))
    elif ui.tables:
        ui.show(*summary_view(parts, header))
    else:
        ui.show(*styled_lines(plain_lines(parts, header), parts.outcome))


def show_lines(ui: Ui, lines: Sequence[str]) -> None:
    """Lines the CLI made safe already (host lines, listings); not with -q."""
    if not ui.settings.quiet:
        ui.show(*styled_lines(lines))


__all__ = ["show_lines", "show_summary", "summary_parts"]
