"""Progress of a run: a live bar on a terminal, a plain log line every N pages otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import Protocol

log = logging.getLogger(__name__)


class Reporter(Protocol):
    def start(self, total_pages: int) -> None: ...
    def advance(self, ok: int, errors: int) -> None: ...
    def finish(self) -> None: ...


class LogReporter:
    def __init__(self, every: int = 50) -> None:
        self.every, self.done, self.errors, self.total, self.t0, self._next = every, 0, 0, 0, 0.0, every

    def start(self, total_pages: int) -> None:
        self.total, self.t0 = total_pages, time.monotonic()
        log.info("processing %d pages", total_pages)

    def advance(self, ok: int, errors: int) -> None:
        self.done += ok + errors
        self.errors += errors
        if self.done >= self._next or self.done == self.total:
            rate = self.done / max(time.monotonic() - self.t0, 1e-9)
            log.info("pages %d/%d  %.2f pages/s  errors %d", self.done, self.total, rate, self.errors)
            self._next = self.done + self.every

    def finish(self) -> None:
        pass


class BarReporter:
    """A rich progress bar: pages done/total, pages/s, errors."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("[bold]pages"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]:.2f} pages/s"),
                                 TextColumn("errors {task.fields[errors]}"), TimeRemainingColumn(),
                                 transient=False)
        self.errors, self.t0, self.done = 0, 0.0, 0

    def start(self, total_pages: int) -> None:
        self.t0 = time.monotonic()
        self.task = self.progress.add_task("pages", total=total_pages, rate=0.0, errors=0)
        self.progress.start()

    def advance(self, ok: int, errors: int) -> None:
        self.done += ok + errors
        self.errors += errors
        rate = self.done / max(time.monotonic() - self.t0, 1e-9)
        self.progress.update(self.task, advance=ok + errors, rate=rate, errors=self.errors)

    def finish(self) -> None:
        self.progress.stop()


def default_reporter(every: int) -> Reporter:
    return BarReporter() if sys.stderr.isatty() else LogReporter(every)
