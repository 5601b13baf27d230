"""What a Wazuh policy needs from a host, gathered by ONE shell section, parsed back locally.

The section reads every file the policy names once (however many checks use it), lists
every directory once (recursively, with the contents of its files when a rule looks
inside them), takes the process list once, and runs each distinct command once under its
own time budget and output limit. Nothing is matched on the host: regexes are evaluated
locally (evaluate.py), so the dialect is the same on every target whatever grep it has.

Commands are split into arguments like the agent's tokenizer (rules.split_command: double
quotes and backslashes only) and executed directly, without a shell: no pipes, globs or `$`
expansion, exactly as the agent runs them. Each argument is quoted with shlex.quote when
rendered, so the policy text cannot smuggle shell syntax into our script.

Pieces of output are framed by a random per-process marker: a file on the host cannot
fake another piece's result by containing a marker line, because it cannot know the
marker when it was written.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from compliance.hosts.batch import Section
from compliance.hosts.wazuh.rules import Rule

MARK = "WZ" + secrets.token_hex(10)
FILE_LIMIT = 256 * 1024
COMMAND_LIMIT = 4 * 1024 * 1024
DIR_FILE_LIMIT = 64 * 1024
LISTING_LIMIT = 256 * 1024
PROCESS_LIMIT = 1024 * 1024
LANES = 4
"""Commands run in this many parallel lanes on the host (apt, dpkg and systemctl calls
dominate a CIS policy's time; most hosts have idle cores)."""
TIMED_OUT = (124, 137)
"""Exit statuses of `timeout` (and of our shell watchdog) when a command ran too long."""

_PRELUDE = """\
M={mark}
exec 3>&1
if command -v timeout >/dev/null 2>&1; then _W=1; else _W=0; fi
_w() {{
  _b=$1; shift
  if [ "$_W" = 1 ]; then timeout -k 1 "$_b" "$@"; return $?; fi
  "$@" &
  _p=$!
  ( sleep "$_b"; kill -9 "$_p" ) >/dev/null 2>&1 </dev/null &
  _k=$!
  wait "$_p"; _r=$?
  kill "$_k" >/dev/null 2>&1
  if [ "$_r" = 137 ]; then _r=124; fi
  return "$_r"
}}
_f() {{
  printf '%s B %s\\n' "$M" "$1"
  if [ -f "$2" ]; then
    _s=F
    if [ "$3" = 1 ]; then head -c {file_cut} -- "$2" 2>/dev/null || _s=R; fi
  elif [ -e "$2" ]; then _s=O
  else _s=N
  fi
  printf '\\n%s E %s %s\\n' "$M" "$1" "$_s"
}}
_t() {{
  if [ -L "$1" ]; then _y=l
  elif [ -d "$1" ]; then _y=d
  elif [ -f "$1" ]; then _y=f
  else _y=o
  fi
}}
_d() {{
  printf '%s B %s\\n' "$M" "$1"
  if [ -d "$2" ]; then
    _s=D
    if [ "$3" != 0 ]; then
      find "$2/" 2>/dev/null | head -c {listing_cut} | while IFS= read -r _e; do
        [ "$_e" = "$2/" ] && continue
        _t "$_e"; printf '%s %s\\n' "$_y" "$_e"
      done
    fi
  elif [ -e "$2" ]; then _s=O
  else _s=N
  fi
  printf '\\n%s E %s %s\\n' "$M" "$1" "$_s"
  if [ "$_s" = D ] && [ "$3" = 2 ]; then
    _n=0
    find "$2/" 2>/dev/null | while IFS= read -r _e; do
      [ -f "$_e" ] || continue
      _n=$((_n + 1))
      printf '%s B %s.%s %s\\n' "$M" "$1" "$_n" "$_e"
      if head -c {dir_file_cut} -- "$_e" 2>/dev/null; then _s=F; else _s=R; fi
      printf '\\n%s E %s.%s %s\\n' "$M" "$1" "$_n" "$_s"
    done
  fi
}}
_p() {{
  printf '%s B p\\n' "$M"
  for _e in /proc/[0-9]*/comm; do
    read -r _n < "$_e" && printf 'c %s\\n' "$_n"
  done 2>/dev/null
  if command -v ps >/dev/null 2>&1; then
    ps -e -o args= 2>/dev/null | while IFS= read -r _e; do printf 'a %s\\n' "$_e"; done
  fi
  printf '\\n%s E p 0\\n' "$M"
}}
_c() {{
  _k=$1; _b=$2; _l=$3; shift 3
  printf '%s B %s\\n' "$M" "$_k"
  _s=$( {{ {{ _w "$_b" "$@" </dev/null 2>&1; echo "$?" >&4; }} | head -c "$_l" >&3; }} 4>&1 )
  printf '\\n%s E %s %s\\n' "$M" "$_k" "$_s"
}}
"""

FileState = Literal["file", "missing", "other", "unreadable"]
DirState = Literal["dir", "missing", "other"]
_FILE_STATES: dict[str, FileState] = {
    "F": "file",
    "N": "missing",
    "O": "other",
    "R": "unreadable",
}
_DIR_STATES: dict[str, DirState] = {"D": "dir", "N": "missing", "O": "other"}


@dataclass
class Needs:
    """Everything a policy asks of a host; each item once."""

    files: dict[str, bool] = field(default_factory=dict)
    """path → whether its content is needed (False: existence only)."""
    dirs: dict[str, int] = field(default_factory=dict)
    """dir → 0 existence, 1 recursive listing, 2 listing and file contents."""
    commands: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """command text → argv."""
    processes: bool = False

    def add(self, rule: Rule) -> None:
        if rule.type == "f":
            for path in rule.targets:
                self.files[path] = self.files.get(path, False) or rule.expression is not None
        elif rule.type == "d":
            level = 0 if rule.file_pattern is None else 1 if rule.expression is None else 2
            for path in rule.targets:
                self.dirs[path] = max(self.dirs.get(path, 0), level)
        elif rule.type == "c":
            self.commands.setdefault(rule.targets[0], rule.argv)
        else:
            self.processes = True


@dataclass(frozen=True)
class Plan:
    section: Section
    file_keys: dict[str, str]
    dir_keys: dict[str, str]
    command_keys: dict[str, str]
    processes: bool
    command_budget: float


def plan(rules: Iterable[Rule], command_budget: float) -> Plan:
    needs = Needs()
    for rule in rules:
        needs.add(rule)
    lines = [
        _PRELUDE.format(
            mark=MARK,
            file_cut=FILE_LIMIT + 1,
            listing_cut=LISTING_LIMIT + 1,
            dir_file_cut=DIR_FILE_LIMIT + 1,
        )
    ]
    limit = 4096
    file_keys: dict[str, str] = {}
    for index, (path, content) in enumerate(needs.files.items()):
        key = file_keys[path] = f"f{index}"
        lines.append(f"_f {key} {shlex.quote(path)} {int(content)}\n")
        limit += (FILE_LIMIT if content else 0) + len(path) + 128
    dir_keys: dict[str, str] = {}
    for index, (path, level) in enumerate(needs.dirs.items()):
        key = dir_keys[path] = f"d{index}"
        lines.append(f"_d {key} {shlex.quote(path)} {level}\n")
        limit += (LISTING_LIMIT if level else 0) + (4 * 1024 * 1024 if level == 2 else 0) + 256
    if needs.processes:
        lines.append("_p\n")
        limit += PROCESS_LIMIT
    command_keys: dict[str, str] = {}
    calls: list[str] = []
    budget = max(1, round(command_budget))
    for index, (command, argv) in enumerate(needs.commands.items()):
        key = command_keys[command] = f"c{index}"
        quoted = " ".join(shlex.quote(a) for a in argv)
        calls.append(f"_c {key} {budget} {COMMAND_LIMIT + 1} {quoted}\n")
        limit += COMMAND_LIMIT + 256
    lines.append(_lanes(calls))
    lanes = min(LANES, len(calls)) or 1
    budget_total = 30.0 + (budget + 1.5) * -(-len(calls) // lanes) * 2
    # a subshell of its own: our fd 3, functions and EXIT trap never touch the batch's shell
    script = "(\n" + "".join(lines) + ")\n"
    section = Section(script, budget=budget_total, limit=limit)
    return Plan(section, file_keys, dir_keys, command_keys, needs.processes, command_budget)


def _lanes(calls: list[str]) -> str:
    """Commands in LANES background lanes, each into its own temporary file, then printed
    in order; where no temporary directory can be made, one after the other."""
    if not calls:
        return ""
    lanes = [calls[i::LANES] for i in range(min(LANES, len(calls)))]
    parallel = [f'{{\n{"".join(lane)}}} >"$_D/{i}" 3>&1 2>&1 &\n' for i, lane in enumerate(lanes)]
    files = " ".join(f'"$_D/{i}"' for i in range(len(lanes)))
    return (
        '_D=$(mktemp -d "${TMPDIR:-/tmp}/compliance-wazuh.XXXXXX" 2>/dev/null) || _D=\n'
        'if [ -n "$_D" ] && [ -d "$_D" ]; then\n'
        "trap 'rm -rf \"$_D\"' EXIT\n"
        + "".join(parallel)
        + f'wait\ncat {files}\nrm -rf "$_D"\nelse\n'
        + "".join(calls)
        + "fi\n"
    )


@dataclass(frozen=True)
class FileFact:
    state: FileState
    content: str = ""
    truncated: bool = False


@dataclass(frozen=True)
class DirFact:
    state: DirState
    entries: tuple[tuple[str, str], ...] = ()
    """(type, path): d directory, f regular file, l symbolic link, o anything else."""
    truncated: bool = False


@dataclass(frozen=True)
class CommandFact:
    status: int
    output: str
    truncated: bool = False

    @property
    def timed_out(self) -> bool:
        return self.status in TIMED_OUT


@dataclass
class Collected:
    """What one host said, by fact. A fact that is absent was cut off (never guessed)."""

    files: dict[str, FileFact] = field(default_factory=dict)
    dirs: dict[str, DirFact] = field(default_factory=dict)
    dir_files: dict[str, FileFact] = field(default_factory=dict)
    commands: dict[str, CommandFact] = field(default_factory=dict)
    processes: tuple[str, ...] | None = None
    problem: str = ""


@dataclass(frozen=True)
class _Piece:
    extra: str
    body: str
    status: str


_BEGIN = re.compile(rf"(?m)^{MARK} B (\S+)(?: (.*))?\n")


def _pieces(output: str) -> dict[str, _Piece]:
    pieces: dict[str, _Piece] = {}
    position = 0
    while True:
        begin = _BEGIN.search(output, position)
        if begin is None:
            return pieces
        key = begin.group(1)
        end = re.compile(rf"\n{MARK} E {re.escape(key)} (\S*)\n").search(output, begin.end())
        if end is None:  # cut off: this piece and everything after it is unknown
            return pieces
        pieces[key] = _Piece(begin.group(2) or "", output[begin.end() : end.start()], end.group(1))
        position = end.end()


def parse(plan_: Plan, output: str, problem: str = "") -> Collected:
    pieces = _pieces(output)
    collected = Collected(problem=problem)
    for path, key in plan_.file_keys.items():
        piece = pieces.get(key)
        if piece is not None and piece.status in _FILE_STATES:
            collected.files[path] = FileFact(
                _FILE_STATES[piece.status], piece.body, _over(piece.body, FILE_LIMIT)
            )
    for path, key in plan_.dir_keys.items():
        piece = pieces.get(key)
        if piece is None or piece.status not in _DIR_STATES:
            continue
        entries = []
        for line in piece.body.splitlines():
            kind, _, entry = line.partition(" ")
            if kind in ("d", "f", "l", "o") and entry:
                entries.append((kind, entry))
        collected.dirs[path] = DirFact(
            _DIR_STATES[piece.status], tuple(entries), _over(piece.body, LISTING_LIMIT)
        )
        prefix = key + "."
        for name, file_piece in pieces.items():
            if name.startswith(prefix) and file_piece.status in _FILE_STATES:
                collected.dir_files[file_piece.extra] = FileFact(
                    _FILE_STATES[file_piece.status],
                    file_piece.body,
                    _over(file_piece.body, DIR_FILE_LIMIT),
                )
    for command, key in plan_.command_keys.items():
        piece = pieces.get(key)
        if piece is not None and piece.status.isdigit():
            collected.commands[command] = CommandFact(
                int(piece.status), piece.body, _over(piece.body, COMMAND_LIMIT)
            )
    if plan_.processes and "p" in pieces:
        names: list[str] = []
        for line in pieces["p"].body.splitlines():
            kind, _, value = line.partition(" ")
            if kind == "c" and value:
                names.append(value)
            elif kind == "a" and value:
                names.append(value)
                argv0 = value.split()[0]
                names.extend({argv0, argv0.rsplit("/", 1)[-1]})
        collected.processes = tuple(dict.fromkeys(names))
    return collected


def _over(body: str, limit: int) -> bool:
    return len(body) > limit or len(body.encode("utf-8", errors="replace")) > limit
