"""The nightly run: processes the queued batches, most urgent and oldest first, `batches_at_once` at a time.

It is the `lontar-nightly/nightly` deployment's flow (fired by its cron schedule under `lontar serve`) and what
`lontar nightly --now` runs in the foreground. It holds the queue under a lease (flows/queue/lease.py), so two
nightly runs never take batches side by side, and a run that died lets go when its lease lapses; the next one
queues the batches it left behind again (batches.requeue_orphans). Each batch runs in a process of its own
(`python -m flows.queue.batch_flow`), so a batch that crashes, or is cancelled, takes nothing else down.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

from prefect import flow

from flows.child_process import die_with_parent
from flows.queue.batches import Batch, claim, queued, requeue_orphans
from flows.queue.lease import QueueLease
from flows.run.dead_runs import mark_dead_runs_crashed
from flows.run.prefect_api import prefect_client

log = logging.getLogger(__name__)
POLL_S = 2.0
NIGHTLY_FLOW, NIGHTLY_DEPLOYMENT = "lontar-nightly", "nightly"


@flow(name=NIGHTLY_FLOW, validate_parameters=False, log_prints=False)
def nightly(batches_at_once: int = 1, lease_s: int = 60) -> dict:
    """Run every queued batch; returns what became of each, and which were queued again after a crash."""
    from prefect.runtime import flow_run

    with prefect_client() as client:
        lease = QueueLease(client, owner=str(flow_run.id or uuid.uuid4()), lease_s=lease_s)
        if not lease.acquire(wait_s=lease_s + 2 * POLL_S):  # a dead run's lease lapses within lease_s
            log.warning("another nightly run is processing the queue; this one leaves it to that run")
            return {"busy": True, "batches": [], "requeued": []}
        try:
            return drain(client, str(client.api_url), batches_at_once, lease)
        finally:
            lease.release()


def drain(client: Any, api_url: str, batches_at_once: int, lease: QueueLease) -> dict:
    requeued = requeue_orphans(client)
    mark_dead_runs_crashed(client)  # the digitize runs inside batches whose process died
    running: dict[str, tuple[Batch, subprocess.Popen]] = {}
    ended: list[dict] = []
    try:
        while True:
            lease.renew()
            while len(running) < batches_at_once and (batch := _claim_next(client)):
                log.info("batch %s (%s, %s priority): started", batch.batch_id, batch.name, batch.priority)
                running[batch.batch_id] = (batch, _start(batch, api_url))
            if not running:
                break
            time.sleep(POLL_S)
            lease.renew()
            for batch_id, (batch, process) in list(running.items()):
                state = client.read_flow_run(batch.flow_run_id).state
                if process.poll() is None:
                    if state.is_cancelling():
                        _stop(process)
                    continue
                del running[batch_id]
                ended.append(_finish(client, batch, process.returncode))
    finally:
        for batch, process in running.values():  # this run is being stopped: its batches stop with it
            _stop(process)
            _finish(client, batch, process.returncode)
    return {"busy": False, "batches": ended, "requeued": [b.batch_id for b in requeued]}


def _claim_next(client: Any) -> Batch | None:
    return next((batch for batch in queued(client) if claim(client, batch)), None)


def _start(batch: Batch, api_url: str) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_API_URL": api_url}
    return subprocess.Popen([sys.executable, "-m", "flows.queue.batch_flow", str(batch.flow_run_id)], env=env,
                            stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # the batch process stops its Ray cluster and exits
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _finish(client: Any, batch: Batch, returncode: int | None) -> dict:
    """The batch's final state; a cancelled batch ends Cancelled, a process that died ends Crashed."""
    from prefect.states import Cancelled, Crashed

    state = client.read_flow_run(batch.flow_run_id).state
    if state.is_cancelling():
        client.set_flow_run_state(batch.flow_run_id, Cancelled(message="cancelled by `lontar queue cancel`"),
                                  force=True)
    elif not state.is_final():
        client.set_flow_run_state(batch.flow_run_id, Crashed(
            message=f"its process ended with exit code {returncode}; the next nightly run resumes it"), force=True)
        mark_dead_runs_crashed(client)  # and the digitize run inside it
    state = client.read_flow_run(batch.flow_run_id).state
    log.info("batch %s: %s", batch.batch_id, state.name)
    return {"batch_id": batch.batch_id, "name": batch.name, "priority": batch.priority, "state": state.name,
            "message": state.message or ""}
