"""PageLimits: the per-page limits of a model stage (`limits.*` of the config), around an engine the stage can
make again.

Each page is worked on a thread of its own while the stage waits, at most `page_timeout_s`. A page past its
time is an `engine_timeout` error: the thread and the engine it holds are left to themselves (a thread stuck in
native code cannot be stopped from Python, and an engine in use cannot be closed safely) and a new engine serves
the next page. A page whose working memory, estimated from its pixels, exceeds `page_memory_mb` is refused
before any work starts. A `retryable` failure (a flaky engine) is tried again with a fresh engine,
`page_retries` times.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from configs.model import LimitOptions
from ocr_models.lontar_errors import EngineTimeoutError, LontarError, TooLargeError

log = logging.getLogger(__name__)

Engine = TypeVar("Engine")
Result = TypeVar("Result")

# Peak memory Tesseract needs per page pixel, measured on pages of 1.6 to 59 Mpx: 8 to 8.7 bytes (grey
# copies, binarisation, the layout). Rounded up.
OCR_BYTES_PER_PIXEL = 10


class PageLimits(Generic[Engine]):
    def __init__(self, make_engine: Callable[[], Engine], limits: LimitOptions, close: Callable[[Engine], None]
                 ) -> None:
        self.make_engine, self.limits, self.close_engine = make_engine, limits, close
        self.engine: Engine | None = None
        self.abandoned = 0  # engines left behind with a stuck page

    def current(self) -> Engine:
        if self.engine is None:
            self.engine = self.make_engine()
        return self.engine

    def check_memory(self, pixels: int) -> None:
        needed_mb = pixels * OCR_BYTES_PER_PIXEL / 2**20
        if needed_mb > self.limits.page_memory_mb:
            raise TooLargeError(f"page too large to read: {pixels:,} pixels need about {needed_mb:,.0f} MiB, "
                                f"over limits.page_memory_mb ({self.limits.page_memory_mb:,})")

    def run(self, work: Callable[[Engine], Result], what: str = "page") -> Result:
        """`work(engine)` under the limits; raises what it raised, or EngineTimeoutError."""
        for _ in range(self.limits.page_retries):
            try:
                return self._run_once(work, what)
            except LontarError as exc:
                if not exc.retryable:
                    raise
                log.warning("%s failed (%s); trying again with a new engine", what, exc)
                self.close()
        return self._run_once(work, what)  # the last try: whatever it raises is the page's error

    def _run_once(self, work: Callable[[Engine], Result], what: str) -> Result:
        engine = self.current()
        outcome: list = []

        def target() -> None:
            try:
                outcome.append((True, work(engine)))
            except BaseException as exc:  # handed to the waiting thread, raised there
                outcome.append((False, exc))

        thread = threading.Thread(target=target, name=f"page-guard-{what}", daemon=True)
        thread.start()
        thread.join(self.limits.page_timeout_s)
        if thread.is_alive():
            self.engine = None  # the stuck thread keeps the old engine; the next page gets a new one
            self.abandoned += 1
            log.warning("%s outlasted %g s; its engine is abandoned (%d so far) and a new one loaded", what,
                        self.limits.page_timeout_s, self.abandoned)
            raise EngineTimeoutError(f"the page took longer than {self.limits.page_timeout_s:g} s "
                                     "(limits.page_timeout_s); the engine was restarted")
        ok, value = outcome[0]
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Close the current engine; the next page makes a new one."""
        if self.engine is not None:
            self.close_engine(self.engine)
            self.engine = None
