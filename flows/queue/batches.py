"""The archivists' batch queue, kept in Prefect.

A batch is one flow run of the `lontar-batch/queue` deployment: its parameters say what to digitize and where,
its work queue (`high`, `normal`, `low`, Prefect priorities 2-4) says how urgent it is, its state says where it
stands (Scheduled "Queued" -> Pending -> Running -> Completed | Failed | Cancelled | Crashed). The three
batch work queues are paused, so no worker starts a batch on its own: the nightly run (flows/queue/nightly.py) takes
them in priority order, oldest first, and claims each with Prefect's own Pending transition, the same claim a
worker makes. So the Prefect UI shows the queue as it is, and nothing here keeps state of its own.

A queued run is scheduled at the time it was queued, its state message naming the nightly run that will take
it: Prefect's Runs page shows the past days by default, and a run scheduled at the next 02:00 was on no default
page. (A paused queue gives no worker a due run; `lontar serve` turns off Prefect's late-runs service, which
would rename waiting runs "Late".)
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from configs.model import QueueOptions
from flows.queue.schedule import next_nightly
from ocr_models.lontar_errors import UsageError

log = logging.getLogger(__name__)

PRIORITIES = ("high", "normal", "low")  # the batch work queues, most urgent first
BATCH_FLOW, BATCH_DEPLOYMENT = "lontar-batch", "queue"
MAX_ATTEMPTS = 3  # a batch that crashed this often is left Crashed for a person to look at
QUEUED = "Queued"


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


def new_batch_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "batch"
    return f"{slug}-{secrets.token_hex(3)}"


def queued_state(options: QueueOptions, message: str = "") -> Any:
    """The state of a queued batch: Scheduled, named Queued, at the present time, saying which nightly run
    takes it."""
    from prefect.states import Scheduled

    when = next_nightly(options).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return Scheduled(scheduled_time=datetime.now(UTC), name=QUEUED,
                     message=f"{message}{'; ' if message else ''}waits for the nightly run at {when}")


def add_batch(client: Any, options: QueueOptions, deployment: Any, *, name: str, inputs: list[str], priority: str,
              dataset: str, config: dict) -> Batch:
    """Queue a batch: a Scheduled ("Queued") run of the batch `deployment` (deployments.batch_deployment), taken
    by the next nightly run."""
    if priority not in PRIORITIES:
        raise UsageError(f"priority must be one of {', '.join(PRIORITIES)}, not {priority!r}")
    batch_id = new_batch_id(name)
    parameters = {"batch_id": batch_id, "name": name, "inputs": inputs, "out": dataset,
                  "config": config}
    run = client.create_flow_run_from_deployment(
        deployment.id, parameters=parameters, name=batch_id, work_queue_name=priority,
        tags=["lontar-batch", f"priority:{priority}"],
        state=queued_state(options))
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
    batch = find_batch(client, key)
    if batch.state in ("scheduled", "pending", "running", "cancelling"):
        raise UsageError(f"batch {batch.batch_id} is {batch.state_name}, not ended: nothing to retry")
    client.set_flow_run_state(batch.flow_run_id, queued_state(options, "queued again by `lontar queue retry`"),
                              force=True)
    return find_batch(client, batch.batch_id)
