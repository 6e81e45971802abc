"""The Ray adapter's promise, checked without a cluster: a broken stage costs its rows, not the dataset."""

from __future__ import annotations

import pyarrow as pa

from actors.cluster.stream import run_stage
from actors.stages.base import Row, Stage
from actors.stages.ingest import page_id
from actors.store.writer import UnitStats


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


class PassingStage(Stage):
    name = "passing"

    def process(self, rows: list[Row]) -> list[Row]:
        return [{**row, "status": "ok"} for row in rows]


def test_each_stage_notes_the_node_it_ran_on_and_the_unit_counts_pages_per_stage_and_node():
    row = {"source_uri": "/a.pdf", "source_sha256": "ab" * 32, "page_index": 0, "page_id": "p0"}
    first = run_stage(PassingStage(), pa.Table.from_pylist([row]), node_id="node-a")
    broken = run_stage(ExplodingStage(), first, node_id="node-b")  # the error row keeps where it has been
    assert broken.column("ran_on").to_pylist() == [[{"stage": "passing", "node_id": "node-a"},
                                                    {"stage": "exploding", "node_id": "node-b"}]]
    stats = UnitStats("unit")
    stats.add_nodes(broken.column("ran_on").to_pylist() * 3)
    again = UnitStats.from_json(stats.to_json())
    assert again.pages_by_node == {"passing": {"node-a": 3}, "exploding": {"node-b": 3}}
