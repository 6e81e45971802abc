"""What `lontar run` starts before its flow, in the order that lets the slow parts overlap, and stops in reverse.

`ray_cluster` (actors/cluster/lifecycle.py), inside the flow, takes over the local cluster started here.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from configs.model import RunConfig
from flows import environment
from flows.run import log_capture, prefect_server


@dataclass
class Started:
    """What the command runs its batch with: the run log (None when `-v` shows everything on the terminal) and
    the flow, imported while the server and the cluster came up."""

    run_log: log_capture.Capture | None
    digitize: Callable[..., dict]


@contextlib.contextmanager
def run_started(config: RunConfig, run_id: str, verbose: bool) -> Iterator[Started]:
    """Up, in this order:
    1. the run log, first in and last out, so that it holds whatever ends the run, shutdowns included;
    2. Prefect's embedded server (unless one is configured), a child process that takes seconds to come up,
       started before Prefect is imported so that Prefect's settings see its address;
    3. the local Ray cluster (unless one is to be joined), in a thread of its own: 3-4 s of `ray.init`;
    4. while both start: Lontar's and Prefect's imports, then the libraries' log levels (Prefect sets its own
       on import) and `gc.freeze` (what the imports made lives as long as the command, so the collection
       before Ray stops need not look at it: 0.22 -> 0.07 s on a one-page run);
    5. the server ready, the flow's Prefect settings tuned for an embedded server, and the flow runs made
       inside tagged with this process (flows/run/dead_runs.py).
    After a flow that returned: earlier commands' flow runs whose process died are marked Crashed, here
    because Prefect's client is warm (0.09 s; 1.6 s before the flow). On the way out the cluster is waited
    for (the run told it to stop), then the server stops, then the log is moved beside the report."""
    capture = contextlib.nullcontext() if verbose else log_capture.library_output_captured(run_id)
    with capture as run_log, prefect_server.embedded_server() as server:
        from actors.cluster.lifecycle import started_early  # imports Ray: after the server has been started

        with started_early(config.ray.address, config.ray.num_cpus, config.ray.object_store_mb):
            from flows.run.dead_runs import mark_dead_runs_crashed, owned_by_this_process
            from flows.run.digitize import digitize

            environment.quiet_libraries(verbose)
            gc.freeze()
            if server is not None:
                server.wait_ready()
            with prefect_server.embedded_prefect_tuned(), owned_by_this_process():
                yield Started(run_log, digitize)
            mark_dead_runs_crashed()
