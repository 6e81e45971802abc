"""One stream per run, units still the unit of commit: rows are written where they are made, as parts; what
reaches the driver is file names and counts, of many units interleaved and out of order; each unit commits the
moment its last rows are written, never before, and a stream cut short writes no unit half."""

from __future__ import annotations

import errno

import fsspec
import pyarrow as pa
import pytest
from fsspec.implementations.local import LocalFileSystem

from actors.cluster.stream import run_stage
from actors.stages.base import Stage
from actors.stages.ingest import IngestStage
from actors.store.records import PAGE_FIELDS, PAIR_FIELDS, batch_table
from actors.store.unit_stream import WRITTEN_SCHEMA, UnitStream, write_batch
from actors.store.writer import ShardWriter, read_done_unit
from configs.model import RunConfig
from flows.run.planning import SourceFile, make_units
from ocr_models.lontar_errors import LontarError, OutputError
from tests.support.datasets import STAMP, shards


def page(unit: str, task: int, task_rows: int, index: int) -> dict:
    return {"page_id": f"{unit}-{task}-{index}", "source_uri": f"/{unit}.pdf", "source_sha256": unit,
            "source_format": "pdf", "page_index": index, "page_count": task_rows, "status": "ok",
            "script": "Latn", "text": "words", "text_source": "ocr",
            "work": {"unit_id": unit, "task": task, "task_rows": task_rows}}


@pytest.fixture
def stream(tmp_path):
    fs = fsspec.filesystem("file")
    committed: list[str] = []
    units = UnitStream(fs, str(tmp_path), {"u1": 2, "u2": 1}, on_commit=committed.append)
    return units, fs, committed


def written(tmp_path, rows: list[dict]):
    """What the worker that made `rows` sends the driver, having written them."""
    fs = fsspec.filesystem("file")
    return write_batch(batch_table(rows), lambda unit: ShardWriter(fs, str(tmp_path), unit, STAMP))


def test_a_unit_commits_when_its_last_row_arrives_whatever_the_order(stream, tmp_path):
    units, fs, told = stream
    arrivals = [[page("u1", 1, 2, 9)], [page("u2", 0, 1, 0), page("u1", 0, 1, 0)], [page("u1", 1, 2, 8)]]
    committed = [[s.unit_id for s in units.add(written(tmp_path, rows))] for rows in arrivals]
    assert committed == [[], ["u2"], ["u1"]] == [[], told[:1], told[1:]]  # u1 waits for its tasks' every row
    units.finish()
    assert read_done_unit(fs, str(tmp_path), "u1").rows == 3 and read_done_unit(fs, str(tmp_path), "u2").rows == 1
    assert read_done_unit(fs, str(tmp_path), "u1").by_status == {"ok": 3}  # the stats of its three parts, added
    # one part a batch that held the unit's rows, numbered when the unit commits
    assert shards(tmp_path) == ["pages/script=Latn/part-u1-00000.parquet", "pages/script=Latn/part-u1-00001.parquet",
                                "pages/script=Latn/part-u1-00002.parquet", "pages/script=Latn/part-u2-00000.parquet"]


def test_the_driver_gets_file_names_and_counts_never_a_row(tmp_path):
    assert not set(WRITTEN_SCHEMA.names) & {*PAGE_FIELDS, *PAIR_FIELDS}
    rows = [page("u1", 0, 4, i) | {"image": bytes(200_000), "text": "words " * 2000} for i in range(4)]
    out = written(tmp_path, rows)
    assert out.schema == WRITTEN_SCHEMA and out.num_rows == 1 and out.nbytes < 10_000  # the rows hold 850 kB


def test_a_stream_that_ends_early_writes_no_unit_half(stream, tmp_path):
    units, fs, _ = stream
    assert [s.unit_id for s in units.add(written(tmp_path, [page("u2", 0, 1, 0), page("u1", 1, 2, 9)]))] == ["u2"]
    written(tmp_path, [page("u1", 0, 1, 0)])  # written by a worker that died before the driver heard of it
    with pytest.raises(LontarError, match="u1"):
        units.finish()
    assert read_done_unit(fs, str(tmp_path), "u1") is None and shards(tmp_path) == [
        "pages/script=Latn/part-u2-00000.parquet"]
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and "u1" in p.name]  # its parts are gone, both


def test_a_row_of_a_unit_the_run_did_not_plan_is_refused(stream, tmp_path):
    units, _, _ = stream
    with pytest.raises(LontarError, match="did not plan"):
        list(units.add(written(tmp_path, [page("u9", 0, 1, 0)])))


def test_ingest_tells_how_many_rows_each_read_task_gave(sample_archive):
    config = RunConfig.model_validate({"output": {"pages_per_task": 1}})
    pdf = sample_archive / "hindi-bengali-scan.pdf"
    file = SourceFile(str(pdf), str(pdf), "ab" * 32, "pdf", pdf.stat().st_size, 2)
    (unit,) = make_units([file, SourceFile("/gone.pdf", "/gone.pdf", "cd" * 32, "pdf", 0, -1, "bad_input",
                                           "cannot open")], config)
    assert [t["work"] for t in unit.tasks] == [{"unit_id": unit.unit_id, "task": i, "task_rows": None}
                                               for i in range(3)]
    rows = IngestStage(config.ingest).process(unit.tasks)
    assert [(r["page_index"], r["work"]["task"], r["work"]["task_rows"]) for r in rows] == [
        (0, 0, 1), (1, 1, 1), (-1, 2, 1)]  # a file that cannot be read gives its task one error row


class Untouchable(Stage):
    name = "untouchable"

    def wants(self, batch: pa.Table) -> bool:
        return False

    def process(self, rows):
        raise AssertionError("a batch the stage does not want is never converted or processed")


def test_a_batch_a_stage_does_not_want_passes_through_and_still_notes_the_node():
    batch = batch_table([page("u1", 0, 1, 0)])
    out = run_stage(Untouchable(), batch, node_id="node-a")
    assert out.drop_columns(["ran_on"]).equals(batch.drop_columns(["ran_on"]))
    assert out.column("ran_on").to_pylist() == [[{"stage": "untouchable", "node_id": "node-a"}]]


def test_text_layer_units_get_a_stream_of_their_own_when_they_are_enough_to_pay_for_it():
    from flows.run.digitize import TEXT_STREAM_MIN_PAGES, streams
    from flows.run.planning import Unit

    def unit(name: str, pages: int, text_only: bool) -> Unit:
        return Unit(name, [], pages, text_only)

    text, few, scans = unit("t", TEXT_STREAM_MIN_PAGES, True), unit("f", 2, True), unit("s", 5, False)
    assert streams([text, scans]) == [(True, [text]), (False, [scans])]  # no model actor for the text pages
    assert streams([few, scans]) == [(False, [few, scans])]  # they pass the model stages with the scans
    assert streams([few]) == [(True, [few])] and streams([scans]) == [(False, [scans])]


class NoSpace(LocalFileSystem):
    def _open(self, path, mode="rb", **kwargs):
        if "w" in mode:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super()._open(path, mode, **kwargs)


def test_a_worker_that_cannot_write_tells_the_driver_which_fails_the_run_with_an_output_error(stream, tmp_path):
    units, _, _ = stream
    out = write_batch(batch_table([page("u2", 0, 1, 0)]),
                      lambda unit: ShardWriter(NoSpace(), str(tmp_path), unit, STAMP))
    assert out.column("output_error").to_pylist() == [f"cannot write to {tmp_path}: No space left on device"]
    with pytest.raises(OutputError, match="No space left"):
        list(units.add(out))
