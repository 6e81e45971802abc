"""Shards appear whole or not at all, one per partition and no empty ones; the stats sidecar, written last,
marks the unit done; the writer derives quality signals and image hashes and stores a repeated figure once."""

from __future__ import annotations

import hashlib

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from actors.store.dataset_index import DatasetIndex
from actors.store.records import PAGE_SCHEMA, batch_table
from actors.store.writer import ShardWriter, UnitStats, read_done_unit
from configs.model import OutputOptions
from tests.support.datasets import STAMP, rows, shards


def test_a_committed_shard_has_every_row_stamped_and_a_done_marker(tmp_path):
    fs = fsspec.filesystem("file")
    writer = ShardWriter(fs, str(tmp_path), "u1", STAMP)
    writer.write(batch_table(rows(3)))
    writer.write(batch_table(rows(2, status="error")))
    assert shards(tmp_path) == []  # nothing visible before close
    stats = writer.close(wall_seconds=1.0)

    assert shards(tmp_path) == ["pages/script=Deva/part-u1-00000.parquet", "pages/script=Zzzz/part-u1-00000.parquet"]
    ok = pq.read_table(tmp_path / "pages" / "script=Deva" / "part-u1-00000.parquet")
    assert ok.schema.names == [n for n in PAGE_SCHEMA.names if n != "script"] and ok.num_rows == 3
    assert set(ok.column("run_id").to_pylist()) == {"r1"}
    assert ok.column("text_chars").to_pylist() == [12] * 3 and ok.column("script_purity").to_pylist() == [1.0] * 3
    errors = pq.read_table(tmp_path / "pages" / "script=Zzzz" / "part-u1-00000.parquet")
    assert errors.column("status").to_pylist() == ["error"] * 2 and errors.column("text_chars").to_pylist() == [0] * 2
    assert stats.by_status == {"ok": 3, "error": 2}
    assert stats.files["/a.pdf"] == {"ok": 3, "error": 2, "error_kind": "engine", "reason": "bad 0"}  # the first
    done = read_done_unit(fs, str(tmp_path), "u1")
    assert isinstance(done, UnitStats) and done.rows == 5 and done.by_script["Deva"] == 3
    assert sorted(s["path"] for s in done.shards) == shards(tmp_path) and sum(s["rows"] for s in done.shards) == 5


def test_a_partition_past_its_limit_is_continued_in_a_new_shard(tmp_path):
    fs = fsspec.filesystem("file")
    writer = ShardWriter(fs, str(tmp_path), "u5", STAMP, limits=OutputOptions(shard_max_rows=4, row_group_rows=2))
    for _ in range(5):
        writer.write(batch_table(rows(2)))
    stats = writer.close()
    assert shards(tmp_path) == [f"pages/script=Deva/part-u5-0000{i}.parquet" for i in range(3)]
    assert [s["rows"] for s in stats.shards] == [4, 4, 2]
    assert pq.ParquetFile(tmp_path / stats.shards[0]["path"]).metadata.num_row_groups == 2


def test_an_aborted_shard_leaves_nothing_behind(tmp_path):
    fs = fsspec.filesystem("file")
    writer = ShardWriter(fs, str(tmp_path), "u2", STAMP)
    writer.write(batch_table(rows(2)))
    writer.abort()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert read_done_unit(fs, str(tmp_path), "u2") is None


def test_a_marker_without_its_shard_does_not_count_as_done(tmp_path):
    fs = fsspec.filesystem("file")
    writer = ShardWriter(fs, str(tmp_path), "u3", STAMP)
    writer.write(batch_table(rows(1)))
    writer.close()
    (tmp_path / "pages" / "script=Deva" / "part-u3-00000.parquet").unlink()
    assert read_done_unit(fs, str(tmp_path), "u3") is None


