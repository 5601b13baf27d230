"""The batch framing protocol, both ends: the shell that frames each section's output on
the host, and the reader that cuts the host's combined output back apart.

`batch.py` decides what runs (sections, de-duplication, watchdog groups, budgets) and
what a section's result means; this module is the wire format between the two, so the
producer (the script sent to the host) and the parser cannot disagree about it.

Every marker is one line, `<nonce> <kind> <fields>`, the nonce random per run (`new_nonce`)
and shown to no section (it is in no command line, environment or variable a section
sees), so a file on the target cannot fake another section's result by printing a marker:

    S <uid> <0|1>      the batch started: the uid it runs as, whether `timeout` exists
    B <i>              section i's output begins
    \\n E <i> <status>   section i ended, with its exit status ('' if unknown); the newline
                       before it ends a last line that had none, and is not output
    \\n G <g> <status>   watchdog group g (numbered by its first member) ended: its
                       watchdog's exit status, 124 or 137 when the group overran
    Z                  the whole batch finished

Text that contains the nonce without a well-formed marker after it stays output.

The shell side also carries the watchdogs: coreutils/busybox `timeout` when present
(it kills the whole process group), otherwise a shell watchdog that stops and kills the
process tree it finds through /proc (`_kt`; `_wd` waits for a child under that watchdog,
the same for a lone section and a group). A lone section runs under `_run` and `head`;
a group's members run under ONE `_grp` and ONE output limit (`_cut`). The script carries
no comments: it is shipped to every host, and the benchmark also hands it to ansible,
whose argument splitter trips over an apostrophe in a shell comment.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

TIMEOUT_STATUSES = (124, 137)
"""Exit statuses of `timeout` (and of our shell watchdog) when a section or group overran."""
MARKER_BYTES = 96
"""Framing per section (two marker lines) that a group's output limit allows for."""

_MARKER = re.compile(r"S (\d+) ([01])|B (\d+)|E (\d+) (\d*)|G (\d+) (\d*)|Z")
"""What follows the nonce on a marker line (see the module docstring)."""

BUILTIN_HELPERS = '_st() { return "$1"; }\n'
"""Shell functions that uncontained (builtin) sections may call. Defined in the batch's
shell and again in every watchdog group's fresh `sh -s`, which does not inherit them."""

# `_cut LIMIT` is a group's output limit, used only at the end of a pipeline (its `exec`
# replaces that pipeline's subshell). dd reads everything up to the limit, then writes it in
# one go: the members' many small writes would each become an SSH packet. Without dd, head
# (which writes as it reads).
_PRELUDE = """\
export LC_ALL=C
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
N={nonce}
exec 3>&1
if command -v timeout >/dev/null 2>&1; then _T=1; else _T=0; fi
if command -v dd >/dev/null 2>&1; then _D=1; else _D=0; fi
_kt() {{
  kill -STOP "$1" 2>/dev/null
  _c=
  for _f in /proc/[0-9]*/stat; do
    {{ IFS= read -r _x < "$_f"; }} 2>/dev/null || continue
    _x=${{_x##*) }}; _x=${{_x#* }}
    if [ "${{_x%% *}}" = "$1" ]; then _f=${{_f#/proc/}}; _c="$_c ${{_f%/stat}}"; fi
  done
  for _k in $_c; do _kt "$_k"; done
  kill -9 "$1" 2>/dev/null
}}
_wd() {{
  ( sleep "$1"; _kt "$2" ) >/dev/null 2>&1 </dev/null &
  _w=$!
  wait "$2"; _r=$?
  kill "$_w" >/dev/null 2>&1
  if [ "$_r" = 137 ]; then _r=124; fi
  return "$_r"
}}
_run() {{
  if [ "$_T" = 1 ]; then timeout -k 1 "$1" /bin/sh -c "$2"; return $?; fi
  /bin/sh -c "$2" &
  _wd "$1" "$!"
}}
_grp() {{
  if [ "$_T" = 1 ]; then timeout -k 1 "$1" /bin/sh -s; return $?; fi
  exec 5<&0
  /bin/sh -s <&5 5<&- &
  _p=$!
  exec 5<&-
  _wd "$1" "$_p"
}}
_cut() {{
  if [ "$_D" = 1 ]; then exec dd iflag=fullblock bs="$1" count=1 2>/dev/null; fi
  exec head -c "$1"
}}
{builtins}_u=
while IFS=' 	' read -r _k _ru _eu _r; do
  if [ "$_k" = Uid: ]; then _u=$_eu; break; fi
done < /proc/self/status 2>/dev/null
[ -n "$_u" ] || _u=$(id -u)
printf '%s S %s %s\\n' "$N" "$_u" "$_T"
"""


def new_nonce() -> str:
    return secrets.token_hex(12)


# --- the producer: shell that prints the markers ------------------------------------------


