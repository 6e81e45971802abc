"""When the nightly run fires: its cron expression in its time zone, checked when a batch is queued."""

from __future__ import annotations

from datetime import UTC, datetime

from configs.model import QueueOptions
from ocr_models.lontar_errors import UsageError


def nightly_timezone(options: QueueOptions) -> str:
    if options.timezone:
        return options.timezone
    import tzlocal

    return tzlocal.get_localzone_name() or "UTC"


def next_nightly(options: QueueOptions, now: datetime | None = None) -> datetime:
    """When the nightly schedule fires next (the time queued batches show in the Prefect UI)."""
    from zoneinfo import ZoneInfo

    from cronsim import CronSim

    zone = ZoneInfo(nightly_timezone(options))
    return next(CronSim(options.nightly_cron, (now or datetime.now(UTC)).astimezone(zone)))


def check_options(options: QueueOptions) -> None:
    """A wrong cron expression or time zone stops here, with the reason, not at midnight."""
    from zoneinfo import ZoneInfoNotFoundError

    from cronsim import CronSimError

    try:
        next_nightly(options)
    except CronSimError as exc:
        raise UsageError(f"queue.nightly_cron {options.nightly_cron!r} is not a cron expression: {exc}") from exc
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(f"queue.timezone {options.timezone!r} is not an IANA time zone") from exc
