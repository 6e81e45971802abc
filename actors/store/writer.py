"""ShardWriter: streams one work unit's rows into its Parquet shards (pages and pairs) through fsspec.

Shards are Hive-partitioned (`pages/script=Deva/part-<unit>-00000.parquet`; the partition columns are in the
path, not in the file). Each is written as a part under a hidden temporary name, by whichever process wrote
its rows (in a run, the Ray worker that read them), and renamed when the unit commits (`commit_unit`, in a run
the driver, from file names alone), so readers never see a partial or empty shard; the unit's stats sidecar is
written after the renames and is the unit's done marker.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from actors.store.dataset_index import DEDUPLICATED_KINDS, DatasetIndex
from actors.store.dataset_layout import TABLES, part_glob, part_path, shard_path, unit_marker, unit_of_part
from actors.store.derived import derived_rows
from actors.store.near_duplicates import signature as text_signature
from actors.store.records import (
    PAGE_FIELDS,
    PAGE_PARTITIONING,
    PAGE_SCHEMA,
    PAIR_PARTITIONING,
    PAIR_SCHEMA,
    SCHEMA_VERSION,
    pair_rows,
)
from configs.model import OutputOptions
from ocr_models.lontar_errors import OutputError

log = logging.getLogger(__name__)


@dataclass
class UnitStats:
    """What one unit wrote; the run report and the dataset manifest are folds over these."""

    unit_id: str
    batch_id: str = ""
    shards: list[dict] = field(default_factory=list)  # {table, path (relative to the root), rows, bytes}
    rows: int = 0
    bytes: int = 0
    by_status: Counter = field(default_factory=Counter)
    by_script: Counter = field(default_factory=Counter)
    by_text_source: Counter = field(default_factory=Counter)
    by_error_kind: Counter = field(default_factory=Counter)
    # source_uri -> {ok, error: page counts; error_kind, reason: the file's first page error}
    files: dict[str, dict] = field(default_factory=dict)
    pages_by_node: dict[str, Counter] = field(default_factory=dict)  # stage -> Ray node id -> pages
    pairs: int = 0
    pairs_by_kind: Counter = field(default_factory=Counter)
    duplicate_images: int = 0  # figure and table pairs whose image an earlier pair holds
    near_duplicate_pages: int = 0  # pages whose text nearly repeats an earlier page's
    regions_by_engine: Counter = field(default_factory=Counter)  # text regions by the engine whose reading stands
    refused_by_guard: Counter = field(default_factory=Counter)  # routed models' readings refused, by guard
    ocr_seconds: float = 0.0
    wall_seconds: float = 0.0
    schema_version: int = SCHEMA_VERSION
    committed_at: str = ""  # ISO 8601, UTC, when its marker was written ("" for units of Lontar before it)
    reused: bool = False  # True when this run found the unit already committed and did not redo it

    def add(self, table: pa.Table) -> None:
        cols = table.select(["status", "script", "text_source", "error_kind", "error", "source_uri",
                             "ocr_seconds", "near_duplicate_of"])
        for status, script, source, kind, error, uri, seconds, near in zip(*(c.to_pylist() for c in cols.columns),
                                                                            strict=True):
            self.rows += 1
            self.near_duplicate_pages += near is not None
            self.by_status[status] += 1
            if status == "ok":
                self.by_script[script] += 1
                self.by_text_source[source] += 1
            else:
                self.by_error_kind[kind] += 1
            per_file = self.files.setdefault(uri, {"ok": 0, "error": 0})
            per_file[status] += 1
            if status == "error" and "error_kind" not in per_file:
                per_file.update(error_kind=kind, reason=error)
            self.ocr_seconds += seconds or 0.0
        if "regions" in table.column_names:
            regions = pc.list_flatten(table.column("regions"))
            for name, counter in (("engine", self.regions_by_engine), ("guard", self.refused_by_guard)):
                for item in pc.value_counts(pc.drop_null(pc.struct_field(regions, name))).to_pylist():
                    counter[item["values"]] += item["counts"]

    def merge(self, other: UnitStats) -> None:
        """Add the counts of another writer of the same unit (the stats of its parts)."""
        self.rows += other.rows
        self.pairs += other.pairs
        self.duplicate_images += other.duplicate_images
        self.near_duplicate_pages += other.near_duplicate_pages
        self.ocr_seconds += other.ocr_seconds
        for name in COUNTERS:
            getattr(self, name).update(getattr(other, name))
        for stage, nodes in other.pages_by_node.items():
            self.pages_by_node.setdefault(stage, Counter()).update(nodes)
        for uri, counts in other.files.items():
            mine = self.files.setdefault(uri, {"ok": 0, "error": 0})
            mine["ok"] += counts["ok"]
            mine["error"] += counts["error"]
            if "error_kind" in counts and "error_kind" not in mine:
                mine.update(error_kind=counts["error_kind"], reason=counts["reason"])

    def add_nodes(self, ran_on: list[list[dict] | None]) -> None:
        """Count pages per stage and Ray node from a batch's `ran_on` column."""
        for steps in ran_on:
            for step in steps or ():
                self.pages_by_node.setdefault(step["stage"], Counter())[step["node_id"]] += 1

    def to_json(self) -> str:
        # not dataclasses.asdict: it rebuilds a Counter from (key, count) pairs, counting the pairs
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return json.dumps({k: dict(v) if isinstance(v, Counter) else v for k, v in data.items()},
                          indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> UnitStats:
        data = json.loads(text)
        for key in COUNTERS:
            data[key] = Counter(data.get(key, {}))
        data["pages_by_node"] = {stage: Counter(nodes) for stage, nodes in data.get("pages_by_node", {}).items()}
        return cls(**data)


COUNTERS = tuple(f.name for f in fields(UnitStats) if f.default_factory is Counter)  # UnitStats' counts by key


class _Shard:
    """One Parquet file of a unit written under a hidden temporary name: a part, renamed into place when its
    unit commits (`commit_unit`), by whichever process commits it."""

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, table: str, partition: dict[str, str],
                 unit_id: str, schema: pa.Schema, compression: str) -> None:
        self.fs, self.table, self.partition, self.rows = fs, table, partition, 0
        self.temp = part_path(table, partition, unit_id, secrets.token_hex(6))
        fs.makedirs(f"{root}/{self.temp.rsplit('/', 1)[0]}", exist_ok=True)
        self._file = fs.open(f"{root}/{self.temp}", "wb")
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(self._file, schema, compression=compression)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table, row_group_size=table.num_rows)
        self.rows += table.num_rows

    @property
    def bytes_written(self) -> int:
        return self._file.tell()

    def finish(self) -> dict:
        """Close the file; its part: {table, partition, temp (relative to the root), rows}."""
        if self._writer is not None:
            self._writer.close()
            self._file.close()
            self._writer = None
        return {"table": self.table, "partition": self.partition, "temp": self.temp, "rows": self.rows}

    def abort(self, root: str) -> None:
        with contextlib.suppress(Exception):  # a full disk fails the footer too: the file goes regardless
            self.finish()
        if self.fs.exists(f"{root}/{self.temp}"):
            self.fs.rm(f"{root}/{self.temp}")


