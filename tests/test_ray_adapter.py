"""The Ray adapter's promise, checked without a cluster: a broken stage costs its rows, not the dataset."""

from __future__ import annotations

import pyarrow as pa

from actors.base import Row, Stage
from actors.ingest import page_id
from actors.ray_adapter import run_stage


class ExplodingStage(Stage):
    """A real stage with one thing broken: it raises on every batch."""

    name = "exploding"

    def process(self, rows: list[Row]) -> list[Row]:
        raise RuntimeError("the stage itself is broken")


def test_a_failing_stage_turns_its_batch_into_error_rows():
    task = {"url": b"/a.pdf", "source_uri": "/a.pdf", "source_sha256": "ab" * 32, "source_format": "pdf",
            "page_count": 3, "page_start": 0, "page_stop": 3}
    (row,) = run_stage(ExplodingStage(), pa.Table.from_pylist([task])).to_pylist()
    assert row["status"] == "error" and row["error_kind"] == "internal"
    assert row["error"] == "RuntimeError: the stage itself is broken"
    assert row["page_index"] == -1 and row["page_id"] == page_id("ab" * 32, -1)
