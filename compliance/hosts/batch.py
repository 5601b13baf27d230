"""Many small shell sections, one remote execution, parsed back apart locally.

This is the remote-execution layer every host check kind shares (native checks, and later
Wazuh SCA rules): a caller adds `Section`s, we render ONE POSIX `sh` script, the SSH layer
runs it once, and `parse` hands each section its own output and exit status.

Why one script: a round trip per check costs ~a millisecond on a LAN but a whole
connection setup per check would cost ~100 ms; forty checks times a thousand hosts adds up.
Why sections are framed by a random nonce: the target writes the output, so a file on the
target must not be able to fake another section's result by printing a marker.

Every section that may run an external program gets its own time budget (coreutils or
busybox `timeout` when present, otherwise a shell watchdog) and its output is cut at a
limit on the target (`head -c`), so one hanging or chatty check cannot take the rest of the
host down with it. Sections marked `contained=False` run shell builtins only and cannot hang
(reading /proc/sys, testing a path): they skip the wrapper, which saves forks.
"""

from __future__ import annotations

import math
import re
import secrets
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DEFAULT_BUDGET = 10.0
DEFAULT_LIMIT = 64 * 1024
TIMEOUT_STATUSES = (124, 137)
_MARKER = re.compile(r"S (\d+) ([01])|B (\d+)|E (\d+) (\d*)|Z")
"""What follows the nonce on a marker line: Start, Begin i, End i status, Z (all done)."""

_PRELUDE = """\
export LC_ALL=C
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
N={nonce}
exec 3>&1
if command -v timeout >/dev/null 2>&1; then _T=1; else _T=0; fi
_run() {{
  if [ "$_T" = 1 ]; then timeout -k 1 "$1" /bin/sh -c "$2"; return $?; fi
  /bin/sh -c "$2" &
  _p=$!
  ( sleep "$1"; kill -9 "$_p" ) >/dev/null 2>&1 </dev/null &
  _w=$!
  wait "$_p"; _r=$?
  kill "$_w" >/dev/null 2>&1
  if [ "$_r" = 137 ]; then _r=124; fi
  return "$_r"
}}
printf '%s S %s %s\\n' "$N" "$(id -u)" "$_T"
"""


@dataclass(frozen=True)
class Section:
    """A piece of POSIX sh whose stdout+stderr and exit status come back on their own."""

    script: str
    budget: float = DEFAULT_BUDGET
    limit: int = DEFAULT_LIMIT
    contained: bool = True

    @property
    def key(self) -> str:
        """Identical scripts run once per host, however many checks read their output."""
        return ("C:" if self.contained else "U:") + self.script


@dataclass(frozen=True)
class SectionResult:
    output: str
    status: int | None
    """Exit status; None when the section never finished (see `problem`)."""
    timed_out: bool = False
    truncated: bool = False
    problem: str = ""

    @property
    def ran(self) -> bool:
        return self.status is not None and not self.timed_out


@dataclass(frozen=True)
class BatchHeader:
    uid: int
    has_timeout: bool


