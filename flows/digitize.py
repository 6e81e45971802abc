"""The digitize flow: preflight, plan, one Ray Data job per work unit, and the run report.

Prefect orchestrates (each unit is a task, retried only for transient errors); Ray executes.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import fsspec
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from actors.ray_adapter import cluster_resources, ray_cluster, run_unit
from actors.writer import ShardLimits, ShardWriter, UnitStats, read_done_unit, write_text
from configs.model import RunConfig
from flows import dataset, planning, preflight, report
from flows.pipeline import build_stages, read_options
from flows.progress import LogReporter
from ocr_models.errors import LontarError

log = logging.getLogger("lontar")


def new_run_id() -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def retry_if_transient(task, task_run, state) -> bool:
    try:
        state.result()
    except LontarError as exc:
        return exc.retryable
    except Exception:
        return False
    return False


@task(name="process-unit", retries=2, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE)
def process_unit(unit: planning.Unit, out: str, config: RunConfig, stamp: dict[str, str],
                 reporter: Any, images: dict[str, str]) -> UnitStats:
    """Run one unit as a Ray Data job and commit its shards; a unit already committed is not redone.
    `images`: the dataset's figure and table images (image_sha256 -> pair_id), grown as units commit."""
    fs, root = fsspec.core.url_to_fs(out)
    done = read_done_unit(fs, root, unit.unit_id)  # again: a retry may find the unit committed
    if done is not None:
        reporter.advance(done.by_status["ok"], done.by_status["error"])
        return done
    started = time.monotonic()
    # sized by the cluster as it is now: nodes added since the last unit (autoscaling, scaled by hand) count
    ingest, model_stages = build_stages(config, cluster_resources())
    writer = ShardWriter(fs, root, unit.unit_id, stamp, limits=shard_limits(config), images=images)
    try:
        for batch in run_unit(unit.tasks, ingest, model_stages):
            writer.write(batch)
            errors = batch.column("status").to_pylist().count("error")
            reporter.advance(batch.num_rows - errors, errors)
    except BaseException:
        writer.abort()
        raise
    return writer.close(wall_seconds=time.monotonic() - started)


def shard_limits(config: RunConfig) -> ShardLimits:
    output = config.output
    return ShardLimits(shard_max_bytes=output.shard_max_mb << 20, shard_max_rows=output.shard_max_rows,
                       row_group_bytes=output.row_group_mb << 20, row_group_rows=output.row_group_rows,
                       compression=output.compression)


@flow(name="lontar-digitize", validate_parameters=False, log_prints=False)
def digitize(inputs: list[str], out: str, config: RunConfig, run_id: str | None = None,
             reporter: Any = None) -> dict:
    """Digitize `inputs` into the dataset at `out`; returns the run report (also written to OUT/_runs/).

    `reporter` is a `flows.progress.Reporter` (typed Any: Prefect cannot build a schema for a Protocol).
    """
    run_id = run_id or new_run_id()
    reporter = reporter or LogReporter(config.progress_every)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    tesseract_version = preflight.check_tesseract(config)
    preflight.check_models(config)
    preflight.check_output(out)
    dataset.check_writable_version(out)
    preflight.check_cluster(config)
    timings["preflight_s"] = time.monotonic() - t0

    t = time.monotonic()
    files = planning.find_files(inputs, read_options(config))
    batch_id = config.batch_id or planning.batch_id_of(files)
    stamp = {"run_id": run_id, "batch_id": batch_id, "config_hash": config.config_hash()}
    with dataset.batch_lock(out, batch_id):
        return _write_batch(inputs, out, config, files, stamp, reporter, tesseract_version, timings, t0, t)


def _write_batch(inputs: list[str], out: str, config: RunConfig, files: list[planning.SourceFile],
                 stamp: dict[str, str], reporter: Any, tesseract_version: str, timings: dict[str, float],
                 t0: float, t: float) -> dict:
    """Plan against the dataset, write the pending units, report; under the batch's lock."""
    run_id, batch_id = stamp["run_id"], stamp["batch_id"]
    files = planning.skip_committed(files, dataset.source_owners(out, [f.sha256 for f in files]), batch_id,
                                    stamp["config_hash"])
    plan = planning.plan(inputs, config, read_options(config), files)
    images = dataset.known_images(out) if plan.units else {}
    timings["plan_s"] = time.monotonic() - t

    t = time.monotonic()
    fs, root = fsspec.core.url_to_fs(out)
    done = {unit.unit_id: read_done_unit(fs, root, unit.unit_id) for unit in plan.units}
    pending = [unit for unit in plan.units if done[unit.unit_id] is None]
    reporter.start(plan.pages)
    for finished in filter(None, done.values()):
        reporter.advance(finished.by_status["ok"], finished.by_status["error"])
    try:
        if pending:  # a finished batch re-run starts no cluster at all
            with ray_cluster(config.ray.address, num_cpus=config.ray.num_cpus,
                             object_store_mb=config.ray.object_store_mb, ship_code=config.ray.ship_code):
                timings["ray_start_s"] = time.monotonic() - t
                t = time.monotonic()
                for unit in pending:
                    done[unit.unit_id] = process_unit(unit, out, config, stamp, reporter, images)
    finally:
        reporter.finish()
    timings["process_s"] = time.monotonic() - t
    stats = [done[unit.unit_id] for unit in plan.units]

    timings["total_s"] = time.monotonic() - t0
    body = report.fold(plan, stats)
    written = [s for s in stats if not s.reused]
    processed = sum(s.rows for s in written)  # pages of reused units cost nothing and do not count
    timings["pages_per_s"] = processed / timings["process_s"] if processed and timings["process_s"] else 0.0
    report_path = dataset.report_path(root, batch_id, run_id)
    result = {"run_id": run_id, "batch_id": batch_id, "status": "completed",
              "finished_at": datetime.now(UTC).isoformat(), "inputs": [planning.redact(i) for i in inputs],
              "output": planning.redact(out), "report_path": report_path, **body,
              "units": {"total": len(stats), "written": len(written), "skipped": len(stats) - len(written)},
              "timings": {k: round(v, 3) for k, v in timings.items()},
              "config": config.model_dump(mode="json"), "config_hash": stamp["config_hash"],
              "versions": report.versions(tesseract_version)}
    write_text(fs, report_path, json.dumps(result, indent=1, ensure_ascii=False))
    t = time.monotonic()
    dataset.refresh(out)
    log.info("dataset manifest and card rebuilt in %.1f s", time.monotonic() - t)
    return result
