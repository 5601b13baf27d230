"""Options every command shares: --color, -q/--quiet, -v/--verbose, and the command's Ui.

They are added to every command by `add_ui_options` and never reach the command function
(`expose_value=False`): the settings live on the click context, and `current_ui()` gives the
streams built from them, so adding them changed no command's signature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import click

from compliance.ui.console import COLOR_MODES, NORMAL, QUIET, VERBOSE, Ui, UiSettings

_KEY = "compliance.ui"


def _store(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None and value is not False:
            ctx.meta[f"{_KEY}.{name}"] = value
            ctx.meta.pop(_KEY, None)  # rebuilt with the new setting

    return callback


def _flag(short: str, long: str, help_text: str) -> click.Option:
    return click.Option(
        [short, long],
        is_flag=True,
        expose_value=False,
        callback=_store(long[2:]),
        help=help_text,
    )


def shared_options() -> list[click.Option]:
    """--color, -q/--quiet, -v/--verbose."""
    return [
        click.Option(
            ["--color"],
            type=click.Choice(COLOR_MODES),
            default="auto",
            show_default=True,
            expose_value=False,
            callback=_store("color"),
            help="Colour: auto (a terminal, unless NO_COLOR is set), always, never.",
        ),
        _flag("-q", "--quiet", "Only errors and the verdict line; no progress, no notes."),
        _flag("-v", "--verbose", "Say more: every blocking finding, every host, timings."),
    ]


def add_ui_options(group: click.Group) -> None:
    """Give every command of `group` the shared options (those it lacks: `advisories
    serve` keeps its own --verbose)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            add_ui_options(command)
            continue
        taken = {opt for param in command.params for opt in param.opts}
        command.params.extend(p for p in shared_options() if not taken & set(p.opts))


def current_ui() -> Ui:
    """The Ui of the running command (plain defaults outside a click command)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return Ui(UiSettings())
    meta = ctx.meta  # shared by the whole context chain
    ui = meta.get(_KEY)
    if ui is None:
        verbosity = NORMAL
        if meta.get(f"{_KEY}.quiet"):
            verbosity = QUIET
        elif meta.get(f"{_KEY}.verbose"):
            verbosity = VERBOSE
        ui = Ui(UiSettings(color=meta.get(f"{_KEY}.color", "auto"), verbosity=verbosity))
        meta[_KEY] = ui
    return cast(Ui, ui)
