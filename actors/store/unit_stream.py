"""Units written where their rows are made, committed where the run is driven.

`write_batch` runs on the Ray worker that made a batch (the last stage's): it writes the batch's rows, unit by
unit, as hidden parts (actors/store/writer.py) and returns one small WRITTEN row a unit: which read tasks' rows
it wrote, the parts' file names and the rows' counts, never a row itself. `UnitStream`, in the run's driver,
takes those rows, any unit's in any order, and commits a unit (renames its parts, writes its marker) as soon as
every one of its read tasks has delivered the rows ingest said it would (`work` column, records.py). A stream that
stops early leaves every unfinished unit unwritten (its parts removed).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator

import fsspec
import pyarrow as pa
import pyarrow.compute as pc

from actors.store.records import unread
from actors.store.writer import ShardWriter, UnitStats, commit_unit, remove_parts
from ocr_models.lontar_errors import LontarError, OutputError

TASKS_TYPE = pa.list_(pa.struct([("task", pa.int32()), ("rows", pa.int32()), ("task_rows", pa.int32())]))
WRITTEN_SCHEMA = pa.schema([
    pa.field("unit_id", pa.string()),
    pa.field("tasks", TASKS_TYPE),  # rows written of each read task, and how many that task gave in all
    pa.field("parts", pa.string()),  # JSON: the parts written ({table, partition, temp, rows})
    pa.field("stats", pa.string()),  # JSON: the UnitStats of these rows
    pa.field("ok", pa.int32()),  # rows written whose status is ok
    pa.field("errors", pa.int32()),  # and error
    pa.field("needs_ocr", pa.int32()),  # rows that still need reading from their image
    # why the rows could not be written (a full disk, an unwritable output): the driver raises it as an
    # OutputError (exit code 4); Ray's wrapping of a worker's exception keeps its text only, not its type
    pa.field("output_error", pa.string()),
])


def write_batch(batch: pa.Table, open_writer: Callable[[str], ShardWriter]) -> pa.Table:
    """Write a batch's rows as parts of their units' shards; one WRITTEN_SCHEMA row a unit."""
    out = []
    units = batch.column("work").combine_chunks().field("unit_id") if batch.num_rows else pa.array([], pa.string())
    for unit_id in pc.unique(units).to_pylist():
        rows = batch.filter(pc.equal(units, unit_id))
        writer = open_writer(unit_id)
        try:
            writer.write(rows)
            stats, parts = writer.finish()
        except OutputError as exc:
            writer.abort_files()
            out.append({"unit_id": unit_id, "tasks": [], "parts": "[]", "stats": UnitStats(unit_id).to_json(),
                        "ok": 0, "errors": 0, "needs_ocr": 0, "output_error": str(exc)})
            continue
        except BaseException:
            writer.abort_files()
            raise
        tasks = Counter((item["task"], item["task_rows"]) for item in rows.column("work").to_pylist())
        out.append({"unit_id": unit_id, "parts": json.dumps(parts), "stats": stats.to_json(),
                    "tasks": [{"task": task, "rows": count, "task_rows": task_rows}
                              for (task, task_rows), count in tasks.items()],
                    "ok": stats.by_status["ok"], "errors": stats.by_status["error"],
                    "needs_ocr": pc.sum(pc.cast(unread(rows), pa.int32())).as_py() or 0})
    return pa.Table.from_pylist(out, schema=WRITTEN_SCHEMA)


class UnitStream:
    """`add(written)` every WRITTEN_SCHEMA table of the run's stream; it yields the stats of each unit it
    commits. Call `finish()` after the last (a unit still missing rows is a bug: an internal error, never a
    partial unit) or `abort()` on an error. `on_commit(unit_id)` is told of each unit committed, `on_abort` of
    each one given up (the dataset index)."""

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, tasks_per_unit: dict[str, int], *,
                 on_commit: Callable[[str], None] = lambda unit_id: None,
                 on_abort: Callable[[str], None] = lambda unit_id: None) -> None:
        self.fs, self.root = fs, root
        self._tasks = dict(tasks_per_unit)
        self._on_commit, self._on_abort = on_commit, on_abort
        self._stats: dict[str, UnitStats] = {}
        self._parts: dict[str, list[dict]] = {}
        self._started: dict[str, float] = {}
        self._rows: dict[str, dict[int, list[int]]] = {}  # unit -> task -> [rows arrived, rows expected]

    def add(self, written: pa.Table) -> Iterator[UnitStats]:
        for item in written.to_pylist():
            unit_id = item["unit_id"]
            if unit_id not in self._tasks:
                raise LontarError(f"a row of unit {unit_id!r}, which this run did not plan")
            if item["output_error"]:
                raise OutputError(item["output_error"])
            stats = UnitStats.from_json(item["stats"])
            if unit_id in self._stats:
                self._stats[unit_id].merge(stats)
            else:
                self._stats[unit_id], self._started[unit_id] = stats, time.monotonic()
            self._parts.setdefault(unit_id, []).extend(json.loads(item["parts"]))
            counts = self._rows.setdefault(unit_id, {})
            for task in item["tasks"]:
                arrived = counts.setdefault(task["task"], [0, task["task_rows"]])
                arrived[0] += task["rows"]
            if self._complete(unit_id):
                yield self._commit(unit_id)

    def _complete(self, unit_id: str) -> bool:
        counts = self._rows[unit_id]
        return len(counts) == self._tasks[unit_id] and all(got >= want for got, want in counts.values())

    def _commit(self, unit_id: str) -> UnitStats:
        stats, parts = self._stats.pop(unit_id), self._parts.pop(unit_id)
        stats.wall_seconds = time.monotonic() - self._started.pop(unit_id)
        commit_unit(self.fs, self.root, stats, parts)
        del self._tasks[unit_id], self._rows[unit_id]
        self._on_commit(unit_id)
        return stats

    def finish(self) -> None:
        if self._tasks:
            missing = sorted(self._tasks)
            self.abort()
            raise LontarError(f"the stream ended with {len(missing)} unit(s) missing rows: {', '.join(missing)}")

    def abort(self) -> None:
        """Remove the parts of every unit not yet committed, those written and those a dead worker left."""
        units = set(self._tasks)
        self._stats, self._parts, self._rows = {}, {}, {}
        remove_parts(self.fs, self.root, units)
        for unit_id in units:
            self._on_abort(unit_id)