class _PartitionedTable:
    """One table's parts for one unit: Hive-partitioned (`pages/script=Deva/`), each partition's rows
    buffered into row groups of about `row_group_mb`, a new part begun when one reaches the shard limits.
    A file is opened only when a row goes to it: no empty shards."""

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, table: str, partitioning: tuple[str, ...],
                 schema: pa.Schema, unit_id: str, limits: OutputOptions) -> None:
        self.fs, self.root, self.table, self.partitioning = fs, root, table, partitioning
        # Partition columns live in the path only, as Hive, Spark and pyarrow's write_dataset have them: Spark
        # and pandas refuse a column that is in both the files and the path.
        self.schema = pa.schema([f for f in schema if f.name not in partitioning], metadata=schema.metadata)
        self.unit_id, self.limits = unit_id, limits
        self._open: dict[tuple, _Shard] = {}
        self._buffers: dict[tuple, list[pa.Table]] = {}
        self._done: list[_Shard] = []

    def write(self, rows: pa.Table) -> None:
        keys = list(zip(*(rows.column(name).to_pylist() for name in self.partitioning), strict=True))
        for key in dict.fromkeys(keys):
            mask = pa.array([k == key for k in keys])
            buffer = self._buffers.setdefault(key, [])
            buffer.append(rows.filter(mask).drop_columns(list(self.partitioning)))
            if (sum(t.nbytes for t in buffer) >= self.limits.row_group_mb << 20
                    or sum(t.num_rows for t in buffer) >= self.limits.row_group_rows):
                self._flush(key)

    def _flush(self, key: tuple) -> None:
        buffer = self._buffers.pop(key, [])
        if not buffer:
            return
        shard = self._open.get(key)
        if shard is None:
            shard = self._open[key] = _Shard(self.fs, self.root, self.table,
                                             dict(zip(self.partitioning, key, strict=True)), self.unit_id,
                                             self.schema, self.limits.compression)
        shard.write(pa.concat_tables(buffer))
        if shard.bytes_written >= self.limits.shard_max_mb << 20 or shard.rows >= self.limits.shard_max_rows:
            shard.finish()
            self._done.append(self._open.pop(key))

    def finish(self) -> list[dict]:
        """Write what is buffered and close every file; the parts, in the order they were begun."""
        for key in list(self._buffers):
            self._flush(key)
        shards, self._open, self._done = [*self._done, *self._open.values()], {}, []
        return [shard.finish() for shard in shards]

    def abort(self) -> None:
        shards, self._open, self._buffers, self._done = [*self._done, *self._open.values()], {}, {}, []
        for shard in shards:
            shard.abort(self.root)


