"""The archivists' batch queue, kept in Prefect.

A batch is one flow run of the `lontar-batch/queue` deployment: its parameters say what to digitize and where,
its work queue (`high`, `normal`, `low`, Prefect priorities 2-4) says how urgent it is, its state says where it
stands (Scheduled "Queued" -> Pending -> Running -> Completed | Failed | Cancelled | Crashed). The three
batch work queues are paused, so no worker starts a batch on its own: the nightly run (flows/nightly.py) takes
them in priority order, oldest first, and claims each with Prefect's own Pending transition, the same claim a
worker makes. So the Prefect UI shows the queue as it is, and nothing here keeps state of its own.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from configs.model import QueueOptions
from ocr_models.lontar_errors import OrchestratorError, UsageError

log = logging.getLogger(__name__)

PRIORITIES = ("high", "normal", "low")  # the batch work queues, most urgent first
BATCH_FLOW, BATCH_DEPLOYMENT = "lontar-batch", "queue"
NIGHTLY_FLOW, NIGHTLY_DEPLOYMENT = "lontar-nightly", "nightly"
NIGHTLY_LEASE = "lontar_nightly_lease"  # a Prefect variable: which nightly run holds the queue, until when
MAX_ATTEMPTS = 3  # a batch that crashed this often is left Crashed for a person to look at
QUEUED = "Queued"
LEASE_SETTLE_S = 1.0


@dataclass(frozen=True)
class Batch:
    """What the queue knows of one batch: its flow run, seen through the archivist's eyes."""

    batch_id: str
    name: str
    priority: str
    state: str  # Prefect state type, lower case: scheduled, pending, running, completed, failed, ...
    state_name: str  # Prefect state name: Queued, Running, Completed, Crashed, ...
    message: str
    inputs: list[str]
    out: str
    submitted: datetime
    started: datetime | None
    finished: datetime | None
    attempts: int
    flow_run_id: UUID

    @classmethod
    def from_flow_run(cls, run: Any) -> Batch:
        params = run.parameters
        state = run.state
        return cls(batch_id=params["batch_id"], name=params.get("name") or params["batch_id"],
                   priority=run.work_queue_name if run.work_queue_name in PRIORITIES else "normal",
                   state=state.type.value.lower() if state else "unknown",
                   state_name=state.name if state else "Unknown", message=(state.message or "") if state else "",
                   inputs=list(params.get("inputs", [])), out=params["out"], submitted=run.created,
                   started=run.start_time, finished=run.end_time, attempts=run.run_count, flow_run_id=run.id)

    @property
    def order(self) -> tuple[int, datetime]:
        """Queue order: priority first, then the oldest."""
        return PRIORITIES.index(self.priority), self.submitted


@contextmanager
def prefect_client() -> Iterator[Any]:
    """A synchronous Prefect client for the configured server (PREFECT_API_URL), or for Prefect's embedded one.

    Raises OrchestratorError, with what to do, when the server does not answer.
    """
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL

    with get_client(sync_client=True) as client:
        failure = client.api_healthcheck()
        if failure is not None:
            where = PREFECT_API_URL.value() or "the embedded Prefect server"
            raise OrchestratorError(f"the Prefect server at {where} does not answer ({failure}); start it with "
                                    "`lontar serve`, or unset PREFECT_API_URL to use the embedded one")
        yield client


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

    from flows.batch import process_batch
    from flows.nightly import nightly

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
        entrypoint="flows.batch.process_batch", work_pool_name=pool, work_queue_name="normal",
        parameter_openapi_schema=parameter_schema(process_batch.fn).model_dump_for_openapi(),
        description="One archivist's batch: `lontar queue add` creates its runs.")
    schedule = CronSchedule(cron=options.nightly_cron, timezone=nightly_timezone(options))
    client.create_deployment(
        flow_id=client.create_flow_from_name(NIGHTLY_FLOW), name=NIGHTLY_DEPLOYMENT,
        entrypoint="flows.nightly.nightly", work_pool_name=pool, work_queue_name="default",
        schedules=[DeploymentScheduleCreate(schedule=schedule, active=True)],
        parameters={"batches_at_once": options.batches_at_once, "lease_s": options.lease_s},
        parameter_openapi_schema=parameter_schema(nightly.fn).model_dump_for_openapi(),
        description="Processes the queued batches, most urgent and oldest first.")


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


