"""The queue's rules that need no server: order, ids, the nightly schedule and its checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from configs.model import QueueOptions
from flows.queue.batches import Batch, new_batch_id
from flows.queue.schedule import check_options, next_nightly
from ocr_models.lontar_errors import UsageError

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def batch(priority: str, minutes_ago: int) -> Batch:
    return Batch(batch_id=f"{priority}-{minutes_ago}", name="", priority=priority, state="scheduled",
                 state_name="Queued", message="", inputs=[], out="", submitted=NOW - timedelta(minutes=minutes_ago),
                 started=None, finished=None, attempts=0, flow_run_id=uuid.uuid4())


def test_batches_run_most_urgent_first_then_oldest_first():
    queued = [batch("low", 90), batch("normal", 5), batch("high", 1), batch("normal", 30), batch("high", 10)]
    assert [b.batch_id for b in sorted(queued, key=lambda b: b.order)] == [
        "high-10", "high-1", "normal-30", "normal-5", "low-90"]


def test_batch_ids_are_readable_and_unique():
    first, second = new_batch_id("Box 17: Letters, 1942!"), new_batch_id("Box 17: Letters, 1942!")
    assert first.startswith("box-17-letters-1942-") and first != second
    assert new_batch_id("पत्र").startswith("batch-")  # nothing ASCII to slug: still a usable folder name


def test_the_nightly_run_fires_at_the_cron_time_in_its_time_zone():
    utc = QueueOptions(timezone="UTC")
    assert next_nightly(utc, NOW) == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    jakarta = QueueOptions(timezone="Asia/Jakarta")  # UTC+7: 02:00 there is 19:00 UTC the day before
    assert next_nightly(jakarta, NOW).astimezone(UTC) == datetime(2026, 11, 22, 19, 0, tzinfo=UTC)


@pytest.mark.parametrize(("options", "message"), [
    (QueueOptions(nightly_cron="at two"), "is not a cron expression"),
    (QueueOptions(nightly_cron="0 25 * * *"), "is not a cron expression"),
    (QueueOptions(timezone="Mars/Olympus"), "is not an IANA time zone"),
])
def test_a_wrong_schedule_is_refused_when_configured_not_at_midnight(options, message):
    with pytest.raises(UsageError, match=message):
        check_options(options)
