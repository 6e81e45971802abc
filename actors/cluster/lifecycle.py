"""The Ray cluster's life for a run: start a local one (early, in the background, while the command imports)
or join one at an address, and shut it down or disconnect when the run is done, without Ray ending the process.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import ray
import ray.data  # before the log levels are set: importing it configures its loggers

import actors
import configs
import ocr_models
from actors.cluster import stop
from configs.environment import WORKER_ENV
from ocr_models.lontar_errors import LontarError, TransientError, UsageError

log = logging.getLogger(__name__)
LOCAL_START_ATTEMPTS = 3
_own_cluster = False  # connected to a local cluster started for the run (by `ray_cluster`, or the command)
# What the workers import: shipped with the job when joining a cluster (ray.ship_code). flows stays home.
CODE = [Path(package.__file__).parent for package in (actors, configs, ocr_models)]


@contextlib.contextmanager
def ray_cluster(address: str | None, *, num_cpus: int | None, object_store_mb: int,
                ship_code: bool = True) -> Iterator[None]:
    """Join the Ray cluster at `address` (or RAY_ADDRESS), else take over the local one the command started
    early (`started_early`) or start one for the run; disconnect (or shut the local cluster down) at the end."""
    address = cluster_address(address)
    early = None if address else _take_early(num_cpus, object_store_mb)
    if early is None and ray.is_initialized():  # a caller (a test, a notebook) connected: use that cluster
        yield
        return
    sigterm = signal.getsignal(signal.SIGTERM)
    if address:
        runtime_env: dict = {"env_vars": WORKER_ENV}
        if ship_code:
            runtime_env.update(py_modules=[str(path) for path in CODE], excludes=["__pycache__"])
        join(address, runtime_env)
    elif early is None:
        start_local_cluster(num_cpus, object_store_mb)
    if callable(sigterm) and threading.current_thread() is threading.main_thread():
        # ray.init installs a C handler that aborts on SIGTERM; the caller's handler exits cleanly instead
        signal.signal(signal.SIGTERM, stop.recording(sigterm))
    if not log.isEnabledFor(logging.DEBUG):  # Ray Data logs every job's plan at INFO: keep the CLI readable
        for name in ("ray", "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)
    global _own_cluster
    _own_cluster = not address
    try:
        yield
    except BaseException:
        _own_cluster = False
        try:
            let_go(early, in_background=False)  # the error's traceback still holds the stream's objects
        except Exception as stop_error:  # the run's own error is the one to report
            log.warning("%s", stop_error)
        raise
    _own_cluster = False
    let_go(early, in_background=True)


def own_cluster() -> bool:
    """Whether the run is connected to a local cluster of its own (not one it joined)."""
    return _own_cluster


def let_go(early: EarlyCluster | None, in_background: bool) -> None:
    """Disconnect from Ray (shut the local cluster down) once the driver holds nothing of it.

    Ray's core worker ends the whole process (`core_worker_process.cc: The core worker has already been
    shutdown`, exit 1, nothing more said) when Python releases an object reference while `ray.shutdown` runs
    in another thread, and a finished stream leaves reference cycles holding some behind (12 after a one-page
    run), freed whenever the garbage collector next runs, in any thread. So the garbage is collected here,
    first; the early cluster's thread then shuts Ray down while the run writes its report (`in_background`)
    only when the driver holds no object reference at all, else before this returns."""
    started = time.monotonic()
    held = held_object_refs()
    log.debug("the driver holds %d Ray object reference(s) after its garbage is collected (%.3f s)", held,
              time.monotonic() - started)
    if early is None:
        shutdown_ray()
        return
    early.stop(wait=not in_background or bool(held))


def held_object_refs() -> int:
    """The object references this driver still holds, after a full garbage collection."""
    gc.collect()
    core_worker = getattr(ray._private.worker.global_worker, "core_worker", None)
    if core_worker is None:
        return 0
    return sum(1 for count in core_worker.get_all_reference_counts().values() if count.get("local", 0) > 0)


def cluster_address(configured: str | None) -> str | None:
    """The cluster a run joins: the configured address, else RAY_ADDRESS; None means a local cluster."""
    return configured or os.environ.get("RAY_ADDRESS") or None


class EarlyCluster:
    """A thread that starts a local cluster (`start_local_cluster`), holds it, and shuts it down when told to.

    `ray.init` of a local cluster takes 3-4 s here, most of it waiting for the processes it starts (GCS,
    raylet, agents, workers): `lontar run` starts it first thing (`started_early`), while Lontar and Prefect
    import and Prefect's server comes up, and the run's `ray_cluster` takes it over. Ray ties the processes it
    starts to the thread that started them (the kernel's parent-death signal follows the parent thread; a start
    thread that ended took GCS down with it), so that thread lives as long as the cluster and shuts it down."""

    def __init__(self, num_cpus: int | None, object_store_mb: int) -> None:
        self.settings = (num_cpus, object_store_mb)
        self.error: BaseException | None = None  # the start's
        self.stop_error: Exception | None = None  # the shutdown's, raised by `stop(wait=True)`
        self._up, self._stop = threading.Event(), threading.Event()
        # a daemon: if the command dies without stopping it, the cluster's processes die with this thread
        self._thread = threading.Thread(target=self._hold, name="lontar-ray", daemon=True)
        self._thread.start()

    def _hold(self) -> None:
        try:
            start_local_cluster(*self.settings)
        except BaseException as exc:  # raised where the run asks for its cluster, as a start there would be
            self.error = exc
            return
        finally:
            self._up.set()
        self._stop.wait()
        try:
            shutdown_ray()
        except Exception as exc:  # raised by the command when it waits for the cluster to be down
            self.stop_error = exc

    def wait(self) -> None:
        """Until the cluster is up; the start's error if it failed."""
        self._up.wait()
        if self.error is not None:
            raise self.error

    def stop(self, wait: bool = True) -> None:
        """Shut the cluster down (after its start, if it is still starting); with `wait`, return when it is
        down. Ray takes 1.4-2 s to stop its processes here: a run writes its report meanwhile."""
        self._stop.set()
        if wait:
            self._thread.join()
            if self.stop_error is not None:
                error, self.stop_error = self.stop_error, None
                raise LontarError(f"the local Ray cluster did not stop cleanly ({type(error).__name__}: {error}); "
                                  "some of its processes may still run") from error


_early: EarlyCluster | None = None


@contextlib.contextmanager
def started_early(address: str | None, num_cpus: int | None, object_store_mb: int) -> Iterator[None]:
    """Start the local cluster a run of these settings would start, now, in the background; on the way out,
    wait until it is down (a run that took it over has told it to stop; one that needed none, a finished
    batch, did not use it). Nothing where the run joins a cluster (`address`, RAY_ADDRESS) or Ray is connected
    already."""
    global _early
    if cluster_address(address) or ray.is_initialized():
        yield
        return
    early = _early = EarlyCluster(num_cpus, object_store_mb)
    try:
        yield
    finally:
        _early = None
        early.stop()


def _take_early(num_cpus: int | None, object_store_mb: int) -> EarlyCluster | None:
    """The cluster of these settings started early, once it is up, for `ray_cluster` to tell to stop when the
    run is done; raises the start's error. None when none was (or one of other settings, left to its owner)."""
    global _early
    early = _early
    if early is None or early.settings != (num_cpus, object_store_mb):
        return None
    _early = None
    try:
        early.wait()
    except BaseException:
        early.stop()
        raise
    return early


def join(address: str, runtime_env: dict) -> None:
    """ray.init on an existing cluster; a UsageError within seconds when nothing listens there, and one that
    names the token settings when the cluster refuses us (Ray itself only says it could not connect). Ray
    reads its token settings when imported: `flows.environment` sets them before that."""
    check_reachable(address)
    check_admitted(address)
    try:
        ray.init(address=address, runtime_env=runtime_env, logging_level=logging.WARNING, log_to_driver=False)
    except ConnectionError as exc:
        ray.shutdown()
        raise UsageError(refused(address, exc)) from exc


def check_admitted(address: str) -> None:
    """Fail at once when a cluster started with RAY_AUTH_MODE=token refuses this process's token (or its lack
    of one): ray.init retries such a driver about once a second for a minute before giving up. A GCS client,
    what ray.init connects with first, is refused on its first call (6 ms here). What listens at `address`
    but never answers as a GCS is a UsageError too, after the client's own wait (about 40 s), where ray.init
    would wait as long and blame the token. Ray Client addresses (ray://) have no GCS to ask; ray.init
    answers for them."""
    if address.startswith("ray://"):
        return
    from ray._raylet import GcsClient

    try:
        GcsClient(address=address)
    except ray.exceptions.AuthenticationError as exc:
        raise UsageError(refused(address, exc)) from exc
    except ray.exceptions.RpcError as exc:
        raise UsageError(f"no Ray cluster answers at {address}: something listens there, but not a Ray GCS "
                         f"({exc})") from exc


def refused(address: str, exc: Exception) -> str:
    mode = os.environ.get("RAY_AUTH_MODE", "not set")
    return (f"could not join the Ray cluster at {address} ({exc}); if it was started with RAY_AUTH_MODE=token, "
            "set RAY_AUTH_TOKEN_PATH (a file holding its token) or RAY_AUTH_TOKEN before starting lontar "
            f"(RAY_AUTH_MODE here: {mode}; docs/scale-out.md)")


def shutdown_ray() -> None:
    """ray.shutdown: disconnect, and stop the processes of a local cluster this process started."""
    ray.shutdown()


def alive_nodes() -> int:
    return sum(1 for node in ray.nodes() if node["Alive"])


def cluster_resources() -> dict[str, float]:
    """What the cluster holds now, all nodes together (CPU, GPU, memory...)."""
    return ray.cluster_resources()


def start_local_cluster(num_cpus: int | None, object_store_mb: int) -> None:
    """Start a local cluster for a run (every core unless `num_cpus`), quiet and on loopback."""
    # A local cluster's workers inherit this process's environment: only what differs goes into a runtime env,
    # because a runtime env keeps Ray from handing an actor a worker it started in advance (an actor started in
    # 0.45 s without one, 1.1 s with one).
    differs = {key: value for key, value in WORKER_ENV.items() if os.environ.get(key) != value}
    start_local(num_cpus=num_cpus or os.cpu_count(), object_store_memory=object_store_mb * 1024 * 1024,
                include_dashboard=False, runtime_env={"env_vars": differs} if differs else None,
                logging_level=logging.WARNING, log_to_driver=False, _node_ip_address="127.0.0.1")


def start_local(attempts: int = LOCAL_START_ATTEMPTS, **init_args: object) -> None:
    """ray.init for a local cluster, tried again when its raylet misses Ray's fixed 30 s registration window
    (it does on a loaded machine: measured on 2 busy cores); a TransientError when it never starts."""
    for attempt in range(1, attempts + 1):
        try:
            ray.init(**init_args)
            return
        except Exception as exc:
            ray.shutdown()
            if "timed out during startup" not in str(exc):
                raise
            log.warning("the local Ray cluster did not start (attempt %d of %d): %s", attempt, attempts, exc)
            if attempt == attempts:
                raise TransientError(f"the local Ray cluster did not start {attempts} times: {exc}") from exc


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail within seconds when nothing listens at a Ray address (ray.init would retry for minutes)."""
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"Ray address {address!r} is not of the form host:port or ray://host:port")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise UsageError(f"no Ray cluster answers at {address} ({exc.strerror or exc})") from exc
