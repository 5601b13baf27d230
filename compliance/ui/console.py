"""The two output streams of a command and how they are styled.

stdout holds one document: the human summary, or (with `--json`, `--format json`,
`--output FMT:-`) that machine document alone; then everything meant for a person (the
summary, notes, report paths) goes to stderr, so `compliance scan . --json | jq` never
sees a stray line. Colour is used only when the stream is a terminal (or `--color
always`), never with NO_COLOR set (https://no-color.org) unless `--color always` says so.

Rich draws the colour and tables, but never interprets markup: every text shown here is a
`rich.text.Text` built from plain strings that went through `terminal_safe` (file names,
titles and messages come from a hostile tree; `[link=…]` or `[/]` in a file name must
print as written, not restyle the terminal).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import IO, Literal

from rich.console import Console, RenderableType
from rich.text import Text

from compliance.render.escape import terminal_safe

ColorMode = Literal["auto", "always", "never"]
COLOR_MODES: tuple[ColorMode, ...] = ("auto", "always", "never")
QUIET, NORMAL, VERBOSE = -1, 0, 1


@dataclass(frozen=True)
class UiSettings:
    """--color, -q/--quiet and -v/--verbose as given on the command line."""

    color: ColorMode = "auto"
    verbosity: int = NORMAL

    @property
    def quiet(self) -> bool:
        return self.verbosity <= QUIET

    @property
    def verbose(self) -> bool:
        return self.verbosity >= VERBOSE


def color_wanted(mode: ColorMode, stream: IO[str]) -> bool:
    """`always`/`never` as said; `auto`: a terminal, NO_COLOR unset, TERM not 'dumb'."""
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    return _isatty(stream) and os.environ.get("TERM") != "dumb"


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream: not a terminal
        return False


def make_console(stream: IO[str], mode: ColorMode) -> Console:
    """A rich console on `stream` that never reads markup, emoji codes or 'highlights'
    numbers on its own. Lines are not wrapped unless a table asks for the width."""
    color = color_wanted(mode, stream)
    return Console(
        file=stream,
        force_terminal=color,
        no_color=not color,
        color_system="auto" if color else None,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=True,
        force_interactive=None if _isatty(stream) else False,  # animate a real terminal only
    )


class Ui:
    """The streams a command writes to, chosen once from its options."""

    def __init__(
        self, settings: UiSettings, stdout: IO[str] | None = None, stderr: IO[str] | None = None
    ):
        self.settings = settings
        self._stdout = stdout or sys.stdout
        self._stderr = stderr or sys.stderr
        self.out = make_console(self._stdout, settings.color)
        self.err = make_console(self._stderr, settings.color)
        self.document_on_stdout = False

    def claim_stdout(self) -> None:
        """stdout now carries a document: the human summary goes to stderr from here on."""
        self.document_on_stdout = True

    @property
    def human(self) -> Console:
        """Where the summary goes: stdout, or stderr when stdout holds a document."""
        return self.err if self.document_on_stdout else self.out

    @property
    def tables(self) -> bool:
        """Lay the summary out as tables fitting the width: only on a terminal; a pipe or
        file keeps the stable one-fact-per-line form that scripts read."""
        return _isatty(self._stderr if self.document_on_stdout else self._stdout)

    @property
    def progress(self) -> bool:
        """Progress is drawn on stderr when it is a terminal, unless -q."""
        return not self.settings.quiet and _isatty(self._stderr)

    def show(self, *items: RenderableType) -> None:
        """The summary: Text lines or tables, on the human stream."""
        for item in items:
            self.human.print(item)

    def note(self, text: str, style: str = "dim") -> None:
        """Something a person may want to know (report written, policy note); not with -q."""
        if not self.settings.quiet:
            self.err.print(Text(terminal_safe(text), style=style))

    def detail(self, text: str) -> None:
        """Only with -v."""
        if self.settings.verbose:
            self.err.print(Text(terminal_safe(text), style="dim"))

    def warning(self, text: str) -> None:
        self.err.print(_prefixed("warning: ", "yellow bold", text))

    def error(self, text: str, hint: str = "") -> None:
        """Always shown, even with -q: the one line saying what failed and what to do."""
        self.err.print(_prefixed("error: ", "red bold", text + (f"; {hint}" if hint else "")))


def _prefixed(prefix: str, style: str, text: str) -> Text:
    line = Text(prefix, style=style)
    line.append(terminal_safe(text))
    return line
