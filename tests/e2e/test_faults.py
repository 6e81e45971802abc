"""Faults lose nothing: a full disk is one clear error with no partial shard, a second run of the same batch
into the same dataset is refused rather than interleaved, and a Ray actor (layout or OCR) killed mid-run is
replaced without losing or repeating a page."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import time
from pathlib import Path

import fsspec
import psutil
import pytest
from fsspec.implementations.local import LocalFileSystem

from actors.cluster.writing import UnitWriting
from actors.store.records import batch_table
from actors.store.unit_stream import write_batch
from actors.store.writer import ShardWriter
from configs.model import OutputOptions
from flows.dataset import locks, views
from ocr_models.lontar_errors import OutputError, UsageError
from tests.support.cli import LONTAR, run_cli
from tests.support.datasets import STAMP, rows


class FullDisk(LocalFileSystem):
    """A local file system whose disk fills up after `room` bytes."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def _open(self, path, mode="rb", **kwargs):
        handle = super()._open(path, mode, **kwargs)
        if "w" in mode:
            write = handle.write

            def limited(data):
                self.room -= len(data)
                if self.room < 0:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return write(data)

            handle.write = limited
        return handle


def test_a_full_disk_is_one_output_error_and_leaves_no_shard(tmp_path):
    writer = ShardWriter(FullDisk(room=2_000), str(tmp_path), "u1", STAMP, limits=OutputOptions(row_group_rows=2))
    with pytest.raises(OutputError, match="No space left on device"):
        for _ in range(20):
            writer.write(batch_table(rows(2)))
        writer.close()
    writer.abort()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_batch_already_being_written_is_refused_not_interleaved(tmp_path):
    with locks.batch_lock(str(tmp_path), "b1"):
        with pytest.raises(UsageError, match="another run is writing batch b1"), \
                locks.batch_lock(str(tmp_path), "b1"):
            pass
        with locks.batch_lock(str(tmp_path), "b2"):  # another batch may write beside it
            pass
    with locks.batch_lock(str(tmp_path), "b1"):  # released: the next run goes ahead
        pass


def test_two_writers_of_one_unit_never_share_a_temporary_file(tmp_path):
    fs = fsspec.filesystem("file")
    first, second = (ShardWriter(fs, str(tmp_path), "u1", STAMP, limits=OutputOptions(row_group_rows=1))
                     for _ in range(2))
    first.write(batch_table(rows(2)))
    second.write(batch_table(rows(3)))
    temps = sorted(p.name for p in tmp_path.rglob("*.tmp"))
    assert len(temps) == 2 and temps[0] != temps[1]
    first.close()
    second.close()
    assert len(list((tmp_path / "pages").rglob("*.parquet"))) == 1
    assert views.read_table(str(tmp_path), "pages").num_rows == 3  # whole: the last writer's shard


def worker_processes(root: psutil.Process, name: str) -> list[psutil.Process]:
    found = []
    for proc in root.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if name in " ".join(proc.cmdline()) or name in proc.name():
                found.append(proc)
    return found


@pytest.mark.integration
@pytest.mark.slow  # a whole demo run, about 4 min here: `pytest -m slow`
def test_a_stage_actor_killed_mid_run_is_replaced_and_every_page_is_written_once(sample_archive, tmp_path,
                                                                                   prefect_home):
    out = tmp_path / "dataset"
    args = ["run", str(sample_archive), "--out", str(out), "--no-progress", "--batch-id", "chaos"]
    run = subprocess.Popen([LONTAR, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           stdin=subprocess.DEVNULL, env=os.environ.copy())
    root = psutil.Process(run.pid)
    deadline = time.monotonic() + 300
    while not worker_processes(root, "StageActor") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert run.poll() is None, run.communicate()[1][-3000:]

    second = run_cli(*args)  # the same batch again, while the first is writing it
    assert second.returncode == 2 and "another run is writing batch chaos" in second.stderr

    time.sleep(5)  # the actors have pages in hand
    (victim, *_) = worker_processes(root, "StageActor")
    victim.send_signal(signal.SIGKILL)
    _, stderr = run.communicate(timeout=900)
    assert run.returncode == 0, stderr[-3000:]

    pages = views.read_table(str(out), "pages", ["source_sha256", "page_index", "status"]).to_pylist()
    keys = [(p["source_sha256"], p["page_index"]) for p in pages]
    assert len(keys) == len(set(keys)) == 11 and {p["status"] for p in pages} == {"ok"}
    pairs = views.read_table(str(out), "pairs", ["pair_id"]).column("pair_id").to_pylist()
    assert len(pairs) == len(set(pairs)) > 0
    assert not list(out.rglob("*.tmp"))  # the killed actor also wrote: no part of its is left behind


class DiesOnceMidUnit(UnitWriting):
    """The write step, whose first run writes its parts and dies before telling anyone, as a worker killed
    mid-shard does; Ray runs the task again in a new worker, which writes them anew."""

    def __init__(self, *args, died: str) -> None:
        super().__init__(*args)
        self.died = died

    def __call__(self, batch):
        if not os.path.exists(self.died):
            open(self.died, "w").close()
            fs, root = fsspec.core.url_to_fs(self.dataset)
            write_batch(batch, lambda unit: ShardWriter(fs, root, unit, self.stamp))  # parts on disk, hidden
            os._exit(1)  # before anyone hears of them
        return super().__call__(batch)


def test_a_writer_killed_mid_unit_loses_and_repeats_no_page_and_leaves_no_part(tmp_path):
    from actors.cluster.lifecycle import ray_cluster
    from actors.cluster.stream import run_stream
    from actors.cluster.writing import start_index
    from actors.stages.ingest import IngestStage
    from actors.store.unit_stream import UnitStream
    from actors.store.writer import remove_parts
    from configs.model import RunConfig
    from flows.run.planning import plan
    from flows.synth.archive import born_digital_pdf
    from flows.synth.text import SAMPLE_TEXT

    (tmp_path / "in").mkdir()
    for n in range(3):
        pages = [f"{SAMPLE_TEXT['eng']} {n} {i}" for i in range(4)]
        (tmp_path / "in" / f"{n}.pdf").write_bytes(born_digital_pdf(pages))
    config = RunConfig(output={"pages_per_task": 2})
    (unit,) = plan([str(tmp_path / "in")], config).units
    out = str(tmp_path / "dataset")
    fs, root = fsspec.core.url_to_fs(out)
    with ray_cluster(None, num_cpus=1, object_store_mb=100):
        index = start_index(out, [], [], config.near_duplicates)
        stream = UnitStream(fs, root, {unit.unit_id: len(unit.tasks)}, on_commit=index.commit)
        ingest = IngestStage(config.ingest)
        ingest.num_cpus = 1
        write = DiesOnceMidUnit(out, STAMP, config.output, index, died=str(tmp_path / "died"))
        committed = [s for written in run_stream(unit.tasks, ingest, [], write=write) for s in stream.add(written)]
        stream.finish()
        index.stop()
    assert (tmp_path / "died").exists() and [s.unit_id for s in committed] == [unit.unit_id]
    left = list(Path(root).rglob(".part-*.tmp"))  # what the dead worker wrote, hidden from every reader
    assert left and remove_parts(fs, root, {unit.unit_id}) == len(left)  # as the run does after its stream
    pages = views.read_table(out, "pages", ["source_sha256", "page_index"]).to_pylist()
    assert sorted((p["source_sha256"], p["page_index"]) for p in pages) == sorted(
        {(p["source_sha256"], p["page_index"]) for p in pages}) and len(pages) == 12
    assert not list(Path(root).rglob("*.tmp"))