class QueueLease:
    """One nightly run at a time holds the queue: a lease in the Prefect variable NIGHTLY_LEASE, renewed while
    the run lives. A run that dies lets go when its lease lapses; the next run then knows that batches left
    Pending or Running belong to nobody (requeue_orphans).

    Prefect's own global concurrency leases are not used: their default store is the server's memory and
    their repossessor does not run in the embedded server, so a crashed holder kept the queue for ever.
    """

    def __init__(self, client: Any, owner: str, lease_s: int) -> None:
        self.client, self.owner, self.lease_s = client, owner, lease_s
        self._written = 0.0

    def _read(self) -> dict | None:
        variable = self.client.read_variable_by_name(NIGHTLY_LEASE)
        return variable.value if variable is not None and isinstance(variable.value, dict) else None

    def _write(self) -> None:
        from prefect.client.schemas.actions import VariableCreate, VariableUpdate

        until = datetime.now(UTC).timestamp() + self.lease_s
        value = {"owner": self.owner, "until": until,
                 "until_text": datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds")}
        if self.client.read_variable_by_name(NIGHTLY_LEASE) is None:
            self.client.create_variable(VariableCreate(name=NIGHTLY_LEASE, value=value))
        else:
            self.client.update_variable(VariableUpdate(name=NIGHTLY_LEASE, value=value))
        self._written = time.monotonic()

    def acquire(self, wait_s: float) -> bool:
        """Take the lease when it is free or lapsed, waiting up to `wait_s` for a holder's lease to lapse."""
        deadline = time.monotonic() + wait_s
        while True:
            held = self._read()
            if held is None or held["owner"] == self.owner or held["until"] < datetime.now(UTC).timestamp():
                self._write()
                time.sleep(LEASE_SETTLE_S)  # two runs that wrote at once: the last write wins, the other yields
                if (self._read() or {}).get("owner") == self.owner:
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(LEASE_SETTLE_S)

    def renew(self) -> None:
        """Extend the lease (at most every third of its length); an error if another run has taken it."""
        if time.monotonic() - self._written < self.lease_s / 3:
            return
        held = self._read()
        if held is not None and held["owner"] != self.owner:
            raise OrchestratorError(f"the queue's lease was taken by nightly run {held['owner']}")
        self._write()

    def release(self) -> None:
        held = self._read()
        if held is not None and held["owner"] == self.owner:
            self.client.delete_variable_by_name(NIGHTLY_LEASE)


def new_batch_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "batch"
    return f"{slug}-{secrets.token_hex(3)}"


def add_batch(client: Any, options: QueueOptions, *, name: str, inputs: list[str], priority: str, dataset: str,
              config: dict) -> Batch:
    """Queue a batch: a Scheduled ("Queued") run of the batch deployment, due at the next nightly run."""
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Scheduled

    if priority not in PRIORITIES:
        raise UsageError(f"priority must be one of {', '.join(PRIORITIES)}, not {priority!r}")
    try:
        deployment = client.read_deployment_by_name(f"{BATCH_FLOW}/{BATCH_DEPLOYMENT}")
    except ObjectNotFound:  # the first batch on this server
        ensure_queue(client, options)
        deployment = client.read_deployment_by_name(f"{BATCH_FLOW}/{BATCH_DEPLOYMENT}")
    batch_id = new_batch_id(name)
    parameters = {"batch_id": batch_id, "name": name, "inputs": inputs, "out": dataset,
                  "config": config}
    run = client.create_flow_run_from_deployment(
        deployment.id, parameters=parameters, name=batch_id, work_queue_name=priority,
        tags=["lontar-batch", f"priority:{priority}"],
        state=Scheduled(scheduled_time=next_nightly(options), name=QUEUED))
    return Batch.from_flow_run(run)


def _batch_runs(client: Any, states: list[str] | None = None, names: list[str] | None = None,
                ids: list[UUID] | None = None) -> list[Any]:
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterName,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    run_filter = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(s.upper()) for s in states]))
        if states else None,
        name=FlowRunFilterName(any_=names) if names else None,
        id=FlowRunFilterId(any_=ids) if ids else None)
    return client.read_flow_runs(flow_run_filter=run_filter,
                                 deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[BATCH_DEPLOYMENT])))


