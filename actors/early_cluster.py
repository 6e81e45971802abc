"""A local Ray cluster started in the background at the command's start, for `ray_cluster` to take over.

`ray.init` of a local cluster takes 3-4 s here, most of it spent waiting for the processes it starts (GCS,
raylet, agents, workers). `lontar run` starts it first thing, in a thread, while Lontar and Prefect import and
Prefect's server comes up, so that by the time the run needs a cluster it is up or nearly. The run's
`ray_cluster` takes it over and tells it to stop when the run is done, and the command waits for it to be
down on its way out (a run that needs none, a finished batch, leaves it to the command to stop). Importing
this module does not import Ray: the thread does, while the command's own imports run.

Ray ties the processes it starts to the thread that started them (the kernel's parent-death signal follows the
parent thread), so that thread lives as long as the cluster and is the one that shuts it down.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator


class EarlyCluster:
    """A thread that starts a local cluster (`ray_adapter.start_local_cluster`), holds it, and shuts it down
    when told to stop."""

    def __init__(self, num_cpus: int | None, object_store_mb: int) -> None:
        self.settings = (num_cpus, object_store_mb)
        self.error: BaseException | None = None
        self._up, self._stop = threading.Event(), threading.Event()
        # a daemon: if the command dies without stopping it, the cluster's processes die with this thread
        self._thread = threading.Thread(target=self._hold, name="lontar-ray", daemon=True)
        self._thread.start()

    def _hold(self) -> None:
        try:
            from actors.ray_adapter import start_local_cluster

            start_local_cluster(*self.settings)
        except BaseException as exc:  # raised where the run asks for its cluster, as a start there would be
            self.error = exc
            return
        finally:
            self._up.set()
        self._stop.wait()
        import ray

        ray.shutdown()

    def wait(self) -> None:
        """Until the cluster is up; the start's error if it failed."""
        self._up.wait()
        if self.error is not None:
            raise self.error

    def stop(self, wait: bool = True) -> None:
        """Shut the cluster down (after its start, if it is still starting); with `wait`, return when it is
        down. Ray takes 1-1.5 s to stop its processes: a run writes its report meanwhile."""
        self._stop.set()
        if wait:
            self._thread.join()


_pending: EarlyCluster | None = None


def cluster_address(configured: str | None) -> str | None:
    """The cluster a run joins: the configured address, else RAY_ADDRESS; None means a local cluster."""
    return configured or os.environ.get("RAY_ADDRESS") or None


@contextlib.contextmanager
def started_early(address: str | None, num_cpus: int | None, object_store_mb: int) -> Iterator[None]:
    """Start the local cluster a run of these settings would start, now; on the way out, stop it unless a run
    took it over. Nothing where the run joins a cluster (`address`, RAY_ADDRESS) or Ray is connected already."""
    global _pending
    if cluster_address(address) or _ray_connected():
        yield
        return
    early = _pending = EarlyCluster(num_cpus, object_store_mb)
    try:
        yield
    finally:
        _pending = None
        early.stop()  # a run that took it over has told it to stop already: this waits until it is down


def _ray_connected() -> bool:
    ray = sys.modules.get("ray")  # not imported: not connected (and no need to import it to know)
    return ray is not None and ray.is_initialized()


def take(num_cpus: int | None, object_store_mb: int) -> EarlyCluster | None:
    """For `ray_cluster`: the cluster of these settings started early, once it is up, to tell to `stop` when
    done (`started_early` waits for it to be down); raises the start's error. None when none was started (or
    one of other settings, which stays its owner's)."""
    global _pending
    early = _pending
    if early is None or early.settings != (num_cpus, object_store_mb):
        return None
    _pending = None
    try:
        early.wait()
    except BaseException:
        early.stop()
        raise
    return early
