"""Ray is an adapter: it runs the plain stages as a Ray Data job and manages the cluster connection.

Every stage gets an explicit, fractional `num_cpus` (Ray Data hangs silently when the stages together ask
for more whole CPUs than the cluster has), and the OCR workers start with `OMP_THREAD_LIMIT=1`.
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

import pyarrow as pa
import ray
import ray.data  # before the log levels are set: importing it configures its loggers

import actors
import configs
import ocr_models
from actors import stop
from actors.base import Row, Stage, error_fields
from actors.ingest import page_id
from actors.records import RAN_ON_TYPE, batch_table
from configs.environment import WORKER_ENV
from ocr_models.lontar_errors import LontarError, TransientError, UsageError

log = logging.getLogger(__name__)
LOCAL_START_ATTEMPTS = 3
_own_cluster = False  # connected to a local cluster started for the run (by `ray_cluster`, or the command)
# What the workers import: shipped with the job when joining a cluster (ray.ship_code). flows stays home.
CODE = [Path(package.__file__).parent for package in (actors, configs, ocr_models)]


def run_stage(stage: Stage, batch: pa.Table, node_id: str | None = None) -> pa.Table:
    """Apply `stage` to a batch, noting `node_id` (the Ray node it ran on) in each row's `ran_on`. A failure
    of the stage itself costs that batch's rows, never the dataset: a single exception in a Ray Data
    function fails the whole job. A batch the stage does not want passes through unconverted."""
    if stage.wants(batch):
        rows = batch.to_pylist()
        try:
            out = stage.process(rows)
        except Exception as exc:
            log.exception("stage %s failed on a batch of %d rows", stage.name, len(rows))
            out = [salvage(row, exc) for row in rows]
        batch = batch_table(out)
    if not node_id:
        return batch
    note = {"stage": stage.name, "node_id": node_id}
    ran_on = [[*(steps or ()), note] for steps in batch.column("ran_on").to_pylist()]
    return batch.set_column(batch.schema.get_field_index("ran_on"), "ran_on", pa.array(ran_on, RAN_ON_TYPE))


def salvage(row: Row, exc: Exception) -> Row:
    """An error row that keeps what identifies the page (or, for a read task, the file)."""
    index = row.get("page_index", -1)
    keep = ("source_uri", "source_sha256", "source_format", "page_count", "ran_on")
    work = row.get("work")
    if work and work.get("task_rows") is None:  # a read task that failed as a whole gives this one row
        work = {**work, "task_rows": 1}
    return {**{k: row.get(k) for k in keep}, "page_index": index, "work": work,
            "page_id": row.get("page_id") or page_id(row["source_sha256"], index), **error_fields(exc)}


def current_node() -> str:
    return ray.get_runtime_context().get_node_id()


class StageActor:
    """Holds one stage instance per Ray actor: the engine is loaded once, then serves many batches."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.stage.setup()
        self.node_id = current_node()

    def __call__(self, batch: pa.Table) -> pa.Table:
        return run_stage(self.stage, batch, self.node_id)


def stage_task(stage: Stage):
    """A stateless Ray Data function for stages without a model to keep loaded (ingest)."""

    def run(batch: pa.Table) -> pa.Table:
        return run_stage(stage, batch, current_node())

    return run


def run_stream(tasks: list[Row], ingest: Stage, model_stages: list[Stage]) -> Iterator[pa.Table]:
    """Stream read tasks (of any number of units) as BATCH_SCHEMA tables through ingest, then each model stage
    in its own actor pool (layout, OCR, captioning), on the cluster: one Ray Data job, its actors started
    once for the whole run. Batches come in the order they finish, not the tasks' order."""
    from ray.data import ActorPoolStrategy, DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False
    # Waiting for each pool's first actors, Ray Data starts the pools one after another; it makes a pool that
    # cannot start (on a shared cluster) fail instead of waiting forever. On a local cluster of the run's own
    # every pool fits (stages.py sizes them to it): the pools start side by side, a run's first pages 1 s sooner.
    context.wait_for_min_actors_s = -1 if _own_cluster else 600
    ds = ray.data.from_items(tasks, override_num_blocks=max(1, len(tasks)))
    ds = ds.map_batches(stage_task(ingest), batch_size=1, batch_format="pyarrow", num_cpus=ingest.num_cpus)
    # Ray Data hands an actor whole blocks: a read task's pages (output.pages_per_task) go to one OCR actor.
    # Repartitioning to a page a block was tried: the first pages came sooner, pages/s stayed the same, and its
    # tasks (a whole CPU each) hung the job beside a caption pool.
    # On a multi-node cluster the actors are spread over the nodes, so that no node runs more engines than it
    # has cores, and the pools are of fixed size: Ray Data's autoscaler let an actor that idled while the first
    # pages were ingested go and grew the pool back only while its queue was long, which left a small run's OCR
    # on one node (in CI). Spread, an actor also takes a block only when it is free: by default it queues a
    # second one, and Ray Data prefers the actor on the node that already holds the block. On one node SPREAD
    # only costs (born-digital pages 9.3 against 12.8 pages/s, make bench), and so did starting every actor at
    # once (0.32 x the limit against 0.43 x).
    spread = alive_nodes() > 1
    placement = {"scheduling_strategy": "SPREAD"} if spread else {}
    for stage in model_stages:
        pool = ActorPoolStrategy(min_size=stage.max_actors if spread else 1, max_size=stage.max_actors,
                                 max_tasks_in_flight_per_actor=1 if spread else None)
        ds = ds.map_batches(StageActor, fn_constructor_args=(stage,), batch_size=stage.batch_size,
                            batch_format="pyarrow", num_cpus=stage.num_cpus, num_gpus=stage.num_gpus or None,
                            compute=pool, **placement)
    yield from ds.iter_batches(batch_size=None, batch_format="pyarrow")


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
    try:
        ray.init(address=address, runtime_env=runtime_env, logging_level=logging.WARNING, log_to_driver=False)
    except ConnectionError as exc:
        ray.shutdown()
        mode = os.environ.get("RAY_AUTH_MODE", "not set")
        raise UsageError(f"could not join the Ray cluster at {address} ({exc}); if it was started with "
                         "RAY_AUTH_MODE=token, set RAY_AUTH_TOKEN_PATH (a file holding its token) or RAY_AUTH_TOKEN "
                         f"before starting lontar (RAY_AUTH_MODE here: {mode}; docs/scale-out.md)") from exc


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
