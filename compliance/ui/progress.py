"""Progress on a terminal's stderr: one row per scanner, or hosts done/total for an audit.

Drawn only when stderr is a terminal and not -q (`Ui.progress`); a pipe or CI log gets no
progress at all, so logs hold facts, not redraws. The rows stay on screen when the work
ends (each scanner's files, findings and time; the audit's hosts and failures), above the
summary. Scanner and host names go through `terminal_safe` and are never read as markup.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from compliance.render.escape import terminal_safe
from compliance.scanners.interface import ScannerResult
from compliance.ui.console import Ui

if TYPE_CHECKING:  # paramiko and every check kind load with them: only `audit` needs them
    from compliance.hosts.audit import HostReport


def _progress(ui: Ui) -> Progress:
    return Progress(
        SpinnerColumn(finished_text=Text("done", style="green")),  # a str would be markup
        TextColumn("{task.description}", markup=False),
        TextColumn("{task.fields[status]}", markup=False),
        TimeElapsedColumn(),
        console=ui.err,
        transient=False,
        redirect_stdout=False,
        redirect_stderr=False,
    )


class ScanProgress:
    """A row per scanner: running, then its files and findings, with elapsed time."""

    def __init__(self, progress: Progress, names: list[str]):
        self._progress = progress
        self._lock = threading.Lock()
        self._total = len(names)
        self._done = 0
        self._rows: dict[str, TaskID] = {}
        self._overall = progress.add_task("scanners", total=self._total, status=self._counts())
        for name in names:
            self._rows[name] = progress.add_task(
                f"  {terminal_safe(name)}", total=1, start=False, status="waiting"
            )

    def _counts(self) -> str:
        return f"{self._done}/{self._total} done"

    def scanner_started(self, name: str) -> None:
        row = self._rows.get(name)
        if row is not None:
            self._progress.start_task(row)
            self._progress.update(row, status="running")

    def scanner_finished(self, result: ScannerResult) -> None:
        with self._lock:
            self._done += 1
            row = self._rows.get(result.scanner)
            state = "ok" if result.complete else "INCOMPLETE"
            status = (
                f"{result.files_scanned}/{result.files_requested} files, "
                f"{len(result.findings)} findings, {state}"
            )
            if row is not None:
                self._progress.update(row, completed=1, status=terminal_safe(status))
                self._progress.stop_task(row)
            self._progress.update(self._overall, completed=self._done, status=self._counts())
            if self._done == self._total:
                self._progress.stop_task(self._overall)


class AuditProgress:
    """Hosts done of total and failures so far, with elapsed time and the last host."""

    def __init__(self, progress: Progress):
        self._progress = progress
        self._lock = threading.Lock()
        self._done = 0
        self._failed = 0
        self._errors = 0
        self._total: int | None = None
        self._row = progress.add_task("hosts", total=None, status="reading the inventory")

    def hosts_selected(self, total: int) -> None:
        self._total = total
        self._progress.update(self._row, total=total, status=self._status(""))

    def _status(self, last: str) -> str:
        total = "?" if self._total is None else str(self._total)
        tail = f", last: {last}" if last else ""
        return (
            f"{self._done}/{total} audited, so far {self._failed} failing, "
            f"{self._errors} not judged (unreachable or error){tail}"
        )

    def host_done(self, report: HostReport) -> None:
        from compliance.hosts.checks.interface import CheckStatus

        with self._lock:
            self._done += 1
            if report.failure is not None or report.count(CheckStatus.ERROR):
                self._errors += 1
            elif report.count(CheckStatus.FAIL):
                self._failed += 1
            self._progress.update(
                self._row,
                completed=self._done,
                status=self._status(terminal_safe(report.host.name)),
            )
            if self._total is not None and self._done >= self._total:
                self._progress.stop_task(self._row)


class _Quiet:
    """No progress to draw (a pipe, -q): observes nothing."""

    def scanner_started(self, name: str) -> None:
        """Nothing drawn."""

    def scanner_finished(self, result: ScannerResult) -> None:
        """Nothing drawn."""

    def hosts_selected(self, total: int) -> None:
        """Nothing drawn."""

    def host_done(self, report: HostReport) -> None:
        """Nothing drawn."""


@contextmanager
def scan_progress(ui: Ui, names: list[str]) -> Iterator[ScanProgress | _Quiet]:
    if not ui.progress:
        yield _Quiet()
        return
    with _progress(ui) as progress:
        yield ScanProgress(progress, names)


@contextmanager
def audit_progress(ui: Ui) -> Iterator[AuditProgress | _Quiet]:
    if not ui.progress:
        yield _Quiet()
        return
    started = time.monotonic()
    with _progress(ui) as progress:
        yield AuditProgress(progress)
    ui.detail(f"audit took {time.monotonic() - started:.1f} s")
