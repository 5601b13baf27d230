"""stdout as one document, a closed pipe, and the options' environment variables."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import click

from compliance.errors import UserError

ENV_PREFIX = "COMPLIANCE_"
EXIT_ERROR = 2


def one_stdout_document(stdout_formats: Iterable[str]) -> bool:
    """True when a document goes to stdout (then the summary goes to stderr). Two documents
    on one stream could be read by no parser, so asking for two is refused."""
    formats = list(stdout_formats)
    if len(formats) > 1:
        raise UserError(
            f"{len(formats)} documents asked for standard output ({', '.join(formats)}); "
            "stdout holds one",
            "write all but one to a file, e.g. --output sarif:compliance.sarif",
        )
    return bool(formats)


@contextmanager
def end_quietly_on_closed_pipe() -> Iterator[None]:
    """`compliance findings | head`: the reader left. End without a traceback (and without
    Python's 'Exception ignored' at exit) and exit 2, since what was asked was not all
    delivered; never 0."""
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_ERROR)


def shared_envvars(group: click.Group) -> None:
    """Every option of every command readable from COMPLIANCE_<OPTION> (`--policy` from
    COMPLIANCE_POLICY, `--advisory-db` from COMPLIANCE_ADVISORY_DB), as --help shows.

    One name per option whatever the command, so a pipeline sets COMPLIANCE_DB or
    COMPLIANCE_POLICY once; options that already had a variable keep it."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            shared_envvars(command)
            continue
        for param in command.params:
            if not isinstance(param, click.Option) or param.name in ("help", "version"):
                continue
            longs = [o for o in param.opts if o.startswith("--")]
            if param.envvar is None and longs:
                param.envvar = ENV_PREFIX + longs[0][2:].upper().replace("-", "_")
            param.show_envvar = True
