"""UnitStream: the rows of a whole run arrive in one stream, any unit's rows in any order; each unit's rows go
to that unit's ShardWriter, and a unit commits as soon as its last row has arrived.

A unit is complete when every one of its read tasks has delivered the rows ingest said it would (`work`
column, actors/store/records.py). Units stay the unit of commit and resume: a unit's done marker is written after
its shards, and a stream that stops early leaves every unfinished unit unwritten (its temporary files gone).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from actors.store.writer import ShardWriter, UnitStats
from ocr_models.lontar_errors import LontarError


class UnitStream:
    """`add(batch)` every batch of the run's stream; it yields the stats of each unit it commits. Call
    `finish()` after the last batch (a unit still missing rows is a bug: an internal error, never a partial
    unit) or `abort()` on an error."""

    def __init__(self, tasks_per_unit: dict[str, int], open_writer: Callable[[str], ShardWriter]) -> None:
        self._tasks = dict(tasks_per_unit)
        self._open_writer = open_writer
        self._writers: dict[str, ShardWriter] = {}
        self._started: dict[str, float] = {}
        self._rows: dict[str, dict[int, list[int]]] = {}  # unit -> task -> [rows arrived, rows expected]

    def add(self, batch: pa.Table) -> Iterator[UnitStats]:
        work = batch.column("work")
        units = work.combine_chunks().field("unit_id") if batch.num_rows else pa.array([], pa.string())
        for unit_id in pc.unique(units).to_pylist():
            if unit_id not in self._tasks:
                raise LontarError(f"a row of unit {unit_id!r}, which this run did not plan")
            rows = batch.filter(pc.equal(units, unit_id))
            writer = self._writers.get(unit_id)
            if writer is None:
                writer = self._writers[unit_id] = self._open_writer(unit_id)
                self._started[unit_id] = time.monotonic()
            writer.write(rows)
            counts = self._rows.setdefault(unit_id, {})
            for item in rows.column("work").to_pylist():
                arrived = counts.setdefault(item["task"], [0, item["task_rows"]])
                arrived[0] += 1
            if self._complete(unit_id):
                yield self._commit(unit_id)

    def _complete(self, unit_id: str) -> bool:
        counts = self._rows[unit_id]
        return len(counts) == self._tasks[unit_id] and all(got >= want for got, want in counts.values())

    def _commit(self, unit_id: str) -> UnitStats:
        writer = self._writers.pop(unit_id)
        del self._tasks[unit_id], self._rows[unit_id]
        return writer.close(wall_seconds=time.monotonic() - self._started.pop(unit_id))

    def finish(self) -> None:
        if self._tasks:
            self.abort()
            raise LontarError(f"the stream ended with {len(self._tasks)} unit(s) missing rows: "
                              f"{', '.join(sorted(self._tasks))}")

    def abort(self) -> None:
        """Remove the partial shards of every unit not yet committed."""
        writers, self._writers = list(self._writers.values()), {}
        for writer in writers:
            writer.abort()
