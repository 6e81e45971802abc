"""The run's log file: what Ray, Prefect and the engines print goes there, Lontar's own lines keep the terminal.

Ray's C++ core writes to file descriptor 2 directly, and its and Prefect's loggers write to `sys.stderr`, so
the capture works at the descriptor: fd 2 points at a file for the run, and the handlers that wrote Lontar's
lines to the terminal get a copy of the old descriptor. The file lands beside the run report
(`OUT/_runs/<batch_id>/<run_id>.log`) and the summary names it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fsspec

from configs.environment import LOGGER_ROOTS
from ocr_models.lontar_errors import OutputError

log = logging.getLogger(__name__)


def is_ours(record: logging.LogRecord) -> bool:
    return record.name.split(".", 1)[0] in LOGGER_ROOTS


@dataclass
class Capture:
    path: Path  # the local file holding the run's library output while it runs


@contextlib.contextmanager
def library_output_captured(run_id: str) -> Iterator[Capture]:
    """While inside, fd 2 and the libraries' log records go to a local file; Lontar's records still reach the
    terminal. On an error the file is kept and its path logged, so that the user can look."""
    fd, name = tempfile.mkstemp(prefix=f"lontar-{run_id}-", suffix=".log")
    capture = Capture(Path(name))
    sys.stderr.flush()
    terminal_fd = os.dup(2)
    # kept open across the yield, closed in the finally below
    terminal = open(terminal_fd, "w", buffering=1, encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
    root = logging.getLogger()
    moved = [h for h in root.handlers if isinstance(h, logging.StreamHandler) and _on_fd2(h.stream)]
    to_file = logging.StreamHandler(sys.stderr)  # fd 2: the file, from the dup2 below
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    to_file.addFilter(lambda record: not is_ours(record))
    os.dup2(fd, 2)
    os.close(fd)
    previous = {h: h.setStream(terminal) for h in moved}
    for handler in moved:
        handler.addFilter(is_ours)
    root.addHandler(to_file)
    failed = True
    try:
        yield capture
        failed = False
    finally:
        root.removeHandler(to_file)
        for handler, stream in previous.items():
            handler.removeFilter(is_ours)
            handler.setStream(stream)
        sys.stderr.flush()
        os.dup2(terminal_fd, 2)
        terminal.close()
        if failed:
            log.info("what Ray and Prefect printed in this run: %s", capture.path)


def _on_fd2(stream: object) -> bool:
    try:
        return stream.fileno() == 2  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def keep(capture: Capture, out: str, path: str) -> None:
    """Copy the captured output to `path` in the dataset at `out` (beside the run report); remove the local
    file."""
    fs, _ = fsspec.core.url_to_fs(out)
    try:
        with open(capture.path, "rb") as source, fs.open(path, "wb") as target:
            target.write(source.read())
    except OSError as exc:
        raise OutputError(f"cannot write the run log to {path}: {exc.strerror or exc}; it is kept at "
                          f"{capture.path}") from exc
    capture.path.unlink()