def list_batches(client: Any, states: list[str] | None = None) -> list[Batch]:
    """Batches, newest first (optionally only those in the given state types)."""
    batches = [Batch.from_flow_run(run) for run in _batch_runs(client, states)]
    return sorted(batches, key=lambda b: b.submitted, reverse=True)


def find_batch(client: Any, key: str) -> Batch:
    """A batch by its id (or its flow run id)."""
    runs = _batch_runs(client, names=[key])
    if not runs:
        try:
            runs = _batch_runs(client, ids=[UUID(key)])
        except ValueError:
            runs = []
    if not runs:
        raise UsageError(f"no batch {key!r} in the queue (`lontar queue list` shows them)")
    return Batch.from_flow_run(runs[0])


def queued(client: Any) -> list[Batch]:
    """Batches waiting to run, in the order the nightly run takes them."""
    return sorted((b for b in list_batches(client, ["scheduled"])), key=lambda b: b.order)


def claim(client: Any, batch: Batch) -> bool:
    """Take a queued batch for this nightly run, as a worker would: Scheduled -> Pending.

    Its scheduled time is first brought to now (a queued batch is due at the next nightly run, and Prefect
    holds a run back until its time). Prefect refuses Pending to a run that another process has taken.
    """
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.states import Pending, Scheduled

    client.set_flow_run_state(batch.flow_run_id, Scheduled(scheduled_time=datetime.now(UTC), name=QUEUED),
                              force=True)
    result = client.set_flow_run_state(batch.flow_run_id, Pending())
    return result.status == SetStateStatus.ACCEPT


def requeue_orphans(client: Any) -> list[Batch]:
    """Batches left Pending, Running or Crashed by a nightly run that died: queued again, ahead of nothing.

    Called only under the nightly lock, when no other nightly run is alive to own them. A batch that has
    crashed MAX_ATTEMPTS times stays Crashed. Re-running a batch redoes only its unfinished work units.
    """
    from prefect.states import Cancelled, Crashed, Scheduled

    requeued = []
    for batch in list_batches(client, ["pending", "running", "crashed", "cancelling"]):
        if batch.state == "cancelling":
            client.set_flow_run_state(batch.flow_run_id, Cancelled(message="cancelled while no run was alive"),
                                      force=True)
        elif batch.attempts >= MAX_ATTEMPTS and batch.state == "crashed":
            continue
        elif batch.attempts >= MAX_ATTEMPTS:
            client.set_flow_run_state(batch.flow_run_id, Crashed(
                message=f"its run died {batch.attempts} times; `lontar queue retry {batch.batch_id}` tries again"),
                force=True)
        else:
            client.set_flow_run_state(batch.flow_run_id, Scheduled(
                scheduled_time=datetime.now(UTC), name=QUEUED,
                message=f"queued again: the run processing it died ({batch.state_name})"), force=True)
            requeued.append(batch)
            log.warning("batch %s was %s when its run died: queued again", batch.batch_id, batch.state_name)
    return requeued


def cancel_batch(client: Any, key: str) -> Batch:
    """Cancel a batch: a queued one at once; a running one is stopped by the nightly run that runs it."""
    from prefect.states import Cancelled, Cancelling

    batch = find_batch(client, key)
    if batch.state in ("completed", "failed", "cancelled"):
        raise UsageError(f"batch {batch.batch_id} has already ended ({batch.state_name})")
    if batch.state in ("running", "pending"):
        client.set_flow_run_state(batch.flow_run_id, Cancelling(message="cancelled by `lontar queue cancel`"),
                                  force=True)
    else:
        client.set_flow_run_state(batch.flow_run_id, Cancelled(message="cancelled by `lontar queue cancel`"),
                                  force=True)
    return find_batch(client, batch.batch_id)


def retry_batch(client: Any, options: QueueOptions, key: str) -> Batch:
    """Queue an ended batch again; its finished work units are kept, so only what is missing is done."""
    from prefect.states import Scheduled

    batch = find_batch(client, key)
    if batch.state in ("scheduled", "pending", "running", "cancelling"):
        raise UsageError(f"batch {batch.batch_id} is {batch.state_name}, not ended: nothing to retry")
    client.set_flow_run_state(batch.flow_run_id, Scheduled(
        scheduled_time=next_nightly(options), name=QUEUED, message="queued again by `lontar queue retry`"),
        force=True)
    return find_batch(client, batch.batch_id)
