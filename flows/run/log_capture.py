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
from pathlib import Path

import fsspec

from configs.environment import LOGGER_ROOTS
from ocr_models.lontar_errors import OutputError

log = logging.getLogger(__name__)


def is_ours(record: logging.LogRecord) -> bool:
    return record.name.split(".", 1)[0] in LOGGER_ROOTS


class Capture:
    """The run's library output: a local file while the run lives (`path`, named on the terminal at the start,
    so that it can be found however the process ends); `keep_at(out, path)` names its place in the dataset,
    beside the run report, once the run knows its batch. The flow is handed it, as it is the progress reporter,
    and fills in where it goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kept: tuple[str, str] | None = None  # (dataset, path in it)

    def keep_at(self, out: str, path: str) -> None:
        self.kept = (out, path)


@contextlib.contextmanager
def library_output_captured(run_id: str) -> Iterator[Capture]:
    """While inside, fd 2 and the libraries' log records go to a local file; Lontar's records still reach the
    terminal. On the way out, however the run ends, the file goes where the run said (`Capture.keep_at`); an
    error leaving carries a note naming where the log is."""
    fd, name = tempfile.mkstemp(prefix=f"lontar-{run_id}-", suffix=".log")
    capture = Capture(Path(name))
    log.info("run log: %s (moved beside the run report at the end)", capture.path)
    sys.stderr.flush()
    terminal_fd = os.dup(2)
    # kept open across the yield, closed by _restore
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

    def _restore() -> None:
        root.removeHandler(to_file)
        for handler, stream in previous.items():
            handler.removeFilter(is_ours)
            handler.setStream(stream)
        sys.stderr.flush()
        os.dup2(terminal_fd, 2)
        terminal.close()

    try:
        yield capture
    except BaseException as exc:
        _restore()
        exc.add_note(f"run log: {_kept(capture, failed=True)}")
        raise
    _restore()
    _kept(capture, failed=False)


def _kept(capture: Capture, failed: bool) -> str:
    """Move the captured output to its place in the dataset, if the run got as far as knowing it; where it is
    now. An error only when the run itself succeeded: a failed run's own error is the one to report."""
    if capture.kept is None:
        return str(capture.path)
    try:
        keep(capture, *capture.kept)
    except Exception as exc:
        if not failed:
            raise
        return f"{capture.path} (not moved into the dataset: {exc.__cause__ or exc})"
    return capture.kept[1]


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
