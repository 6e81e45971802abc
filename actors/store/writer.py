"""ShardWriter: streams one work unit's rows into its Parquet shards (pages and pairs) through fsspec.

Shards are Hive-partitioned (`pages/script=Deva/part-<unit>-00000.parquet`; the partition columns are in the
path, not in the file). Each is written under a hidden
temporary name and renamed when the unit commits, so readers never see a partial or empty shard; the unit's
stats sidecar is written after the renames and is the unit's done marker.
"""

from __future__ import annotations

import contextlib
import hashlib
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

from actors.store import quality
from actors.store.dataset_layout import shard_path, unit_marker
from actors.store.language import LANGUAGE_FIELDS, language_fields
from actors.store.near_duplicates import NearDuplicates
from actors.store.records import (
    PAGE_FIELDS,
    PAGE_PARTITIONING,
    PAGE_SCHEMA,
    PAIR_PARTITIONING,
    PAIR_SCHEMA,
    SCHEMA_VERSION,
    UNKNOWN_SCRIPT,
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
        for key in ("by_status", "by_script", "by_text_source", "by_error_kind", "pairs_by_kind", "regions_by_engine",
                    "refused_by_guard"):
            data[key] = Counter(data.get(key, {}))
        data["pages_by_node"] = {stage: Counter(nodes) for stage, nodes in data.get("pages_by_node", {}).items()}
        return cls(**data)


class _Shard:
    """One Parquet file written under a hidden temporary name; renamed into place by `commit`."""

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, path: str, schema: pa.Schema,
                 compression: str) -> None:
        self.fs, self.path, self.rows = fs, path, 0
        self.final = f"{root}/{path}"
        folder, name = self.final.rsplit("/", 1)
        self.temp = f"{folder}/.{name}.{secrets.token_hex(4)}.tmp"  # two writers of one unit never share it
        fs.makedirs(folder, exist_ok=True)
        self._file = fs.open(self.temp, "wb")
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(self._file, schema, compression=compression)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table, row_group_size=table.num_rows)
        self.rows += table.num_rows

    @property
    def bytes_written(self) -> int:
        return self._file.tell()

    def finish(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._file.close()
            self._writer = None

    def commit(self) -> dict:
        self.finish()
        self.fs.mv(self.temp, self.final)
        return {"path": self.path, "rows": self.rows, "bytes": self.fs.size(self.final)}

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # a full disk fails the footer too: the file goes regardless
            self.finish()
        if self.fs.exists(self.temp):
            self.fs.rm(self.temp)


class _PartitionedTable:
    """One table's shards for one unit: Hive-partitioned (`pages/script=Deva/`), each partition's rows
    buffered into row groups of about `row_group_mb`, a new shard begun when one reaches its limits.
    A shard file is opened only when a row goes to it: no empty shards."""

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, table: str, partitioning: tuple[str, ...],
                 schema: pa.Schema, unit_id: str, limits: OutputOptions) -> None:
        self.fs, self.root, self.table, self.partitioning = fs, root, table, partitioning
        # Partition columns live in the path only, as Hive, Spark and pyarrow's write_dataset have them: Spark
        # and pandas refuse a column that is in both the files and the path.
        self.schema = pa.schema([f for f in schema if f.name not in partitioning], metadata=schema.metadata)
        self.unit_id, self.limits = unit_id, limits
        self._open: dict[tuple, _Shard] = {}
        self._buffers: dict[tuple, list[pa.Table]] = {}
        self._sequence: dict[tuple, int] = {}
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
            sequence = self._sequence.get(key, 0)
            self._sequence[key] = sequence + 1
            path = shard_path(self.table, dict(zip(self.partitioning, key, strict=True)), self.unit_id, sequence)
            shard = self._open[key] = _Shard(self.fs, self.root, path, self.schema, self.limits.compression)
        shard.write(pa.concat_tables(buffer))
        if shard.bytes_written >= self.limits.shard_max_mb << 20 or shard.rows >= self.limits.shard_max_rows:
            shard.finish()
            self._done.append(self._open.pop(key))

    def commit(self) -> list[dict]:
        for key in list(self._buffers):
            self._flush(key)
        shards, self._open = [*self._done, *self._open.values()], {}
        return [{"table": self.table, **shard.commit()} for shard in shards]

    def abort(self) -> None:
        shards, self._open, self._buffers = [*self._done, *self._open.values()], {}, {}
        for shard in shards:
            shard.abort()


