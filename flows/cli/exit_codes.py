"""Errors become exit codes here and only here (OCRmyPDF's rule): one line on stderr, one code per kind."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from actors.cluster import stop
from ocr_models.lontar_errors import (
    LontarError,
    MissingDependencyError,
    NoInputError,
    OrchestratorError,
    OutputError,
    UsageError,
)

EXIT_CODES: dict[type[LontarError], int] = {
    UsageError: 2,
    MissingDependencyError: 3,
    OutputError: 4,
    NoInputError: 5,
    OrchestratorError: 6,
}
EXIT_INTERNAL = 1


def exit_code(exc: LontarError) -> int:
    for kind, code in EXIT_CODES.items():
        if isinstance(exc, kind):
            return code
    return EXIT_INTERNAL


def exit_on_sigterm(signum: int, frame: object) -> None:
    stop.received.append(signum)
    raise SystemExit(128 + signum)


def _caused_by_sigterm(exc: BaseException | None) -> bool:
    """Prefect's flow engine installs its own SIGTERM handler (raising its TerminationSignal), and a signal
    that lands inside a C call (Ray's) comes out as a SystemError caused by it: look down the chain."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        if any(cls.__name__ == "TerminationSignal" for cls in type(exc).__mro__) or (
                isinstance(exc, SystemExit) and exc.code == 128 + signal.SIGTERM):
            return True
        todo += [exc.__cause__, exc.__context__]
    return False


@contextmanager
def errors_to_exit_codes() -> Iterator[None]:
    """Lontar's errors become one line on stderr and their exit code; anything else is an internal error."""
    try:
        yield
    except (Exception, SystemExit) as exc:
        if stop.received or _caused_by_sigterm(exc):  # whatever the stop turned into on its way up
            click.echo(f"lontar: stopped by SIGTERM; finished units are kept and a re-run resumes{notes(exc)}",
                       err=True)
            sys.exit(128 + signal.SIGTERM)
        if isinstance(exc, LontarError):
            click.echo(f"lontar: error: {exc}{notes(exc)}", err=True)
            sys.exit(exit_code(exc))
        if isinstance(exc, SystemExit) or logging.getLogger().level <= logging.DEBUG:
            raise
        click.echo(f"lontar: internal error: {type(exc).__name__}: {exc}{notes(exc)} (run with -v for the "
                   "traceback; finished units are kept and a re-run resumes)", err=True)
        sys.exit(EXIT_INTERNAL)


def notes(exc: BaseException) -> str:
    """What the layers an error passed through added to it (what is safe, where the run log is), on the same
    line: `; note; note`."""
    return "".join(f"; {note}" for note in getattr(exc, "__notes__", ()))


