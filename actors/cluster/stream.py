"""Ray is an adapter: it runs the plain stages as one Ray Data job on the cluster the run is connected to.

Every stage gets an explicit, fractional `num_cpus` (Ray Data hangs silently when the stages together ask
for more whole CPUs than the cluster has), and the OCR workers start with `OMP_THREAD_LIMIT=1`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pyarrow as pa
import ray
import ray.data  # before the log levels are set: importing it configures its loggers

from actors.cluster.lifecycle import alive_nodes, own_cluster
from actors.stages.base import Row, Stage, error_fields
from actors.stages.ingest import page_id
from actors.store.records import RAN_ON_TYPE, batch_table

log = logging.getLogger(__name__)


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


Then = Callable[[pa.Table], pa.Table] | None


class StageActor:
    """Holds one stage instance per Ray actor: the engine is loaded once, then serves many batches. `then`: what
    becomes of the stage's output there (the last stage's: written, actors/cluster/writing.py)."""

    def __init__(self, stage: Stage, then: Then = None) -> None:
        self.stage, self.then = stage, then
        self.stage.setup()
        self.node_id = current_node()

    def __call__(self, batch: pa.Table) -> pa.Table:
        out = run_stage(self.stage, batch, self.node_id)
        return self.then(out) if self.then is not None else out


def stage_task(stage: Stage, then: Then = None):
    """A stateless Ray Data function for stages without a model to keep loaded (ingest)."""

    def run(batch: pa.Table) -> pa.Table:
        out = run_stage(stage, batch, current_node())
        return then(out) if then is not None else out

    return run


def run_stream(tasks: list[Row], ingest: Stage, model_stages: list[Stage], write: Then = None) -> Iterator[pa.Table]:
    """Stream read tasks (of any number of units) as BATCH_SCHEMA tables through ingest, then each model stage
    in its own actor pool (layout, OCR, captioning), on the cluster: one Ray Data job, its actors started
    once for the whole run. `write`: run by the last stage on each of its batches, where the rows are (the
    stream then yields what it returns: actors/store/unit_stream.WRITTEN_SCHEMA tables). Batches come in the
    order they finish, not the tasks' order."""
    from ray.data import ActorPoolStrategy, DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False
    # Waiting for each pool's first actors, Ray Data starts the pools one after another; it makes a pool that
    # cannot start (on a shared cluster) fail instead of waiting forever. On a local cluster of the run's own
    # every pool fits (stages.py sizes them to it): the pools start side by side, a run's first pages 1 s sooner.
    context.wait_for_min_actors_s = -1 if own_cluster() else 600
    ds = ray.data.from_items(tasks, override_num_blocks=max(1, len(tasks)))
    ds = ds.map_batches(stage_task(ingest, None if model_stages else write), batch_size=1, batch_format="pyarrow",
                        num_cpus=ingest.num_cpus)
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
    for number, stage in enumerate(model_stages, 1):
        pool = ActorPoolStrategy(min_size=stage.max_actors if spread else 1, max_size=stage.max_actors,
                                 max_tasks_in_flight_per_actor=1 if spread else None)
        # the last stage takes a read task's pages whole, so that they are written as one part, not one a page
        then = write if number == len(model_stages) else None
        ds = ds.map_batches(StageActor, fn_constructor_args=(stage, then),
                            batch_size=None if then is not None else stage.batch_size,
                            batch_format="pyarrow", num_cpus=stage.num_cpus, num_gpus=stage.num_gpus or None,
                            compute=pool, **placement)
    yield from ds.iter_batches(batch_size=None, batch_format="pyarrow")