class ShardWriter:
    """`write(batch)` any number of times, then `close()` to commit; `abort()` removes the partial files.

    A batch is a `records.BATCH_SCHEMA` table: its page columns go to `pages/`, its pairs to `pairs/`. The
    writer fills in what it derives (quality signals, image hashes, `script` for rows that have none) and,
    for figure and table pairs whose image an earlier pair holds, `duplicate_of` in place of the bytes.
    """

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, unit_id: str, stamp: dict[str, str], *,
                 limits: OutputOptions | None = None, images: dict[str, str] | None = None,
                 near_duplicates: NearDuplicates | None = None) -> None:
        """`stamp`: run_id, batch_id and config_hash, written into every row. `images`: image_sha256 -> pair_id
        of the figure and table images already in the dataset; this unit's are added when it commits."""
        self.fs, self.root, self.stamp = fs, root.rstrip("/"), stamp
        limits = limits or OutputOptions()
        self._pages = _PartitionedTable(fs, self.root, "pages", PAGE_PARTITIONING, PAGE_SCHEMA, unit_id, limits)
        self._pairs = _PartitionedTable(fs, self.root, "pairs", PAIR_PARTITIONING, PAIR_SCHEMA, unit_id, limits)
        self._known_images = images if images is not None else {}
        # the run's index of the dataset's page texts, and this unit's pages, which join it when the unit commits
        self._near = near_duplicates
        self._near_pending = near_duplicates.sibling() if near_duplicates is not None else None
        self._new_images: dict[str, str] = {}
        self.stats = UnitStats(unit_id=unit_id, batch_id=stamp["batch_id"])

    def write(self, batch: pa.Table) -> None:
        with _output_errors(self.root):
            self._write(batch)

    def _write(self, batch: pa.Table) -> None:
        stamp = {**self.stamp, "created_at": datetime.now(UTC)}
        pages = [{**row, **stamp} for row in _with_derived(batch.select(list(PAGE_FIELDS)).to_pylist())]
        pages_by_id = {page["page_id"]: page for page in pages}
        if self._near is not None:
            for page in pages:
                self._near.mark(page, self._near_pending)
        table = _table(pages, PAGE_SCHEMA)
        self._pages.write(table)
        self.stats.add(table)
        if "ran_on" in batch.column_names:
            self.stats.add_nodes(batch.column("ran_on").to_pylist())
        if "pairs" in batch.column_names:
            pairs = [{**row, **stamp} for row in _with_derived(pair_rows(batch), pages_by_id)]
            for pair in pairs:
                self._mark_duplicate(pair)
            if pairs:
                self._pairs.write(_table(pairs, PAIR_SCHEMA))
                self.stats.pairs += len(pairs)
                self.stats.pairs_by_kind.update(pair["kind"] for pair in pairs)

    def _mark_duplicate(self, pair: dict) -> None:
        if pair["kind"] not in DEDUPLICATED_KINDS:
            return
        digest = pair["image_sha256"]
        first = self._known_images.get(digest) or self._new_images.get(digest)
        if first is None:
            self._new_images[digest] = pair["pair_id"]
        elif first != pair["pair_id"]:
            pair["duplicate_of"], pair["image"] = first, None
            self.stats.duplicate_images += 1

    def close(self, wall_seconds: float = 0.0) -> UnitStats:
        with _output_errors(self.root):
            self.stats.shards = self._pages.commit() + self._pairs.commit()
            self.stats.bytes = sum(shard["bytes"] for shard in self.stats.shards)
            self.stats.wall_seconds = wall_seconds
            self.stats.committed_at = datetime.now(UTC).isoformat()
            write_text(self.fs, unit_marker(self.root, self.stats.unit_id), self.stats.to_json())
        self._known_images.update(self._new_images)  # only now: an aborted unit's images are in no shard
        if self._near is not None:  # likewise its pages' texts
            self._near.merge(self._near_pending)
        return self.stats

    def abort(self) -> None:
        try:
            self._pages.abort()
        finally:
            self._pairs.abort()


@contextlib.contextmanager
def _output_errors(root: str) -> Iterator[None]:
    """A full disk, a read-only or vanished output: one OutputError (exit 4), not a traceback."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write to {root}: {exc.strerror or exc}") from exc


DEDUPLICATED_KINDS = ("figure", "table")  # a line's crop is its own: the same bytes twice are a coincidence


def _with_derived(rows: list[dict], pages: dict[str, dict] | None = None) -> list[dict]:
    """The columns the writer derives, for page rows, or for pair rows given their `pages` (by page_id): a pair
    in its page's script takes the page's language (a line or a caption is too short to tell Hindi from
    Marathi; its page is not), one in another script (an English caption on a Thai page) is identified alone."""
    for row in rows:
        row["script"] = row.get("script") or UNKNOWN_SCRIPT
        image = row.get("image")
        row["image_sha256"] = hashlib.sha256(image).hexdigest() if image is not None else None
        row.update(quality.signals(row.get("text"), row["script"]))
        page = (pages or {}).get(row.get("page_id", ""))
        if page is not None and page["script"] == row["script"]:
            row.update({column: page[column] for column in LANGUAGE_FIELDS})
        else:
            row.update(language_fields(row.get("text"), row["script"]))
        for region in row.get("regions") or ():
            if region.get("text"):
                region.update(language_fields(region["text"], region.get("script")))
    return rows


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
