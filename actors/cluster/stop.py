"""Whether this process has been asked to stop (SIGTERM), whichever handler took the signal.

Several libraries install SIGTERM handlers of their own while a run is under way (Ray's driver, Prefect's flow
engine), and a signal that lands inside a C call surfaces as an unrelated error. The CLI asks here, so that a
stopped run exits 143 rather than reporting an internal error.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

received: list[int] = []


def recording(handler: Callable[[int, Any], Any] | int | None) -> Callable[[int, Any], Any]:
    """A SIGTERM handler that notes the signal, then does what `handler` did."""

    def on_signal(signum: int, frame: Any) -> None:
        received.append(signum)
        if callable(handler):
            handler(signum, frame)
        else:
            raise SystemExit(128 + signal.SIGTERM)

    return on_signal
