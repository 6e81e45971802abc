"""The environment Lontar's processes run with, in one place: the Ray workers' variables, and the names of
Lontar's own loggers. Plain data: importing it imports nothing (flows reads it before Ray or Prefect load)."""

# Set in every Ray worker (and in the driver): one engine thread per core, and no telemetry from any library.
WORKER_ENV = {
    "OMP_THREAD_LIMIT": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}

# Lontar's loggers are named after their modules (logging.getLogger(__name__)): these are their roots.
LOGGER_ROOTS = ("flows", "actors", "configs", "ocr_models")
