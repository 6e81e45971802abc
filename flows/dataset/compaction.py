"""`lontar compact`: merge a partition's small shards (a 256-page unit of born-digital pages is a shard of a few MB)
into shards near `output.shard_max_mb`, with every row and id unchanged.

One group of small shards (one table, one partition, one schema version) is merged at a time, in four steps that a
kill at any point leaves safe:

1. the merged shard is written under a hidden name and renamed into place (`part-compact-<group>-00000.parquet`):
   no marker names it yet, so Lontar's readers do not see it;
2. its journal, `_compactions/<group>.json`, is written: the commit point. From here every reader maps the old
   shards to the merged one (flows/dataset/snapshot.py), and a resumed run finds its units still done;
3. the markers of the units whose rows it holds are rewritten to name it;
4. the old shards are deleted.

A compaction that was killed is finished by the next one: journals whose old shards remain are carried through
steps 3 and 4, and merged shards no journal names (killed before step 2) are deleted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from actors.store import dataset_layout as layout
from actors.store.writer import UnitStats, write_text
from configs.model import OutputOptions
from flows.dataset import locks, manifest
from flows.dataset.snapshot import Snapshot, compacted, moved_shards, snapshot

SMALL_SHARE = 0.5  # a shard under half of `shard_max_mb` (and of `shard_max_rows`) is small


@dataclass
class Group:
    """Small shards of one table, partition and schema version, to be merged into one."""

    table: str
    version: int
    paths: list[str] = field(default_factory=list)
    rows: int = 0
    bytes: int = 0

    @property
    def group_id(self) -> str:
        return hashlib.sha256("\n".join(self.paths).encode()).hexdigest()[:24]

    @property
    def merged(self) -> str:
        return layout.compacted_shard(self.paths[0], self.group_id)


@dataclass
class CompactionResult:
    shards_before: int
    bytes_before: int
    shards_after: int
    bytes_after: int
    groups: int
    rows: int
    finished: int  # journals of an earlier, killed compaction carried through


def plan(units: list[UnitStats], limits: OutputOptions) -> list[Group]:
    """The groups to merge: per table, partition folder and version, small shards in path order, packed until a
    group reaches `shard_max_mb` or `shard_max_rows`; a group of one shard is left alone."""
    shards: dict[str, tuple[dict, int]] = {}
    for unit in units:
        for shard in unit.shards:
            seen = shards.setdefault(shard["path"], ({**shard, "rows": 0}, unit.schema_version))[0]
            seen["rows"] += shard["rows"]
    most_bytes, most_rows = limits.shard_max_mb << 20, limits.shard_max_rows
    open_groups: dict[tuple, Group] = {}
    groups: list[Group] = []
    for path, (shard, version) in sorted(shards.items()):
        if shard["bytes"] >= most_bytes * SMALL_SHARE or shard["rows"] >= most_rows * SMALL_SHARE:
            continue
        key = (shard["table"], path.rsplit("/", 1)[0], version)
        group = open_groups.get(key)
        if group is None or group.bytes + shard["bytes"] > most_bytes or group.rows + shard["rows"] > most_rows:
            group = open_groups[key] = Group(shard["table"], version)
            groups.append(group)
        group.paths.append(path)
        group.rows += shard["rows"]
        group.bytes += shard["bytes"]
    return [group for group in groups if len(group.paths) > 1]


def compact(dataset: str, limits: OutputOptions | None = None,
            progress: Callable[[int, int], None] | None = None) -> CompactionResult:
    """Merge the dataset's small shards; `progress(groups done, groups)` after each group. Returns the counts
    before and after; the manifest and card are rebuilt."""
    limits = limits or OutputOptions()
    fs, root = fsspec.core.url_to_fs(dataset)
    root = root.rstrip("/")
    with locks.compact_lock(dataset):
        finished = finish_journals(fs, root)
        remove_orphans(fs, root)
        before = snapshot(dataset)
        groups = plan(before.units, limits)
        for done, group in enumerate(groups, 1):
            merge(fs, root, group, limits)
            if progress:
                progress(done, len(groups))
        finish_journals(fs, root)
    after = snapshot(dataset)
    manifest.refresh(dataset)
    return CompactionResult(*_size(before), *_size(after), groups=len(groups),
                            rows=sum(group.rows for group in groups), finished=finished)


def merge(fs: fsspec.AbstractFileSystem, root: str, group: Group, limits: OutputOptions) -> None:
    """Steps 1 and 2: the merged shard, then its journal. Rows keep their order: the shards' in path order."""
    final = f"{root}/{group.merged}"
    folder, name = final.rsplit("/", 1)
    temp = f"{folder}/.{name}.tmp"
    with fs.open(f"{root}/{group.paths[0]}") as first:
        schema = pq.read_schema(first)
    rows = 0
    with fs.open(temp, "wb") as handle, pq.ParquetWriter(handle, schema, compression=limits.compression) as writer:
        buffer: list[pa.Table] = []
        buffered_bytes = buffered_rows = 0
        for path in group.paths:
            with fs.open(f"{root}/{path}") as shard:
                buffer.append(pq.read_table(shard, partitioning=None).cast(schema))
            buffered_bytes += buffer[-1].nbytes
            buffered_rows += buffer[-1].num_rows
            if buffered_bytes >= limits.row_group_mb << 20 or buffered_rows >= limits.row_group_rows:
                rows += _flush(writer, buffer)
                buffered_bytes = buffered_rows = 0
        rows += _flush(writer, buffer)
    if rows != group.rows:
        fs.rm(temp)
        raise RuntimeError(f"merging {len(group.paths)} shards of {group.table} gave {rows} rows, not {group.rows}")
    fs.mv(temp, final)
    body = {"table": group.table, "schema_version": group.version, "replaces": group.paths,
            "shard": {"path": group.merged, "rows": rows, "bytes": fs.size(final)}}
    write_text(fs, layout.compaction_journal(root, group.group_id), json.dumps(body, indent=1))


