"""Many small shell sections, one remote execution, parsed back apart locally.

This is the remote-execution layer every host check kind shares (native checks, and later
Wazuh SCA rules): a caller adds `Section`s, we render ONE POSIX `sh` script, the SSH layer
runs it once, and `parse` hands each section its own output and exit status.

Why one script: a round trip per check costs ~a millisecond on a LAN but a whole
connection setup per check would cost ~100 ms; forty checks times a thousand hosts adds up.
Why sections are framed by a random nonce: the target writes the output, so a file on the
target must not be able to fake another section's result by printing a marker. The framing
(markers, the watchdog shell, the reader) is defined once, in `framing.py`; this module
plans what runs and gives the framed output its meaning.

Every section that may run an external program has a time budget and an output limit, so
one hanging or chatty check cannot take the rest of the host down with it. The budget is
coreutils/busybox `timeout` (it kills the whole process group); without one, a shell
watchdog stops and kills the process tree it finds through /proc (`_kt`). Sections marked
`contained=False` run shell builtins only and cannot hang (reading /proc/sys, testing a
path): they skip any watchdog, which saves forks.

Cost on the target is forks and execs (a `timeout`, an `sh -c` and a `head` per section
were ~5 ms of CPU each, most of a host's audit). So contained sections that may safely
run twice (`rerunnable`, the default: checks only read) and have the same budget (or a
`group_budget` as short) share ONE watchdog: one `timeout` and one `head` for the whole
group, each member still in its own subshell. If the group finishes within the budget,
every member did too. If it does
not (a hung NFS stat, a flood of output), the members that finished keep their results and
the others are marked `retry`: `run_batch` runs them again, each alone under its own
`timeout` and `head`, exactly as a lone section always runs. So every section still gets
its full budget and its own limit; only a host that misbehaves pays a second round trip.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from compliance.hosts import framing
from compliance.hosts.framing import MARKER_BYTES, TIMEOUT_STATUSES, BatchHeader, new_nonce

__all__ = [
    "MARKER_BYTES",
    "TIMEOUT_STATUSES",
    "Batch",
    "BatchHeader",
    "Section",
    "SectionResult",
    "new_nonce",
    "results_for",
]

DEFAULT_BUDGET = 10.0
DEFAULT_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Section:
    """A piece of POSIX sh whose stdout+stderr and exit status come back on their own."""

    script: str
    budget: float = DEFAULT_BUDGET
    limit: int = DEFAULT_LIMIT
    contained: bool = True
    isolated: bool = True
    """False (uncontained sections only): runs in the batch's own shell, not a subshell,
    which saves a fork. Only for builtin scripts that never `exit`, `exec`, `cd` or set
    variables other than `_`-prefixed ones; `_st N` sets the status without a fork."""
    rerunnable: bool = True
    """Safe to run twice (it only reads): may share a watchdog with other sections and run
    again alone if that group overruns. False: always runs alone under its own watchdog."""
    group_budget: float | None = None
    """A shorter budget under which this section may share a watchdog group: for a section
    that normally finishes well within it but gets a longer `budget` as a safety margin
    (the package list). If the group overruns, it runs again alone with its full budget."""

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
    retry: bool = False
    """No result because the section's shared watchdog group overran or was cut off:
    running it again alone (its own budget and limit) can still give one."""

    @property
    def ran(self) -> bool:
        return self.status is not None and not self.timed_out


class Batch:
    """An ordered, de-duplicated set of sections for one host."""

    def __init__(self, sections: Iterable[Section] = ()) -> None:
        self._sections: dict[str, Section] = {}
        self._groups: list[tuple[float, list[int]]] | None = None
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
                section.isolated or known.isolated,
                section.rerunnable and known.rerunnable,
                _longer(section.group_budget, known.group_budget),
            )
        self._sections[key] = section
        self._groups = None
        return key

    def __len__(self) -> int:
        return len(self._sections)

    @property
    def sections(self) -> tuple[Section, ...]:
        return tuple(self._sections.values())

    def alone(self, keys: Iterable[str]) -> Batch:
        """The sections `keys` (as `add` returned them) as a batch where each runs alone."""
        return Batch(replace(self._sections[k], rerunnable=False) for k in keys)

    def groups(self) -> list[tuple[float, list[int]]]:
        """(shared budget, member indices) for every watchdog group of two or more.

        A group's budget (whole seconds, as `timeout` takes it) is never longer than any
        member's own, so finishing within it means each member finished within its own;
        a member whose own budget is longer (`group_budget`) gets it when run again alone.
        Groups are split so one group's output limit stays modest.

        Uncontained sections (builtins) join the first group too: they need no watchdog,
        but there their output leaves the host with the group's in one write instead of
        dozens of small ones (each an SSH packet the auditor decrypts and hands over in
        Python); if the group overruns they run again alone, in the batch's own shell.
        """
        if self._groups is None:
            self._groups = self._plan_groups()
        return self._groups

    def _plan_groups(self) -> list[tuple[float, list[int]]]:
        by_budget: dict[int, list[list[int]]] = {}
        sizes: dict[int, int] = {}
        for index, section in enumerate(self._sections.values()):
            if not (section.contained and section.rerunnable):
                continue
            budget = max(1, math.ceil(_group_budget(section)))
            chunks = by_budget.setdefault(budget, [[]])
            if chunks[-1] and sizes.get(budget, 0) + section.limit > GROUP_LIMIT:
                chunks.append([])
                sizes[budget] = 0
            chunks[-1].append(index)
            sizes[budget] = sizes.get(budget, 0) + section.limit
        groups = [
            (float(budget), members)
            for budget, chunks in by_budget.items()
            for members in chunks
            if len(members) > 1
        ]
        if groups:
            builtins = [
                index
                for index, section in enumerate(self._sections.values())
                if not section.contained and section.rerunnable
            ]
            first_budget, members = groups[0]
            groups[0] = (first_budget, sorted(members + builtins))
        return groups

    def deadline(self) -> float:
        """Seconds the whole batch may take if every contained section used its budget.

        A grouped section may use its group's budget and then its own when run again
        alone, so it counts twice: a slow host still gets every section's full budget.
        """
        sections = list(self._sections.values())
        total = sum(math.ceil(s.budget) + 1 for s in sections if s.contained)
        total += sum(math.ceil(budget) + 1 for budget, _ in self.groups())
        return total + 10.0 + 0.05 * len(sections)

    def output_limit(self) -> int:
        """The most output a well-behaved target can produce; more means a hostile host."""
        return sum(s.limit + 256 for s in self._sections.values()) + 64 * 1024

    def render(self, nonce: str) -> str:
        """The POSIX sh script for the host: every section framed (`framing`)."""
        sections = list(self._sections.values())
        grouped = {members[0]: (budget, members) for budget, members in self.groups()}
        in_group = {index for _, members in grouped.values() for index in members}
        parts = [framing.prelude(nonce)]
        for index, section in enumerate(sections):
            if index in grouped:
                budget, members = grouped[index]
                parts.append(_render_group(nonce, budget, members, sections))
                continue
            if index in in_group:
                continue
            parts.append(framing.begin(index))
            if section.contained:
                budget = max(1, math.ceil(section.budget))
                parts.append(framing.lone_watchdog(section.script, budget, section.limit))
            else:
                parts.append(_in_shell(section, subshell=section.isolated) + "_rc=$?\n")
            parts.append(framing.end(index, "$_rc"))
        parts.append(framing.finished())
        return "".join(parts)

    def parse(
        self, output: bytes, nonce: str, *, cut_reason: str = ""
    ) -> tuple[framing.BatchHeader | None, dict[str, SectionResult]]:
        """Split the combined output back into sections.

        `cut_reason` says why the output may end early (timed out, cut off at the limit);
        every section without its end marker gets that as its problem.

        The markers are read by `framing.read_frames`; here each section's frames become
        its result (finished, timed out, cut off, or to run again alone).
        """
        frames = framing.read_frames(output, nonce)
        results: dict[str, SectionResult] = {}
        missing = cut_reason or "the remote shell stopped before this section finished"
        group_of = {i: (budget, members) for budget, members in self.groups() for i in members}
        for index, (key, section) in enumerate(self._sections.items()):
            body = frames.bodies.get(index)
            if index not in frames.statuses and index in group_of and not cut_reason:
                budget, members = group_of[index]
                status_of_group = frames.group_statuses.get(members[0])
                why = framing.group_problem(status_of_group, budget, len(members))
                ran = "did not finish" if body is not None else "did not run"
                results[key] = SectionResult(
                    (body or "")[: section.limit], None, problem=f"{ran}: {why}", retry=True
                )
                continue
            if body is None:
                results[key] = SectionResult("", None, problem=f"did not run: {missing}")
                continue
            if index not in frames.statuses:
                partial = body[: section.limit]
                results[key] = SectionResult(partial, None, problem=f"did not finish: {missing}")
                continue
            body = framing.unframed(body)
            status_text = frames.statuses[index]
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
        return frames.header, results


def _group_budget(section: Section) -> float:
    if section.group_budget is None:
        return section.budget
    return min(section.budget, section.group_budget)


def _longer(a: float | None, b: float | None) -> float | None:
    """Merged sections: no group budget if either has none, else the longer one."""
    return None if a is None or b is None else max(a, b)


GROUP_LIMIT = 8 * 1024 * 1024
"""A group's members' output limits add up to at most this (bigger ones start a new group)."""


def _render_group(nonce: str, budget: float, members: list[int], sections: list[Section]) -> str:
    """One watchdog and one output limit for `members` (`framing.watchdog_group`).

    Members read /dev/null, so none can swallow the rest of the group's script. Contained
    members each run in their own subshell, quoted and `eval`ed, so a syntax error in one
    stays in its own subshell, and none sees the nonce; uncontained ones run as in the
    batch's shell.
    """
    bodies = [
        (i, _in_shell(sections[i], subshell=sections[i].contained or sections[i].isolated))
        for i in members
    ]
    limit = sum(sections[i].limit + MARKER_BYTES for i in members) + MARKER_BYTES
    return framing.watchdog_group(nonce, max(1, math.ceil(budget)), bodies, limit)


def _in_shell(section: Section, *, subshell: bool) -> str:
    """A section run by the shell itself, stdout and stderr joined, reading /dev/null: in
    a subshell that cannot see the nonce (`N=`), or, for builtin-only scripts that are
    safe there (`Section.isolated` false), in the current shell, which saves a fork."""
    if subshell:
        return f"( N=; eval {shlex.quote(section.script)}\n) </dev/null 2>&1\n"
    return f"{{ {section.script}\n}} </dev/null 2>&1\n"


def results_for(
    keys: Mapping[str, str], results: Mapping[str, SectionResult]
) -> dict[str, SectionResult]:
    """Map caller names to their section results (callers keep name → section key)."""
    return {name: results[key] for name, key in keys.items()}