def test_rows_must_match_the_schema(tmp_path):
    writer = ShardWriter(fsspec.filesystem("file"), str(tmp_path), "u4", STAMP)
    bad = batch_table(rows(1)).set_column(0, "page_id", pa.array([None], "string"))
    with pytest.raises(ValueError):
        writer.write(bad)
    writer.abort()


def figure(pair_id: str, image: bytes = b"png") -> dict:
    return {"pair_id": pair_id, "kind": "figure", "bbox": [1, 2, 30, 40], "image": image, "image_format": "png",
            "width": 29, "height": 38, "text": "Figure 1.", "printed_caption": "Figure 1.", "script": "Latn",
            "alignment": {"method": "caption_region+cue", "score": 0.9}}


def test_pairs_go_to_their_own_shards_by_kind_and_script_with_their_page_and_the_run_stamp(tmp_path):
    fs = fsspec.filesystem("file")
    page = rows(1)[0] | {"layout_model": "rapid", "pairs": [
        figure("x1"),
        {"pair_id": "x2", "kind": "line", "bbox": [1, 50, 30, 60], "image": b"png", "image_format": "png",
         "width": 29, "height": 10, "text": "a line", "alignment": {"method": "ocr", "score": 0.95}}]}
    writer = ShardWriter(fs, str(tmp_path), "u3", STAMP)
    writer.write(batch_table([page, *rows(1, status="error")]))
    assert shards(tmp_path, "pairs") == []
    stats = writer.close()
    assert shards(tmp_path, "pairs") == ["pairs/kind=figure/script=Latn/part-u3-00000.parquet",
                                         "pairs/kind=line/script=Zzzz/part-u3-00000.parquet"]
    pairs = pq.read_table(tmp_path / "pairs").to_pylist()  # the partition columns come from the path
    assert [p["pair_id"] for p in pairs] == ["x1", "x2"]
    assert {(p["page_id"], p["source_uri"], p["layout_model"], p["run_id"]) for p in pairs} == {
        ("p0", "/a.pdf", "rapid", "r1")}
    assert [(p["kind"], p["script"]) for p in pairs] == [("figure", "Latn"), ("line", "Zzzz")]
    assert pairs[0]["image_sha256"] == hashlib.sha256(b"png").hexdigest() and pairs[0]["duplicate_of"] is None
    assert stats.pairs == 2 and stats.pairs_by_kind == {"figure": 1, "line": 1}
    (tmp_path / shards(tmp_path, "pairs")[0]).unlink()
    assert read_done_unit(fs, str(tmp_path), "u3") is None  # a unit missing a shard is not done


def test_a_figure_image_the_dataset_holds_already_is_stored_once_and_marked(tmp_path):
    fs = fsspec.filesystem("file")
    index = DatasetIndex(images={hashlib.sha256(b"logo").hexdigest(): "first"})
    page = rows(1)[0] | {"pairs": [figure("a", b"logo"), figure("b", b"stamp"), figure("c", b"stamp")]}
    writer = ShardWriter(fs, str(tmp_path), "u6", STAMP, index=index)
    writer.write(batch_table([page]))
    assert len(index.images) == 1  # the unit's own images join the index only when it commits
    stats = writer.close()
    pairs = pq.read_table(tmp_path / "pairs").to_pylist()
    assert [(p["pair_id"], p["duplicate_of"], p["image"]) for p in pairs] == [
        ("a", "first", None), ("b", None, b"stamp"), ("c", "b", None)]
    assert stats.duplicate_images == 2 and index.images[hashlib.sha256(b"stamp").hexdigest()] == "b"


def test_an_aborted_unit_adds_no_image_to_the_index(tmp_path):
    index = DatasetIndex()
    writer = ShardWriter(fsspec.filesystem("file"), str(tmp_path), "u7", STAMP, index=index)
    writer.write(batch_table([rows(1)[0] | {"pairs": [figure("a", b"logo")]}]))
    writer.abort()
    index.commit("u7")
    assert index.images == {}
