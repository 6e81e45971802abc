"""Process-wide defaults set before Ray or Prefect is imported: no telemetry, quiet logs, offline models."""

import logging
import os
import sys

from configs.environment import WORKER_ENV

DEFAULTS = {
    **WORKER_ENV,
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "RAY_DEDUP_LOGS": "0",
    # Prefect's embedded server migrates its SQLite database on first use; on a busy 2-core machine that
    # outlasts the default 20 s and the run dies before it starts.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}


def apply() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        # a token given means the cluster wants one; Ray reads this once, when it is imported
        os.environ.setdefault("RAY_AUTH_MODE", "token")


def configure_logging(verbose: bool) -> None:
    """Lontar's lines on stderr, at debug level with `verbose`; called again (`lontar run ... -v` after the
    group's own call), it turns debug on and gives the libraries their own levels back."""
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    logging.getLogger().setLevel(level)
    quiet_libraries(verbose)


QUIET_LEVELS = {"httpx": logging.WARNING, "fsspec": logging.WARNING, "urllib3": logging.WARNING,
                "ray": logging.ERROR,
                # Prefect logs every failed flow with its traceback, expected errors included.
                "prefect": logging.CRITICAL, "prefect.flow_runs": logging.CRITICAL,
                "prefect.task_runs": logging.CRITICAL, "prefect.flow_engine": logging.CRITICAL}
_quieted: dict[str, int] = {}  # the levels quiet_libraries replaced, for a later verbose call to give back


def quiet_libraries(verbose: bool) -> None:
    """Libraries log at their own levels; Lontar's errors reach the user once, as one line, from the CLI."""
    if verbose:
        while _quieted:
            name, level = _quieted.popitem()
            logging.getLogger(name).setLevel(level)
        return
    for name, level in QUIET_LEVELS.items():
        logger = logging.getLogger(name)
        _quieted.setdefault(name, logger.level)
        logger.setLevel(level)
