"""ShardWriter: streams one work unit's rows into its Parquet shards (pages and pairs) through fsspec.

Each shard is written under a hidden temporary name and renamed when complete, so readers never see a
partial shard; the unit's stats sidecar is written after both renames and is the unit's done marker.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from actors.records import PAGE_FIELDS, PAGE_SCHEMA, PAIR_FIELDS, PAIR_SCHEMA, SCHEMA_VERSION, pair_rows

log = logging.getLogger(__name__)


@dataclass
class UnitStats:
    """What one unit wrote; the run report is a fold over these."""

    unit_id: str
    shard: str
    rows: int = 0
    bytes: int = 0
    by_status: Counter = field(default_factory=Counter)
    by_script: Counter = field(default_factory=Counter)
    by_text_source: Counter = field(default_factory=Counter)
    by_error_kind: Counter = field(default_factory=Counter)
    files: dict[str, dict[str, int]] = field(default_factory=dict)  # source_uri -> {ok, error}
    pairs: int = 0
    pairs_by_kind: Counter = field(default_factory=Counter)
    pairs_shard: str | None = None
    ocr_seconds: float = 0.0
    wall_seconds: float = 0.0
    schema_version: int = SCHEMA_VERSION
    reused: bool = False  # True when this run found the unit already committed and did not redo it

    def add(self, table: pa.Table) -> None:
        cols = table.select(["status", "script", "text_source", "error_kind", "source_uri", "ocr_seconds"])
        for status, script, source, kind, uri, seconds in zip(*(c.to_pylist() for c in cols.columns),
                                                               strict=True):
            self.rows += 1
            self.by_status[status] += 1
            if status == "ok":
                self.by_script[script or "none"] += 1
                self.by_text_source[source] += 1
            else:
                self.by_error_kind[kind] += 1
            per_file = self.files.setdefault(uri, {"ok": 0, "error": 0})
            per_file[status] += 1
            self.ocr_seconds += seconds or 0.0

    def to_json(self) -> str:
        # not dataclasses.asdict: it rebuilds a Counter from (key, count) pairs, counting the pairs
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return json.dumps({k: dict(v) if isinstance(v, Counter) else v for k, v in data.items()},
                          indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> UnitStats:
        data = json.loads(text)
        for key in ("by_status", "by_script", "by_text_source", "by_error_kind", "pairs_by_kind"):
            data[key] = Counter(data.get(key, {}))
        return cls(**data)


class _Shard:
    """One Parquet file written under a temporary name, renamed into place on commit."""

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, folder: str, unit_id: str, schema: pa.Schema,
                 compression: str) -> None:
        self.fs = fs
        self.final = f"{root}/{folder}/part-{unit_id}.parquet"
        self.temp = f"{root}/{folder}/.part-{unit_id}.parquet.tmp"
        fs.makedirs(f"{root}/{folder}", exist_ok=True)
        self._file = fs.open(self.temp, "wb")
        self._writer = pq.ParquetWriter(self._file, schema, compression=compression)

    def write(self, table: pa.Table, row_group_rows: int) -> None:
        self._writer.write_table(table, row_group_size=row_group_rows)

    def commit(self) -> int:
        self._writer.close()
        self._file.close()
        self.fs.mv(self.temp, self.final)
        return self.fs.size(self.final)

    def abort(self) -> None:
        try:
            self._writer.close()
            self._file.close()
        finally:
            if self.fs.exists(self.temp):
                self.fs.rm(self.temp)


class ShardWriter:
    """`write(batch)` any number of times, then `close()` to commit; `abort()` removes the partial files.

    A batch is a `records.BATCH_SCHEMA` table: its page columns go to `pages/`, its pairs to `pairs/`.
    """

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, unit_id: str, stamp: dict[str, str], *,
                 row_group_rows: int = 64, compression: str = "zstd") -> None:
        """`stamp`: run_id, batch_id and config_hash, written into every row."""
        self.fs, self.root, self.stamp = fs, root.rstrip("/"), stamp
        self.row_group_rows = row_group_rows
        self._pages = _Shard(fs, self.root, "pages", unit_id, PAGE_SCHEMA, compression)
        self._pairs = _Shard(fs, self.root, "pairs", unit_id, PAIR_SCHEMA, compression)
        self.stats = UnitStats(unit_id=unit_id, shard=self._pages.final, pairs_shard=self._pairs.final)

    def write(self, batch: pa.Table) -> None:
        now = datetime.now(UTC)
        stamp = {**self.stamp, "created_at": now}
        pages = batch.select(list(PAGE_FIELDS))
        for name, value in stamp.items():
            column = pa.array([value] * pages.num_rows, PAGE_SCHEMA.field(name).type)
            pages = pages.set_column(pages.schema.get_field_index(name), name, column)
        pages = pages.cast(PAGE_SCHEMA)
        self._pages.write(pages, self.row_group_rows)
        self.stats.add(pages)
        if "pairs" in batch.column_names:
            rows = [{**row, **stamp} for row in pair_rows(batch)]
            if rows:
                pairs = pa.Table.from_pylist([{k: row.get(k) for k in PAIR_FIELDS} for row in rows],
                                             schema=PAIR_SCHEMA)
                self._pairs.write(pairs, self.row_group_rows)
                self.stats.pairs += pairs.num_rows
                self.stats.pairs_by_kind.update(pairs.column("kind").to_pylist())

    def close(self, wall_seconds: float = 0.0) -> UnitStats:
        self.stats.bytes = self._pages.commit() + self._pairs.commit()
        self.stats.wall_seconds = wall_seconds
        write_text(self.fs, unit_marker(self.root, self.stats.unit_id), self.stats.to_json())
        return self.stats

    def abort(self) -> None:
        try:
            self._pages.abort()
        finally:
            self._pairs.abort()


def unit_marker(root: str, unit_id: str) -> str:
    return f"{root.rstrip('/')}/_units/{unit_id}.json"


def read_done_unit(fs: fsspec.AbstractFileSystem, root: str, unit_id: str) -> UnitStats | None:
    """The stats of a unit already committed under `root` (its marker and its shard exist), else None."""
    marker = unit_marker(root, unit_id)
    if not fs.exists(marker):
        return None
    stats = UnitStats.from_json(fs.cat_file(marker).decode())
    stats.reused = True
    shards = [stats.shard, *([stats.pairs_shard] if stats.pairs_shard else [])]
    return stats if all(fs.exists(shard) for shard in shards) else None


def write_text(fs: fsspec.AbstractFileSystem, path: str, text: str) -> None:
    """Write a small file so that it appears whole: to a temporary name, then renamed."""
    parent = path.rsplit("/", 1)[0]
    fs.makedirs(parent, exist_ok=True)
    temp = f"{parent}/.{path.rsplit('/', 1)[1]}.{datetime.now(UTC).strftime('%H%M%S%f')}.tmp"
    with fs.open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
    fs.mv(temp, path)
