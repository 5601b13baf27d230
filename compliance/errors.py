"""The one base class of every error a user can cause and fix.

A bad policy, an unopenable database, a missing scanner tool, an unreachable advisory
mirror, an unwritable report path: each is a `UserError` (or a subclass) whose message says
what failed and where, and whose `hint` says what to do. The CLI prints each as one
`error: …` line and exits 2; it never shows a traceback, a pydantic dump or an object repr.
Anything else reaching the CLI is our bug and is reported as an internal error.
"""

from __future__ import annotations

from collections.abc import Sequence


class UserError(Exception):
    """`problems`: one or more one-line messages; `hint`: what to do about them."""

    default_hint = ""

    def __init__(self, problems: str | Sequence[str], hint: str = ""):
        lines = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(lines))
        self.problems = lines
        self.hint = hint or self.default_hint

    def lines(self) -> list[str]:
        """The messages, the hint added to the last (the CLI escapes any newline in them)."""
        flat = list(self.problems) or [type(self).__name__]
        if self.hint and self.hint not in flat[-1]:
            flat[-1] = f"{flat[-1]}; {self.hint}"
        return flat
