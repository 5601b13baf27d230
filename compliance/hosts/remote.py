"""Run a `Batch` on a connected host: one exec, `sudo -n` at most once, bounded output."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from compliance.hosts.batch import Batch, SectionResult
from compliance.hosts.framing import BatchHeader, new_nonce
from compliance.hosts.ssh import HostFailure, HostSession

SHELL = "/bin/sh -s"
SUDO_SHELL = "sudo -n /bin/sh -s"
"""`-n`: never prompt. A sudo that wants a password fails at once instead of hanging."""


@dataclass(frozen=True)
class BatchRun:
    header: BatchHeader
    results: dict[str, SectionResult]
    problem: str = ""
    """Why some sections have no result (batch timed out, output cut off); '' when all ran."""


def run_batch(
    session: HostSession, batch: Batch, *, sudo: bool, timeout: float | None = None
) -> BatchRun:
    """Run `batch`; then, if a watchdog group overran, its unfinished members alone.

    `timeout` bounds both runs together; None: each run's own `Batch.deadline()`.
    """
    started = time.monotonic()
    run = _run_once(session, batch, sudo=sudo, timeout=timeout)
    retry = [key for key, result in run.results.items() if result.retry]
    if not retry:
        return run
    left = None if timeout is None else timeout - (time.monotonic() - started)
    results = dict(run.results)
    why = "no time left to run it alone"
    if left is None or left > 0:
        try:
            again = _run_once(session, batch.alone(retry), sudo=sudo, timeout=left)
        except HostFailure as exc:
            why = f"running it alone failed: {exc.reason}"
        else:
            results.update({key: again.results[key] for key in retry})
            return BatchRun(run.header, results, run.problem or again.problem)
    for key in retry:
        problem = f"{results[key].problem}; {why}"
        results[key] = replace(results[key], problem=problem, retry=False)
    return BatchRun(run.header, results, run.problem)


def _run_once(session: HostSession, batch: Batch, *, sudo: bool, timeout: float | None) -> BatchRun:
    nonce = new_nonce()
    script = batch.render(nonce).encode()
    limit = batch.output_limit()
    deadline = timeout if timeout is not None else batch.deadline()
    result = session.run(SUDO_SHELL if sudo else SHELL, script, timeout=deadline, limit=limit)
    problem = ""
    if result.cut_off:
        problem = (
            f"output cut off after {limit} bytes: the host printed more than the checks "
            "can produce (a hostile or broken shell?)"
        )
    elif result.timed_out:
        problem = f"the batch did not finish within {deadline:.0f} s; cut off"
    header, results = batch.parse(result.output, nonce, cut_reason=problem)
    if header is None:
        said = result.output[:300].decode("utf-8", errors="replace").strip()
        if problem:
            raise HostFailure("unreachable", f"{session.host.name}: {problem}")
        if sudo:
            raise HostFailure(
                "sudo",
                f"`sudo -n` failed for {session.host.user} on {session.host.name}: "
                f"{said or 'no output'}",
                hint="allow the audit user passwordless sudo for /bin/sh, or set sudo: false",
            )
        raise HostFailure(
            "unreachable",
            f"the remote shell on {session.host.name} did not start the batch: "
            f"{said or 'no output'} (exit {result.exit_status})",
            hint="the audit needs a POSIX /bin/sh on the host",
        )
    if sudo and header.uid != 0:
        raise HostFailure(
            "sudo", f"`sudo -n` on {session.host.name} ran as uid {header.uid}, not root"
        )
    return BatchRun(header, results, problem)