def _flush(writer: pq.ParquetWriter, buffer: list[pa.Table]) -> int:
    if not buffer:
        return 0
    table = pa.concat_tables(buffer)
    writer.write_table(table, row_group_size=max(table.num_rows, 1))
    buffer.clear()
    return table.num_rows


def finish_journals(fs: fsspec.AbstractFileSystem, root: str) -> int:
    """Steps 3 and 4 for every journal whose old shards are still there; returns how many it carried through."""
    moved = compacted(fs, root)
    leftover = sorted(old for old in moved if fs.exists(f"{root}/{old}"))
    if not leftover:
        return 0
    for marker in fs.glob(layout.unit_markers(root)):
        unit = UnitStats.from_json(fs.cat_file(marker).decode())
        if any(shard["path"] in moved for shard in unit.shards):
            unit.shards = moved_shards(unit.shards, moved)
            write_text(fs, marker, unit.to_json())
    for old in leftover:
        fs.rm(f"{root}/{old}")
    return len({moved[old]["path"] for old in leftover})


def remove_orphans(fs: fsspec.AbstractFileSystem, root: str) -> None:
    """Merged shards no journal names, and hidden merged files: what a compaction killed before its journal left."""
    named = {shard["path"] for shard in compacted(fs, root).values()}
    for table in layout.TABLES:
        folder = layout.table_folder(root, table)
        for path in fs.glob(f"{folder}/**/{layout.COMPACTED_PREFIX}*.parquet") + fs.glob(
                f"{folder}/**/.{layout.COMPACTED_PREFIX}*.tmp"):
            if path.removeprefix(f"{root}/") not in named:
                fs.rm(path)


def _size(snap: Snapshot) -> tuple[int, int]:
    shards = {shard["path"]: shard["bytes"] for unit in snap.units for shard in unit.shards}
    return len(shards), sum(shards.values())
