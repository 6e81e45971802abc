"""What OCR did on one page: each step's calls and CPU seconds, recorded by the engine, read by the stage.

Steps time leaf operations only (an OSD call, one trial line, a whole-page reading), never nested ones, so
their seconds add up. CPU seconds are the process's (`time.process_time`): Tesseract runs in the calling
thread, one per process (OMP_THREAD_LIMIT=1), so they are the page's work whatever else the machine does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

SCRIPT_ID, OSD, FIND_LINES, TRIAL, READ, REREAD, MISSED_LINES, FOREIGN, OTHER = (
    "script_id", "osd", "find_lines", "trial", "read", "reread", "missed_lines", "foreign", "other")


class Steps:
    """Calls and CPU seconds per step, since the last `take`."""

    def __init__(self) -> None:
        self._calls: dict[str, int] = {}
        self._seconds: dict[str, float] = {}

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        started = time.process_time()
        try:
            yield
        finally:
            self._calls[step] = self._calls.get(step, 0) + 1
            self._seconds[step] = self._seconds.get(step, 0.0) + time.process_time() - started

    def take(self) -> list[dict]:
        """The steps so far as `ocr_steps` items ({step, calls, seconds}), in the order first run; resets."""
        taken = [{"step": step, "calls": self._calls[step], "seconds": round(seconds, 3)}
                 for step, seconds in self._seconds.items()]
        self._calls, self._seconds = {}, {}
        return taken
