"""Flow runs whose process died end Crashed in Prefect, never Running for ever.

A process that dies outright (killed, out of memory, aborted inside Ray's C++ core) cannot tell Prefect, and
its flow run would stay Running in the database: under the queue, a batch that never finishes. Every digitize
flow run is tagged with the process that runs it (`owned_by_this_process`); the next `lontar run` or nightly
run on the same Prefect server marks Crashed each Pending or Running one whose process on this host is gone.
Runs of other hosts are left to their own host (a queued batch's own crash is the nightly run's to mark:
flows/queue/nightly.py).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from typing import Any

import psutil

log = logging.getLogger(__name__)
OWNED = "lontar-process"  # every tagged run carries it, to be found by; beside it, which process
_PREFIX = f"{OWNED}:"


def process_tag(process: psutil.Process | None = None) -> str:
    """`lontar-process:HOST:PID:START` (START tells a reused pid apart)."""
    process = process or psutil.Process()
    return f"{_PREFIX}{socket.gethostname()}:{process.pid}:{int(process.create_time())}"


def owned_by_this_process() -> contextlib.AbstractContextManager:
    """Flow runs created inside carry this process's tag."""
    from prefect import tags

    return tags(OWNED, process_tag())


def process_alive(tag: str) -> bool | None:
    """Whether the process a tag names lives; None when it ran on another host (not ours to judge)."""
    host, _, rest = tag.removeprefix(_PREFIX).partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname():
        return None
    try:
        return int(psutil.Process(int(pid)).create_time()) == int(started)
    except (psutil.NoSuchProcess, ValueError):
        return False


def mark_dead_runs_crashed(client: Any | None = None) -> list[str]:
    """Mark Crashed every Pending or Running flow run tagged with a process of this host that is gone; their
    ids. A Prefect server that cannot be asked is logged and left: this never fails the caller's run."""
    if client is None:
        from flows.run.prefect_api import prefect_client

        started = time.monotonic()
        try:
            with prefect_client() as own:
                marked = mark_dead_runs_crashed(own)
            log.debug("looked for flow runs of dead processes in %.3f s", time.monotonic() - started)
            return marked
        except Exception as exc:
            log.warning("could not look for flow runs left Running by a process that died: %s", exc)
            return []
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    alive = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PENDING, StateType.RUNNING]))
    runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(state=alive, tags=FlowRunFilterTags(all_=[OWNED])))
    marked = []
    for run in runs:
        tag = next((t for t in run.tags if t.startswith(_PREFIX)), "")
        if process_alive(tag) is False:
            client.set_flow_run_state(run.id, Crashed(
                message=f"its process ({tag.removeprefix(_PREFIX)}) died while it was {run.state_name}; the units "
                        "it committed are kept, and running the batch again finishes it"), force=True)
            log.warning("flow run %s (%s) was left %s by a process that died: marked Crashed", run.name, run.id,
                        run.state_name)
            marked.append(str(run.id))
    return marked
