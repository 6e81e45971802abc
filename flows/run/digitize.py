"""The digitize flow: preflight, plan, one Ray Data job streaming every pending work unit, and the run report.

Prefect orchestrates (the stream is a task, retried only for transient errors; a retry skips the units the
failed try committed); Ray executes. Units stay the unit of commit and resume.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import fsspec
import pyarrow.compute as pc
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from actors.cluster.inspection import judge_text_layers
from actors.cluster.lifecycle import cluster_resources, ray_cluster
from actors.cluster.stream import run_stream
from actors.cluster.writing import UnitWriting, start_index
from actors.store import dataset_layout as layout
from actors.store.unit_stream import UnitStream
from actors.store.writer import UnitStats, read_done_unit, remove_parts, write_text
from configs.model import RunConfig
from flows.dataset import locks, manifest, views
from flows.dataset.review import review_html
from flows.dataset.snapshot import snapshot
from flows.run import planning, preflight, report
from flows.run.progress import LogReporter
from flows.run.stages import build_stages
from ocr_models.lontar_errors import LontarError, OutputError

log = logging.getLogger(__name__)
# A stream of its own costs text-layer pages about 2 s to start and saves them about 11 ms a page against
# passing the model stages (85.7 against 45.7 pages/s on 2 cores): worth it from about 200 pages.
TEXT_STREAM_MIN_PAGES = 200


def retry_if_transient(task, task_run, state) -> bool:
    try:
        state.result()
    except LontarError as exc:
        return exc.retryable
    except Exception:
        return False
    return False


@dataclass
class Streamed:
    """What `process_units` did: the stats of every unit (committed now or before), and when the stream's
    first batch arrived (its start-up: actors started, models loaded, the first pages read)."""

    units: dict[str, UnitStats]
    first_batch_s: float | None = None
    first_batch_rows: int = 0


@task(name="process-units", retries=2, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE)
def process_units(units: list[planning.Unit], out: str, config: RunConfig, stamp: dict[str, str],
                  reporter: Any) -> Streamed:
    """Stream every pending unit through Ray Data: enough text-layer units through ingest alone, the others
    through every stage (`streams`; actors started once); units already committed (by an earlier run, or by
    this task's failed try) are not redone. The last stage writes its rows where it made them
    (actors/cluster/writing.py); this process only commits each unit, from file names and counts, as its last
    rows are written."""
    started = time.monotonic()
    streamed = Streamed({})
    done = streamed.units
    fs, root = fsspec.core.url_to_fs(out)
    done.update({unit.unit_id: stats for unit in units if (stats := read_done_unit(fs, root, unit.unit_id))})
    pending = [unit for unit in units if unit.unit_id not in done]
    for stats in done.values():
        reporter.advance(stats.by_status["ok"], stats.by_status["error"])
    if not pending:
        return streamed
    remove_parts(fs, root, {unit.unit_id for unit in pending})  # what a run that died mid-file left
    # sized by the cluster as it is now: nodes added since the last run (autoscaling, scaled by hand) count
    resources = cluster_resources()
    ingest, model_stages = build_stages(config, resources)
    text_ingest, _ = build_stages(config, resources, text_only=True)
    committed = snapshot(out)
    index = start_index(out, committed.shards("pages"), committed.shards("pairs"), config.near_duplicates)
    write = UnitWriting(out, stamp, config.output, index)
    try:
        for text_only, group in streams(pending):
            units_stream = UnitStream(fs, root, {unit.unit_id: len(unit.tasks) for unit in group},
                                      on_commit=index.commit, on_abort=index.drop)
            try:
                for written in run_stream([task for unit in group for task in unit.tasks],
                                          *((text_ingest, []) if text_only else (ingest, model_stages)), write=write):
                    if text_only and pc.sum(written.column("needs_ocr")).as_py():
                        raise LontarError("internal: planning found text layers on every page of a unit, but a "
                                          "page needs OCR; nothing of that unit is written")
                    if streamed.first_batch_s is None:  # actors started, models loaded, the first pages read
                        streamed.first_batch_s = time.monotonic() - started
                        streamed.first_batch_rows = pc.sum(written.column("ok")).as_py() + pc.sum(
                            written.column("errors")).as_py()
                    for stats in units_stream.add(written):
                        done[stats.unit_id] = stats
                        log.debug("unit %s committed: %d pages", stats.unit_id, stats.rows)
                    reporter.advance(pc.sum(written.column("ok")).as_py() or 0,
                                     pc.sum(written.column("errors")).as_py() or 0)
                units_stream.finish()
            except BaseException:
                units_stream.abort()
                raise
        remove_parts(fs, root, {unit.unit_id for unit in pending})  # a write task Ray retried left its first try's
    finally:
        index.stop()
    return streamed


def streams(pending: list[planning.Unit]) -> list[tuple[bool, list[planning.Unit]]]:
    """The run's streams, each (text_only, its units): text-layer units first, through ingest alone, so that
    they neither start nor wait for layout and OCR actors; unless they are too few to pay for a stream of
    their own, when they pass through the model stages with the scans."""
    text = [unit for unit in pending if unit.text_only]
    scans = [unit for unit in pending if not unit.text_only]
    if not scans or not text:
        return [(not scans, pending)]
    if sum(unit.pages for unit in text) < TEXT_STREAM_MIN_PAGES:
        return [(False, pending)]
    return [(True, text), (False, scans)]


@flow(name="lontar-digitize", validate_parameters=False, log_prints=False)
def digitize(inputs: list[str], out: str, config: RunConfig, run_id: str | None = None,
             reporter: Any = None, run_log: Any = None, launched_at: float | None = None) -> dict:
    """Digitize `inputs` into the dataset at `out`; returns the run report (also written to OUT/_runs/).

    `reporter` is a `flows.run.progress.Reporter` (typed Any: Prefect cannot build a schema for a Protocol).
    `run_log`: the libraries' output captured by the caller (`flows.run.log_capture.Capture`), told here where
    it goes: the report's `log_path`, beside the report.
    `launched_at`: when the calling process started (epoch seconds); the report's `launch_s` is the time from
    then to this flow's first step (interpreter, imports, Prefect's server).
    """
    run_id = run_id or report.new_run_id()
    reporter = reporter or LogReporter(config.progress_every)
    timings: dict[str, float] = {}
    if launched_at is not None:
        timings["launch_s"] = time.time() - launched_at
    t0, cpu0 = time.monotonic(), time.process_time()
    tesseract_version = preflight.check_tesseract(config)
    preflight.check_models(config)
    preflight.check_output(out)
    manifest.check_writable_version(out)
    preflight.check_cluster(config)
    timings["preflight_s"] = time.monotonic() - t0

    t = time.monotonic()
    files = planning.find_files(inputs, config.ingest)
    batch_id = config.batch_id or planning.batch_id_of(files)
    stamp = {"run_id": run_id, "batch_id": batch_id, "config_hash": config.config_hash()}
    with locks.batch_lock(out, batch_id):
        return _write_batch(inputs, out, config, files, stamp, reporter, tesseract_version, timings, (t0, cpu0), t,
                            run_log)


def _write_batch(inputs: list[str], out: str, config: RunConfig, files: list[planning.SourceFile],
                 stamp: dict[str, str], reporter: Any, tesseract_version: str, timings: dict[str, float],
                 started: tuple[float, float], t: float, run_log: Any) -> dict:
    """Plan against the dataset, write the pending units, report; under the batch's lock. The cluster is joined
    (or started) when there is work for it: PDFs whose text layers no earlier run of the batch judged, or units
    to write; a finished batch re-run starts no cluster at all."""
    run_id, batch_id = stamp["run_id"], stamp["batch_id"]
    fs, root = fsspec.core.url_to_fs(out)
    files = planning.skip_committed(files, views.source_owners(out, [f.sha256 for f in files]), batch_id,
                                    stamp["config_hash"])
    judged_path = layout.text_layers_path(root, batch_id, stamp["config_hash"])
    judged = json.loads(fs.cat_file(judged_path)) if fs.exists(judged_path) else {}
    with ClusterWhenNeeded(config, timings) as cluster:
        if missing := planning.unjudged(files, judged):
            cluster.join()
            judged.update(planning.judge(missing, config, by=judge_text_layers))
            write_text(fs, judged_path, json.dumps(judged))
        plan = planning.plan(inputs, config, planning.with_text_layers(files, judged))
        timings["plan_s"] = time.monotonic() - t - timings.get("ray_start_s", 0.0)

        report_path = layout.report_path(root, batch_id, run_id)
        if run_log is not None:  # from now on, however the run ends, its log goes beside the report
            run_log.keep_at(out, layout.log_path(report_path))
        done = {unit.unit_id: read_done_unit(fs, root, unit.unit_id) for unit in plan.units}
        pending = [unit for unit in plan.units if done[unit.unit_id] is None]
        reporter.start(plan.pages)
        for finished in filter(None, done.values()):
            reporter.advance(finished.by_status["ok"], finished.by_status["error"])
        try:
            if pending:
                cluster.join()
                t = time.monotonic()
                streamed = process_units(pending, out, config, stamp, reporter)
                done.update(streamed.units)
        finally:
            reporter.finish()
        timings["process_s"] = time.monotonic() - t if pending else 0.0
    if pending and streamed.first_batch_s is not None:
        timings["first_batch_s"] = streamed.first_batch_s
    stats = [done[unit.unit_id] for unit in plan.units]

    t0, cpu0 = started  # when the flow began, by the clock and by this process's CPU time
    timings["total_s"] = time.monotonic() - t0
    # every page's work is the cluster's; what this process spends (Prefect, Ray Data's scheduling, commits)
    timings["driver_cpu_s"] = time.process_time() - cpu0
    body = report.fold(plan, stats)
    written = [s for s in stats if not s.reused]
    processed = sum(s.rows for s in written)  # pages of reused units cost nothing and do not count
    timings["pages_per_s"] = processed / timings["process_s"] if processed and timings["process_s"] else 0.0
    if "first_batch_s" in timings and processed > streamed.first_batch_rows:  # the stream's pace once going
        timings["steady_pages_per_s"] = ((processed - streamed.first_batch_rows)
                                         / max(timings["process_s"] - timings["first_batch_s"], 1e-9))
    result: layout.RunReport = {
        "run_id": run_id, "batch_id": batch_id, "status": "completed", "finished_at": datetime.now(UTC).isoformat(),
        "inputs": [planning.redact(i) for i in inputs], "output": planning.redact(out), "report_path": report_path,
        "log_path": layout.log_path(report_path) if run_log is not None else None,
        "review_path": layout.review_path(report_path), **body,
        "units": {"total": len(stats), "written": len(written), "skipped": len(stats) - len(written)},
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "config": config.model_dump(mode="json"), "config_hash": stamp["config_hash"],
        "versions": report.versions(tesseract_version)}
    t = time.monotonic()
    try:
        write_text(fs, result["review_path"], review_html(out, batch_id, dict(result)))
        log.info("dataset review page of batch %s written in %.1f s", batch_id, time.monotonic() - t)
    except Exception as exc:  # the rows and the report stand without their page; say why, keep the run
        log.warning("the batch review page could not be written (%s: %s); the data and the run report are "
                    "safe, and running the same command again writes it", type(exc).__name__, exc)
        result["review_path"] = None
    committed = f"every unit of batch {batch_id} is committed ({body['pages']['total']} pages)"
    with after_commit("the run report", committed):
        write_text(fs, report_path, json.dumps(result, indent=1, ensure_ascii=False))
    t = time.monotonic()
    with after_commit("the dataset manifest", f"{committed}, and the run report is written"):
        manifest.refresh(out)
    log.info("dataset manifest and card rebuilt in %.1f s", time.monotonic() - t)
    return result


class ClusterWhenNeeded(contextlib.ExitStack):
    """The run's Ray cluster, joined (or started) the first time the run needs it (`join`), left at the end;
    the seconds joining took go into `timings["ray_start_s"]`."""

    def __init__(self, config: RunConfig, timings: dict[str, float]) -> None:
        super().__init__()
        self.config, self.timings, self.joined = config, timings, False

    def join(self) -> None:
        if self.joined:
            return
        started = time.monotonic()
        ray = self.config.ray
        self.enter_context(ray_cluster(ray.address, num_cpus=ray.num_cpus, object_store_mb=ray.object_store_mb,
                                       ship_code=ray.ship_code))
        self.joined = True
        self.timings["ray_start_s"] = time.monotonic() - started


@contextlib.contextmanager
def after_commit(step: str, done: str) -> Iterator[None]:
    """A step after the batch's units committed that fails says what failed and that the data is safe; an
    error writing it is the output's (exit code 4); a re-run of the batch finishes what is missing."""
    try:
        yield
    except OSError as exc:
        error = OutputError(f"{step} could not be written: {exc.strerror or exc}")
        error.add_note(f"{done}: the data is safe; run the same command again to finish the run")
        raise error from exc
    except Exception as exc:
        exc.add_note(f"{step} failed after {done}: the data is safe; run the same command again to finish the run")
        raise