class Batch:
    """An ordered, de-duplicated set of sections for one host."""

    def __init__(self, sections: Iterable[Section] = ()) -> None:
        self._sections: dict[str, Section] = {}
        for section in sections:
            self.add(section)

    def add(self, section: Section) -> str:
        """Add a section (merging with an identical script: longest budget, largest limit)."""
        key = section.key
        known = self._sections.get(key)
        if known is not None:
            section = Section(
                section.script,
                max(section.budget, known.budget),
                max(section.limit, known.limit),
                section.contained,
            )
        self._sections[key] = section
        return key

    def __len__(self) -> int:
        return len(self._sections)

    @property
    def sections(self) -> tuple[Section, ...]:
        return tuple(self._sections.values())

    def deadline(self) -> float:
        """Seconds the whole batch may take if every contained section used its budget."""
        total = sum(math.ceil(s.budget) + 1 for s in self._sections.values() if s.contained)
        return total + 10.0 + 0.05 * len(self._sections)

    def output_limit(self) -> int:
        """The most output a well-behaved target can produce; more means a hostile host."""
        return sum(s.limit + 256 for s in self._sections.values()) + 64 * 1024

    def render(self, nonce: str) -> str:
        parts = [_PRELUDE.format(nonce=nonce)]
        for index, section in enumerate(self._sections.values()):
            parts.append(f"printf '%s B {index}\\n' \"$N\"\n")
            if section.contained:
                budget = max(1, math.ceil(section.budget))
                parts.append(
                    f"_rc=$( {{ {{ _run {budget} {shlex.quote(section.script)} </dev/null 2>&1; "
                    f'echo "$?" >&4; }} | head -c {section.limit + 1} >&3; }} 4>&1 )\n'
                )
            else:
                parts.append(f"( {section.script}\n) </dev/null 2>&1\n_rc=$?\n")
            parts.append(f'printf \'\\n%s E {index} %s\\n\' "$N" "$_rc"\n')
        parts.append("printf '%s Z\\n' \"$N\"\n")
        return "".join(parts)

    def parse(
        self, output: bytes, nonce: str, *, cut_reason: str = ""
    ) -> tuple[BatchHeader | None, dict[str, SectionResult]]:
        """Split the combined output back into sections.

        `cut_reason` says why the output may end early (timed out, cut off at the limit);
        every section without its end marker gets that as its problem.

        One pass over the text, split at the nonce (no regex per section: compiling one
        per section and host was a tenth of the auditor's CPU). Text that merely contains
        the nonce without a well-formed marker after it stays part of the section's output.
        """
        text = output.decode("utf-8", errors="replace")
        header: BatchHeader | None = None
        bodies: dict[int, list[str]] = {}
        statuses: dict[int, str] = {}
        current: list[str] | None = None
        current_index = -1
        for piece in text.split(nonce + " ")[1:]:
            line, newline, rest = piece.partition("\n")
            match = _MARKER.fullmatch(line) if newline else None
            if match is not None:
                uid, has_timeout, begin, end, status = match.groups()
                if uid is not None and header is None and not bodies:
                    header = BatchHeader(int(uid), has_timeout == "1")
                    continue
                if begin is not None:
                    current_index = int(begin)
                    current = bodies[current_index] = [rest]
                    continue
                if end is not None and current is not None and int(end) == current_index:
                    statuses[current_index] = status
                    current = None
                    continue
                if uid is None and begin is None and end is None and current is None:
                    continue  # Z
            if current is not None:
                current.append(nonce + " " + piece)
        results: dict[str, SectionResult] = {}
        missing = cut_reason or "the remote shell stopped before this section finished"
        for index, (key, section) in enumerate(self._sections.items()):
            chunks = bodies.get(index)
            if chunks is None:
                results[key] = SectionResult("", None, problem=f"did not run: {missing}")
                continue
            body = "".join(chunks)
            if index not in statuses:
                partial = body[: section.limit]
                results[key] = SectionResult(partial, None, problem=f"did not finish: {missing}")
                continue
            body = body[:-1] if body.endswith("\n") else body
            status_text = statuses[index]
            status = int(status_text) if status_text else None
            truncated = len(body.encode("utf-8", errors="replace")) > section.limit
            if truncated:
                body = body[: section.limit]
            timed_out = section.contained and status in TIMEOUT_STATUSES
            problem = ""
            if timed_out:
                problem = f"timed out after {max(1, math.ceil(section.budget))} s"
            elif status is None:
                problem = "exit status missing"
            results[key] = SectionResult(body, status, timed_out, truncated, problem)
        return header, results


def new_nonce() -> str:
    return secrets.token_hex(12)


def results_for(
    keys: Mapping[str, str], results: Mapping[str, SectionResult]
) -> dict[str, SectionResult]:
    """Map caller names to their section results (callers keep name → section key)."""
    return {name: results[key] for name, key in keys.items()}
