"""Errors become exit codes here and only here (OCRmyPDF's rule): one line on stderr, one code per kind."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from ocr_models.errors import (
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


_stopped_by: list[int] = []


def exit_on_sigterm(signum: int, frame: object) -> None:
    _stopped_by.append(signum)
    raise SystemExit(128 + signum)


@contextmanager
def errors_to_exit_codes() -> Iterator[None]:
    """Lontar's errors become one line on stderr and their exit code; anything else is an internal error."""
    try:
        yield
    except (Exception, SystemExit) as exc:
        if _stopped_by:  # whatever the stop turned into on its way up (a failed Ray start, a failed task)
            click.echo("lontar: stopped by SIGTERM; finished units are kept and a re-run resumes", err=True)
            sys.exit(128 + _stopped_by[0])
        if isinstance(exc, LontarError):
            click.echo(f"lontar: error: {exc}", err=True)
            sys.exit(exit_code(exc))
        if isinstance(exc, SystemExit) or logging.getLogger().level <= logging.DEBUG:
            raise
        click.echo(f"lontar: internal error: {type(exc).__name__}: {exc} (run with -v for the traceback; "
                   "finished units are kept and a re-run resumes)", err=True)
        sys.exit(EXIT_INTERNAL)