def prelude(nonce: str) -> str:
    """The batch's start: environment, watchdog helpers, then the `S` marker."""
    return _PRELUDE.format(nonce=nonce, builtins=BUILTIN_HELPERS)


def begin(index: int) -> str:
    return f"printf '%s B {index}\\n' \"$N\"\n"


def end(index: int, status: str) -> str:
    """The `E` marker; `status` is shell for the exit status (`$?`, `$_rc`)."""
    return f'printf \'\\n%s E {index} %s\\n\' "$N" "{status}"\n'


def finished() -> str:
    return "printf '%s Z\\n' \"$N\"\n"


def lone_watchdog(script: str, budget: int, limit: int) -> str:
    """Run `script` alone under its own watchdog and output limit (one byte over it shows
    truncation); its exit status lands in `$_rc`."""
    return (
        f"_rc=$( {{ {{ _run {budget} {shlex.quote(script)} </dev/null 2>&1; "
        f'echo "$?" >&4; }} | head -c {limit + 1} >&3; }} 4>&1 )\n'
    )


def watchdog_group(nonce: str, budget: int, members: Sequence[tuple[int, str]], limit: int) -> str:
    """One watchdog and one output limit (`_cut`) for `members`: (index, shell that runs
    the member with stdout and stderr joined). The group is numbered by its first member.

    The group's script goes to a child `sh` on stdin through a here-document, never on a
    command line: `ps` on the target shows neither the nonce nor the scripts.
    """
    group = members[0][0]
    stop = f"_GROUP_END_{nonce}"
    lines = [f"N={nonce}\n", BUILTIN_HELPERS]
    for index, body in members:
        lines += [begin(index), body, end(index, "$?")]
    return (
        f"{{ _grp {budget} <<'{stop}'\n"
        + "".join(lines)
        + f"{stop}\n"
        + f'printf \'\\n%s G {group} %s\\n\' "$N" "$?"; }} 2>&1 | _cut {limit}\n'
    )


def marker(nonce: str, kind: str) -> str:
    """How a marker of `kind` starts in the output (`S `, `Z`…), for tools that count them."""
    return f"{nonce} {kind}"


# --- the parser --------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchHeader:
    """The `S` marker: the batch started."""

    uid: int
    has_timeout: bool


@dataclass
class Frames:
    """A batch's output cut at its markers, before any meaning is given to it."""

    header: BatchHeader | None = None
    bodies: dict[int, str] = field(default_factory=dict)
    """Output of each section whose `B` marker arrived (complete or not)."""
    statuses: dict[int, str] = field(default_factory=dict)
    """Exit status text of each section whose `E` marker arrived ('' if unknown)."""
    group_statuses: dict[int, str] = field(default_factory=dict)
    """Watchdog exit status text of each group whose `G` marker arrived."""


def read_frames(output: bytes, nonce: str) -> Frames:
    """Split the combined output at the nonce's markers.

    One pass over the text, split at the nonce (no regex per section: compiling one per
    section and host was a tenth of the auditor's CPU). The `E` marker's leading newline
    stays in the body here; `unframed` removes it.
    """
    text = output.decode("utf-8", errors="replace")
    frames = Frames()
    bodies: dict[int, list[str]] = {}
    current: list[str] | None = None
    current_index = -1
    for piece in text.split(nonce + " ")[1:]:
        line, newline, rest = piece.partition("\n")
        match = _MARKER.fullmatch(line) if newline else None
        if match is not None:
            uid, has_timeout, begun, ended, status, group, group_status = match.groups()
            if uid is not None and frames.header is None and not bodies:
                frames.header = BatchHeader(int(uid), has_timeout == "1")
                continue
            if begun is not None:
                current_index = int(begun)
                current = bodies[current_index] = [rest]
                continue
            if ended is not None and current is not None and int(ended) == current_index:
                frames.statuses[current_index] = status
                current = None
                continue
            if group is not None:
                frames.group_statuses[int(group)] = group_status
                if current is not None and current[-1].endswith("\n"):
                    current[-1] = current[-1][:-1]  # the group marker's own newline
                current = None
                continue
            if uid is None and begun is None and ended is None and current is None:
                continue  # Z
        if current is not None:
            current.append(nonce + " " + piece)
    frames.bodies = {index: "".join(chunks) for index, chunks in bodies.items()}
    return frames


def unframed(body: str) -> str:
    """A finished section's output without the newline its `E` marker put before itself."""
    return body[:-1] if body.endswith("\n") else body


def group_problem(status: str | None, budget: float, size: int) -> str:
    """Why a group's unfinished members have no result, from its `G` marker (None: the
    marker never came, so the group's output was cut off at its limit)."""
    if status is None:
        return f"the output of its group of {size} checks was cut off at the group's limit"
    if status and int(status) in TIMEOUT_STATUSES:
        return f"its group of {size} checks overran their shared {budget:g} s budget"
    return f"its group of {size} checks stopped early (exit status {status or 'unknown'})"
