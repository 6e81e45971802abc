"""Shards appear whole or not at all; the stats sidecar, written last, marks the unit done."""

from __future__ import annotations

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from actors.records import PAGE_SCHEMA, batch_table
from actors.writer import ShardWriter, UnitStats, read_done_unit

STAMP = {"run_id": "r1", "batch_id": "b1", "config_hash": "c1"}


def rows(n: int, status: str = "ok") -> list[dict]:
    return [{"page_id": f"p{i}", "source_uri": "/a.pdf", "source_sha256": "s", "source_format": "pdf",
             "page_index": i, "page_count": n, "status": status, "script": "Deva", "text_source": "ocr",
             "error_kind": None if status == "ok" else "engine", "ocr_seconds": 0.5} for i in range(n)]


def test_a_committed_shard_has_every_row_stamped_and_a_done_marker(tmp_path):
    fs = fsspec.filesystem("file")
    writer = ShardWriter(fs, str(tmp_path), "u1", STAMP)
    writer.write(batch_table(rows(3)))
    writer.write(batch_table(rows(2, status="error")))
    assert not list((tmp_path / "pages").glob("*.parquet"))  # nothing visible before close
    stats = writer.close(wall_seconds=1.0)

    table = pq.read_table(tmp_path / "pages" / "part-u1.parquet")
    assert table.schema.equals(PAGE_SCHEMA, check_metadata=False) and table.num_rows == 5
    assert set(table.column("run_id").to_pylist()) == {"r1"}
    assert stats.by_status == {"ok": 3, "error": 2} and stats.files["/a.pdf"] == {"ok": 3, "error": 2}
    done = read_done_unit(fs, str(tmp_path), "u1")
    assert isinstance(done, UnitStats) and done.rows == 5 and done.by_script["Deva"] == 3


def test_an_aborted_shard_leaves_nothing_behind(tmp_path):
    fs = fsspec.filesystem("file")
    writer = ShardWriter(fs, str(tmp_path), "u2", STAMP)
    writer.write(batch_table(rows(2)))
    writer.abort()
    assert list((tmp_path / "pages").iterdir()) == []
    assert read_done_unit(fs, str(tmp_path), "u2") is None


def test_a_marker_without_its_shard_does_not_count_as_done(tmp_path):
    fs = fsspec.filesystem("file")
    writer = ShardWriter(fs, str(tmp_path), "u3", STAMP)
    writer.write(batch_table(rows(1)))
    writer.close()
    (tmp_path / "pages" / "part-u3.parquet").unlink()
    assert read_done_unit(fs, str(tmp_path), "u3") is None


def test_rows_must_match_the_schema(tmp_path):
    writer = ShardWriter(fsspec.filesystem("file"), str(tmp_path), "u4", STAMP)
    bad = batch_table(rows(1)).set_column(0, "page_id", pa.array([None], "string"))
    with pytest.raises(ValueError):
        writer.write(bad)
    writer.abort()


def test_pairs_go_to_their_own_shard_with_their_page_and_the_run_stamp(tmp_path):
    fs = fsspec.filesystem("file")
    page = rows(1)[0] | {"layout_model": "rapid", "pairs": [
        {"pair_id": "x1", "kind": "figure", "bbox": [1, 2, 30, 40], "image": b"png", "image_format": "png",
         "width": 29, "height": 38, "text": "Figure 1.", "printed_caption": "Figure 1.",
         "alignment": {"method": "caption_region+cue", "score": 0.9}},
        {"pair_id": "x2", "kind": "line", "bbox": [1, 50, 30, 60], "image": b"png", "image_format": "png",
         "width": 29, "height": 10, "text": "a line", "alignment": {"method": "ocr", "score": 0.95}}]}
    writer = ShardWriter(fs, str(tmp_path), "u3", STAMP)
    writer.write(batch_table([page, *rows(1, status="error")]))
    assert not list((tmp_path / "pairs").glob("*.parquet"))
    stats = writer.close()
    pairs = pq.read_table(tmp_path / "pairs" / "part-u3.parquet").to_pylist()
    assert [p["pair_id"] for p in pairs] == ["x1", "x2"]
    assert {(p["page_id"], p["source_uri"], p["layout_model"], p["run_id"]) for p in pairs} == {
        ("p0", "/a.pdf", "rapid", "r1")}
    assert stats.pairs == 2 and stats.pairs_by_kind == {"figure": 1, "line": 1}
    assert read_done_unit(fs, str(tmp_path), "u3").pairs_shard.endswith("pairs/part-u3.parquet")
    (tmp_path / "pairs" / "part-u3.parquet").unlink()
    assert read_done_unit(fs, str(tmp_path), "u3") is None  # a unit missing a shard is not done
