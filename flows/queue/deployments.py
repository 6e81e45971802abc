"""The queue's objects in Prefect, created once and kept: the work pool, its paused batch work queues, and the
batch and nightly deployments. There is no prefect.yaml to drift: this module is their one definition."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from configs.model import QueueOptions
from flows.queue.batch_flow import process_batch
from flows.queue.batches import BATCH_DEPLOYMENT, BATCH_FLOW, PRIORITIES
from flows.queue.nightly import NIGHTLY_DEPLOYMENT, NIGHTLY_FLOW, nightly
from flows.queue.schedule import nightly_timezone


def ensure_queue(client: Any, options: QueueOptions) -> None:
    """Create what the queue needs in Prefect, keeping what exists: the work pool, its paused batch queues, and
    the batch and nightly deployments (the nightly one on `options.nightly_cron`)."""
    from prefect.client.schemas.actions import (
        DeploymentScheduleCreate,
        WorkPoolCreate,
    )
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.utilities.callables import parameter_schema
    from prefect.workers.process import ProcessWorker

    pool = options.work_pool
    try:
        client.read_work_pool(pool)
    except ObjectNotFound:
        template = ProcessWorker.get_default_base_job_template()
        with suppress(ObjectAlreadyExists):
            client.create_work_pool(WorkPoolCreate(name=pool, type="process", base_job_template=template,
                                                   description="Lontar: the nightly run and the batch queue"))
    existing = {queue.name: queue for queue in client.read_work_queues(work_pool_name=pool)}
    for rank, name in enumerate(PRIORITIES, start=2):  # the pool's default queue (priority 1) runs `nightly`
        if name not in existing:
            with suppress(ObjectAlreadyExists):
                client.create_work_queue(name=name, work_pool_name=pool, priority=rank, is_paused=True,
                                         description=f"{name}-priority batches, held for the nightly run")
        elif not existing[name].is_paused:
            client.update_work_queue(existing[name].id, is_paused=True)
    client.create_deployment(
        flow_id=client.create_flow_from_name(BATCH_FLOW), name=BATCH_DEPLOYMENT,
        entrypoint="flows.queue.batch_flow.process_batch", work_pool_name=pool, work_queue_name="normal",
        parameter_openapi_schema=parameter_schema(process_batch.fn).model_dump_for_openapi(),
        description="One archivist's batch: `lontar queue add` creates its runs.")
    schedule = CronSchedule(cron=options.nightly_cron, timezone=nightly_timezone(options))
    client.create_deployment(
        flow_id=client.create_flow_from_name(NIGHTLY_FLOW), name=NIGHTLY_DEPLOYMENT,
        entrypoint="flows.queue.nightly.nightly", work_pool_name=pool, work_queue_name="default",
        schedules=[DeploymentScheduleCreate(schedule=schedule, active=True)],
        parameters={"batches_at_once": options.batches_at_once, "lease_s": options.lease_s},
        parameter_openapi_schema=parameter_schema(nightly.fn).model_dump_for_openapi(),
        description="Processes the queued batches, most urgent and oldest first.")


def batch_deployment(client: Any, options: QueueOptions) -> Any:
    """The batch deployment, created with the rest of the queue when this server has none yet (its first batch)."""
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_deployment_by_name(f"{BATCH_FLOW}/{BATCH_DEPLOYMENT}")
    except ObjectNotFound:
        ensure_queue(client, options)
        return client.read_deployment_by_name(f"{BATCH_FLOW}/{BATCH_DEPLOYMENT}")
