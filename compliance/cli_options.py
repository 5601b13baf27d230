"""Option definitions that several commands share, so an option means the same everywhere.

`-f/--format` is what stdout holds (`scan`, `audit`, the listings); `-o/--output FMT[:FILE]`
writes a document (`scan`, `audit`, and `report`/`metrics` in their own formats); counts are
positive integers, a negative or zero one a usage error (exit 2). Each option is defined
once here and applied as a decorator, so a fix to one lands on every command that takes it.
Environment variables come from `shared_envvars` (COMPLIANCE_<OPTION>), one per name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from compliance.render.registry import FORMATS

F = TypeVar("F", bound=Callable[..., Any])

COUNT = click.IntRange(min=1)
"""Any count an option takes: 0 or -1 is refused by click as a usage error, exit 2."""

output_option = click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    metavar="FMT[:FILE]",
    help=f"Write a report (repeatable): {', '.join(FORMATS)}; FMT:- to stdout (then the "
    "summary goes to stderr; one document per stream). Default: "
    "html:reports/compliance-report.html (for `scan DIR`, under $XDG_STATE_HOME/compliance/ "
    "when ./reports is inside DIR).",
)


def text_format_option(func: F) -> F:
    """-f/--format text|json and --json (its shorthand), as `fmt` and `as_json`."""
    func = click.option("--json", "as_json", is_flag=True, help="Same as --format json.")(func)
    return click.option(
        "-f",
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="What stdout holds: the human summary, or JSON alone (the summary then goes "
        "to stderr).",
    )(func)


def wants_json(fmt: str, as_json: bool) -> bool:
    return as_json or fmt == "json"


# `--limit` narrows what a command looks at; one name, read from COMPLIANCE_LIMIT by both.
# What it narrows differs by command, as in the tools people know (`ansible --limit` names
# hosts; a listing's limit is a count), so each keeps its own type: a value of one kind given
# to the other command is refused with the variable named, never silently taken.
LIMIT_ENVVAR = "COMPLIANCE_LIMIT"

scan_count_limit_option = click.option(
    "--limit",
    default=50,
    show_default=True,
    type=COUNT,
    envvar=LIMIT_ENVVAR,
    help="How many scans, newest first (a positive count).",
)
host_limit_option = click.option(
    "--limit",
    multiple=True,
    envvar=LIMIT_ENVVAR,
    help="Only these hosts or groups (repeatable, or a,b; env: space-separated).",
)
