"""`lontar migrate`: bring a dataset's older shards to this schema version without reading a page again, filling
the new columns wherever what the dataset holds determines them.

Shard by shard: each is rewritten under a hidden name and renamed over the old one, so a shard is always either
its old version or the new one, whole (its Parquet metadata says which); a unit's marker is rewritten once all
its shards are new. A migration that is stopped is resumed by the next: shards already new are skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from actors.store import dataset_layout as layout
from actors.store.language import LANGUAGE_FIELDS, language_fields
from actors.store.near_duplicates import NearDuplicates
from actors.store.records import ADDED_IN, SCHEMA_VERSION, UNKNOWN_SCRIPT
from actors.store.writer import UnitStats, write_text
from configs.model import NearDuplicateOptions, OutputOptions
from flows.dataset import locks, manifest
from flows.dataset.snapshot import snapshot

VERSION_KEY = b"lontar.schema_version"

# What a migrated row gets in each column a later version added: derived from the row, or left null, and why.
DERIVED: dict[str, str] = {
    "language": "identified from `text` in `script`, as the writer does",
    "language_confidence": "with `language`",
    "language_runner_up": "with `language`",
    "regions.language": "identified from each region's text in its script",
    "regions.language_confidence": "with each region's `language`",
    "regions.language_runner_up": "with each region's `language`",
    "text_minhash": "the MinHash of `text` (`near_duplicates.*`), so that later pages are compared with it",
    "regions.engine": "`tesseract` for regions with text: before version 7 only Tesseract read regions",
    "regions.model": "the region's `lang`: the Tesseract model that read it",
    "regions.guard": "null: no routed model's reading was refused before version 7",
    "read_by": "counted from the regions' engine and model, as version 7 counts them",
}
LEFT_NULL: dict[str, str] = {
    "near_duplicate_of": "a verdict depends on every page written before it; the migrated pages' signatures "
                         "are compared with the pages written from now on",
    "near_duplicate_cluster": "as `near_duplicate_of`",
    "text_source_reason": "why the layer or OCR was chosen was not recorded",
    "rotation": "the turn the page was read at was not recorded",
    "lines.words": "word boxes need the page read again (run the archive into a new dataset to have them)",
}


@dataclass
class MigrationResult:
    shards: int  # shards rewritten
    pages: int
    pairs: int
    units: int  # units whose marker now says this version


def older_units(units: list[UnitStats]) -> list[UnitStats]:
    return [unit for unit in units if unit.schema_version < SCHEMA_VERSION]


def migrate(dataset: str, limits: OutputOptions | None = None, near: NearDuplicateOptions | None = None,
            progress: Callable[[int, int], None] | None = None) -> MigrationResult:
    """Migrate every shard of the units of an older version, page shards first (a pair in its page's script takes
    the page's language, as the writer gives it), then mark the units; `progress(shards done, shards)`. The
    manifest and card are rebuilt."""
    limits = limits or OutputOptions()
    fs, root = fsspec.core.url_to_fs(dataset)
    root = root.rstrip("/")
    minhash = NearDuplicates(near or NearDuplicateOptions())
    result = MigrationResult(0, 0, 0, 0)
    with locks.compact_lock(dataset):  # one rewriter of shards at a time: compaction or migration
        units = older_units(snapshot(dataset).units)
        shards = {table: sorted({s["path"] for unit in units for s in unit.shards if s["table"] == table})
                  for table in ("pages", "pairs")}
        total, done = sum(map(len, shards.values())), 0
        for table, paths in shards.items():
            pages = page_languages(dataset) if table == "pairs" and paths else {}
            for path in paths:
                if shard_version(fs, f"{root}/{path}") != SCHEMA_VERSION:  # else compacted, or done before a stop
                    rows = migrate_shard(fs, f"{root}/{path}", table, minhash, pages, limits)
                    result.shards += 1
                    result.pages += rows if table == "pages" else 0
                    result.pairs += rows if table == "pairs" else 0
                done += 1
                if progress:
                    progress(done, total)
        for unit in units:
            _mark_migrated(fs, root, unit)
        result.units = len(units)
    manifest.refresh(dataset)
    return result


def shard_version(fs: fsspec.AbstractFileSystem, path: str) -> int:
    """The schema version a shard's Parquet metadata states (0 when it states none)."""
    with fs.open(path) as handle:
        return int((pq.read_schema(handle).metadata or {}).get(VERSION_KEY, b"0"))


def page_languages(dataset: str) -> dict[str, dict]:
    """page_id -> the page's script and language columns."""
    from flows.dataset.views import read_table

    pages = read_table(dataset, "pages", ["page_id", "script", *LANGUAGE_FIELDS]).to_pylist()
    return {page.pop("page_id"): page for page in pages}


def _mark_migrated(fs: fsspec.AbstractFileSystem, root: str, unit: UnitStats) -> None:
    marker = layout.unit_marker(root, unit.unit_id)
    stats = UnitStats.from_json(fs.cat_file(marker).decode())  # as written: shards before compactions' mapping
    stats.schema_version = SCHEMA_VERSION
    for shard in stats.shards:
        if fs.exists(f"{root}/{shard['path']}"):
            shard["bytes"] = fs.size(f"{root}/{shard['path']}")
    write_text(fs, marker, stats.to_json())


def migrate_shard(fs: fsspec.AbstractFileSystem, path: str, table: str, minhash: NearDuplicates,
                  pages: dict[str, dict], limits: OutputOptions) -> int:
    """Rewrite one shard in this version's schema, under a hidden name, then over the old one; returns its rows."""
    schema, partitioning = layout.TABLES[table]
    file_schema = pa.schema([f for f in schema if f.name not in partitioning], metadata=schema.metadata)
    partition = dict(part.split("=", 1) for part in path.split("/") if "=" in part)
    with fs.open(path) as handle:
        rows = pq.read_table(handle, partitioning=None).to_pylist()
    for row in rows:
        migrate_row(row, table, partition.get("script", UNKNOWN_SCRIPT), minhash, pages.get(row.get("page_id", "")))
    new = pa.Table.from_pylist([{name: row.get(name) for name in file_schema.names} for row in rows],
                               schema=file_schema)
    folder, name = path.rsplit("/", 1)
    temp = f"{folder}/.{name}.migrating.tmp"
    with fs.open(temp, "wb") as handle:
        pq.write_table(new, handle, compression=limits.compression, row_group_size=limits.row_group_rows)
    fs.mv(temp, path)
    return len(rows)


def migrate_row(row: dict, table: str, script: str, minhash: NearDuplicates, page: dict | None = None) -> None:
    """Fill the columns later versions added (ADDED_IN) that the row lacks, as DERIVED says; `page`: a pair's
    page (its script and language), whose language a pair in the same script takes."""
    if "language" not in row:
        same = page is not None and page["script"] == script
        row.update({name: page[name] for name in LANGUAGE_FIELDS} if same else language_fields(row.get("text"), script))
    if table != "pages":
        return
    if "text_minhash" not in row:
        signature = minhash.signature(row.get("text")) if row.get("status") == "ok" else None
        row["text_minhash"] = signature.astype(np.uint32).tolist() if signature is not None else None
    regions = row.get("regions") or []
    for region in regions:
        if "language" not in region:
            region.update(language_fields(region.get("text"), region.get("script")) if region.get("text")
                          else dict.fromkeys(LANGUAGE_FIELDS))
        if "engine" not in region:
            read = region.get("text") is not None and region.get("lang")
            region.update(engine="tesseract" if read else None, model=region.get("lang") if read else None,
                          guard=None)
    if "read_by" not in row and row.get("regions") is not None:  # null where the page was not laid out and read
        counts = Counter((r["engine"], r["model"]) for r in regions if r.get("text") is not None and r["engine"])
        row["read_by"] = [{"engine": e, "model": m, "regions": n} for (e, m), n in counts.most_common()]


def columns_report() -> list[tuple[str, str, str]]:
    """(column, filled or null, how or why) for every column added since OLDEST_APPENDABLE_VERSION."""
    added = [name for version in sorted(ADDED_IN) for names in ADDED_IN[version].values() for name in names]
    return [(name, "filled" if name in DERIVED else "null", DERIVED.get(name) or LEFT_NULL[name])
            for name in dict.fromkeys(added)]