class ShardWriter:
    """`write(batch)` any number of times, then `close()` to commit; `abort()` removes the partial files. Or,
    where another process commits (a Ray worker writes, the run's driver commits), `finish()`: the unit's parts
    and stats so far, for `commit_unit`.

    A batch is a `records.BATCH_SCHEMA` table: its page columns go to `pages/`, its pairs to `pairs/`. The
    writer fills in what it derives (actors/store/derived.py) and asks `index` (a DatasetIndex, or its Ray
    actor's proxy) which pages nearly repeat an earlier page and which figure and table images the dataset
    holds already (`duplicate_of` in place of the bytes).
    """

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, unit_id: str, stamp: dict[str, str], *,
                 limits: OutputOptions | None = None, index: DatasetIndex | None = None) -> None:
        """`stamp`: run_id, batch_id and config_hash, written into every row."""
        self.fs, self.root, self.stamp, self.unit_id = fs, root.rstrip("/"), stamp, unit_id
        limits = limits or OutputOptions()
        self._pages = _PartitionedTable(fs, self.root, "pages", PAGE_PARTITIONING, PAGE_SCHEMA, unit_id, limits)
        self._pairs = _PartitionedTable(fs, self.root, "pairs", PAIR_PARTITIONING, PAIR_SCHEMA, unit_id, limits)
        self._index = index if index is not None else DatasetIndex()
        self._near_options = self._index.options
        self.stats = UnitStats(unit_id=unit_id, batch_id=stamp["batch_id"])

    def write(self, batch: pa.Table) -> None:
        with _output_errors(self.root):
            self._write(batch)

    def _write(self, batch: pa.Table) -> None:
        stamp = {**self.stamp, "created_at": datetime.now(UTC)}
        pages = [{**row, **stamp} for row in derived_rows(batch.select(list(PAGE_FIELDS)).to_pylist())]
        pages_by_id = {page["page_id"]: page for page in pages}
        pairs = ([{**row, **stamp} for row in derived_rows(pair_rows(batch), pages_by_id)]
                 if "pairs" in batch.column_names else [])
        self._mark(pages, pairs)
        table = _table(pages, PAGE_SCHEMA)
        self._pages.write(table)
        self.stats.add(table)
        if "ran_on" in batch.column_names:
            self.stats.add_nodes(batch.column("ran_on").to_pylist())
        if pairs:
            self._pairs.write(_table(pairs, PAIR_SCHEMA))
            self.stats.pairs += len(pairs)
            self.stats.pairs_by_kind.update(pair["kind"] for pair in pairs)

    def _mark(self, pages: list[dict], pairs: list[dict]) -> None:
        """The near-duplicate columns of `pages` and `duplicate_of` of `pairs`, from the index."""
        signed = []
        for page in pages:
            signature = (text_signature(page.get("text"), self._near_options)
                         if self._near_options is not None and page.get("status") == "ok" else None)
            page["text_minhash"] = signature.tolist() if signature is not None else None
            signed.append((page["page_id"], signature))
        stored = [pair for pair in pairs if pair["kind"] in DEDUPLICATED_KINDS and pair["image_sha256"]]
        roots, firsts = self._index.mark(self.unit_id, signed, [(p["pair_id"], p["image_sha256"]) for p in stored])
        for page, root in zip(pages, roots, strict=True):
            page["near_duplicate_of"] = root
            page["near_duplicate_cluster"] = (root or page["page_id"]) if page["text_minhash"] is not None else None
        for pair, first in zip(stored, firsts, strict=True):
            if first is not None:
                pair["duplicate_of"], pair["image"] = first, None
                self.stats.duplicate_images += 1

    def finish(self) -> tuple[UnitStats, list[dict]]:
        """Close the unit's files under their temporary names: its stats so far and its parts."""
        with _output_errors(self.root):
            return self.stats, self._pages.finish() + self._pairs.finish()

    def close(self, wall_seconds: float = 0.0) -> UnitStats:
        stats, parts = self.finish()
        stats.wall_seconds = wall_seconds
        committed = commit_unit(self.fs, self.root, stats, parts)
        self._index.commit(self.unit_id)  # only now: an aborted unit's pages and images are in no shard
        return committed

    def abort(self) -> None:
        """Forget the unit: its files, and its pages and images in the index."""
        self._index.drop(self.unit_id)
        self.abort_files()

    def abort_files(self) -> None:
        try:
            self._pages.abort()
        finally:
            self._pairs.abort()


