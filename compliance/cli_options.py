"""Option definitions that several commands share, so an option means the same everywhere.

`-f/--format` is the format of the command's document: what stdout holds on `scan`,
`audit` and the listings (text|json), the report's format on `report` (the FMT names of
`--output FMT:FILE`), prometheus|json on `metrics`. `-o/--output FMT[:FILE]` writes a
document (`FMT:-` stdout, `FMT` alone its file under reports/); a typed --format that
contradicts it is refused (render/outputs.check_formats_agree). `--limit` is a count and
`--hosts` an audit's host selection. Counts are positive integers, a negative or zero one a
usage error (exit 2). Each option is defined once here and applied as a decorator, so a fix
to one lands on every command that takes it. Environment variables come from
`shared_envvars` (COMPLIANCE_<OPTION>), one meaning per name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from compliance.render.registry import FORMATS
from compliance.ui.options import current_ui

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


# Each option name means one thing on every command. `--limit N` is a count (how many scans a
# listing shows), read from COMPLIANCE_LIMIT. Which hosts an audit looks at is `--hosts`
# (COMPLIANCE_HOSTS), as `ansible --limit` would name them; `audit --limit NAME`, its
# spelling before, is a hidden deprecated alias (see `hosts_selected`).
LIMIT_ENVVAR = "COMPLIANCE_LIMIT"
HOSTS_ENVVAR = "COMPLIANCE_HOSTS"

scan_count_limit_option = click.option(
    "--limit",
    default=50,
    show_default=True,
    type=COUNT,
    envvar=LIMIT_ENVVAR,
    help="How many scans, newest first (a positive count).",
)


def hosts_option(func: F) -> F:
    """`--hosts NAME` and the hidden deprecated `--limit NAME` (`old_limit`) it replaces."""
    func = click.option(
        "--limit",
        "old_limit",
        multiple=True,
        hidden=True,
        envvar=LIMIT_ENVVAR,
        help="Deprecated spelling of --hosts on audit.",
    )(func)
    return click.option(
        "--hosts",
        "hosts",
        metavar="NAME",
        multiple=True,
        envvar=HOSTS_ENVVAR,
        help="Only these hosts or groups (repeatable, or a,b; env: space-separated).",
    )(func)


def given_on_command_line(name: str) -> bool:
    """The option (by parameter name) was typed on the command line, not taken from the
    environment or its default: a COMPLIANCE_FORMAT a pipeline sets for every command
    yields to an --output naming its own format, a typed --format contradicting it does not."""
    source = click.get_current_context().get_parameter_source(name)
    return source == click.core.ParameterSource.COMMANDLINE


def hosts_selected(hosts: tuple[str, ...], old_limit: tuple[str, ...]) -> tuple[str, ...]:
    """The hosts `audit` should look at, and a warning on stderr for the old spelling.

    `--limit NAME` on the command line still selects hosts, with a warning. COMPLIANCE_LIMIT
    is a count now: a number there is the listings' count, which an audit ignores; a name
    there is taken as before (a pipeline that narrowed its audit that way keeps auditing only
    those hosts, never the whole fleet by surprise) and warned about. --hosts wins over both.
    """
    if not old_limit:
        return hosts
    from_env = not given_on_command_line("old_limit")
    if from_env and all(value.strip().isdigit() for value in old_limit):
        return hosts  # COMPLIANCE_LIMIT=5 is meant for `scans`, not a host named 5
    spelling = f"{LIMIT_ENVVAR} naming hosts" if from_env else "--limit NAME on audit"
    current_ui().warning(
        f"{spelling} is deprecated: it is now --hosts ({HOSTS_ENVVAR}); --limit is a count"
        + ("; --hosts, given too, wins" if hosts else "")
    )
    return hosts or old_limit