def commit_unit(fs: fsspec.AbstractFileSystem, root: str, stats: UnitStats, parts: list[dict]) -> UnitStats:
    """Rename a unit's parts (written by any number of writers) to their shard names, numbered per partition in
    the order given, then write the unit's marker, which makes the unit committed. Only file names and counts
    pass through here, never rows."""
    root = root.rstrip("/")
    with _output_errors(root):
        sequence: Counter = Counter()
        shards = []
        for part in parts:
            key = (part["table"], tuple(part["partition"].items()))
            path = shard_path(part["table"], part["partition"], stats.unit_id, sequence[key])
            sequence[key] += 1
            fs.mv(f"{root}/{part['temp']}", f"{root}/{path}")
            shards.append({"table": part["table"], "path": path, "rows": part["rows"],
                           "bytes": fs.size(f"{root}/{path}")})
        stats.shards = shards
        stats.bytes = sum(shard["bytes"] for shard in shards)
        stats.committed_at = datetime.now(UTC).isoformat()
        write_text(fs, unit_marker(root, stats.unit_id), stats.to_json())
    return stats


def remove_parts(fs: fsspec.AbstractFileSystem, root: str, unit_ids: set[str]) -> int:
    """Remove the uncommitted parts of these units: a stream that failed, or a write task Ray retried after its
    worker died mid-file, leaves them behind (hidden: no reader sees them). Returns how many were removed."""
    root = root.rstrip("/")
    removed = 0
    for table in TABLES:
        for path in fs.glob(f"{root}/{part_glob(table)}"):
            if unit_of_part(path) in unit_ids:
                fs.rm(path)
                removed += 1
    return removed


@contextlib.contextmanager
def _output_errors(root: str) -> Iterator[None]:
    """A full disk, a read-only or vanished output: one OutputError (exit 4), not a traceback."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write to {root}: {exc.strerror or exc}") from exc


def _table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    table = pa.Table.from_pylist([{name: row.get(name) for name in schema.names} for row in rows], schema=schema)
    for column, schema_field in zip(table.columns, schema, strict=True):
        if not schema_field.nullable and column.null_count:
            raise ValueError(f"column {schema_field.name} must not be null ({column.null_count} null rows)")
    return table


def read_done_unit(fs: fsspec.AbstractFileSystem, root: str, unit_id: str) -> UnitStats | None:
    """The stats of a unit already committed under `root` (its marker and all its shards exist), else None."""
    marker = unit_marker(root, unit_id)
    if not fs.exists(marker):
        return None
    stats = UnitStats.from_json(fs.cat_file(marker).decode())
    stats.reused = True
    root = root.rstrip("/")
    return stats if all(fs.exists(f"{root}/{shard['path']}") for shard in stats.shards) else None


def write_text(fs: fsspec.AbstractFileSystem, path: str, text: str | bytes) -> None:
    """Write a small file (text, or bytes as they are) so that it appears whole: to a temporary name, then
    renamed."""
    parent = path.rsplit("/", 1)[0]
    fs.makedirs(parent, exist_ok=True)
    temp = f"{parent}/.{path.rsplit('/', 1)[1]}.{datetime.now(UTC).strftime('%H%M%S%f')}.tmp"
    with fs.open(temp, "wb") as handle:
        handle.write(text.encode("utf-8") if isinstance(text, str) else text)
    fs.mv(temp, path)
