"""Lontar's unit markers against Delta Lake (the `deltalake` wheel) as the dataset's table format, on the same
one-page units of real scans: the cost of committing a unit, of opening a snapshot, of a query, of compaction,
and what a plain Parquet reader (a glob, no table-format reader) sees after compaction.

    .venv/bin/pip install deltalake      # not a dependency of Lontar: this benchmark is why
    .venv/bin/python benchmarks/table_formats.py [--units 300] [--scans DIR] [--work DIR]

Lontar's side is its own shard writer and `lontar compact`; Delta's side writes each unit's page rows as one
`write_deltalake(mode="append", partition_by=["script"])` transaction and compacts with `optimize.compact()`.
The pairs table is left out of both (it would be a second Delta table, committed apart from its pages: Delta's
transactions span one table, a Lontar unit spans two).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import fsspec

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from compaction import DEFAULT_SCANS, real_pages, write_units  # noqa: E402

from actors.store.records import PAGE_PARTITIONING, PAGE_SCHEMA  # noqa: E402
from flows.dataset import compaction  # noqa: E402
from flows.dataset.snapshot import snapshot  # noqa: E402

COUNT = "SELECT count(*), count(DISTINCT page_id) FROM read_parquet({files}, hive_partitioning = true)"


def timed(function, *args, repeats: int = 3):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def lontar_files(root: Path) -> list[str]:
    return [str(root / path) for path in snapshot(str(root)).shards("pages")]


def delta_copy(lontar: Path, delta: Path) -> float:
    """Each Lontar unit's page rows as one Delta transaction; returns the seconds of the commits."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake import write_deltalake

    seconds = 0.0
    for unit in snapshot(str(lontar)).units:
        tables = []
        for shard in unit.shards:
            if shard["table"] != "pages":
                continue
            table = pq.read_table(lontar / shard["path"], partitioning=None)
            script = shard["path"].split("script=")[1].split("/")[0]
            tables.append(table.append_column("script", [[script] * table.num_rows]))
        rows = pa.concat_tables(tables).select(PAGE_SCHEMA.names).cast(
            pa.schema([f.with_nullable(True) for f in PAGE_SCHEMA]))
        start = time.perf_counter()
        write_deltalake(str(delta), rows, mode="append", partition_by=list(PAGE_PARTITIONING))
        seconds += time.perf_counter() - start
    return seconds


def lontar_commits(lontar: Path, again: Path) -> float:
    """The same page rows committed as Lontar commits a unit (a shard under a hidden name, renamed, then the
    unit's marker); returns the seconds."""
    import pyarrow.parquet as pq

    from actors.store.writer import write_text

    fs = fsspec.filesystem("file")
    seconds = 0.0
    for unit in snapshot(str(lontar)).units:
        shards = [(s, pq.read_table(lontar / s["path"], partitioning=None)) for s in unit.shards
                  if s["table"] == "pages"]
        start = time.perf_counter()
        for shard, table in shards:
            final = again / shard["path"]
            final.parent.mkdir(parents=True, exist_ok=True)
            temp = final.parent / f".{final.name}.tmp"
            pq.write_table(table, temp, compression="zstd")
            temp.rename(final)
        write_text(fs, str(again / "_units" / f"{unit.unit_id}.json"), unit.to_json())
        seconds += time.perf_counter() - start
    return seconds


def main() -> None:
    try:
        import deltalake
    except ImportError:
        sys.exit("this benchmark compares with Delta Lake: .venv/bin/pip install deltalake")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--scans", type=Path, default=DEFAULT_SCANS)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="lontar-formats-"))
    lontar, delta = work / "lontar", work / "delta"
    pages = real_pages(args.scans)

    write_units(lontar, pages, args.units)
    lontar_write = lontar_commits(lontar, work / "lontar-again")
    delta_write = delta_copy(lontar, delta)
    print(f"deltalake {deltalake.__version__}, {args.units} one-page units of real scans")
    print("| | Lontar (unit markers) | Delta Lake |\n|---|---|---|")
    print(f"| commit a unit's page rows, ms | {lontar_write / args.units * 1000:.1f} | "
          f"{delta_write / args.units * 1000:.1f} |")
    open_lontar, files = timed(lontar_files, lontar)
    open_delta, delta_files = timed(lambda: deltalake.DeltaTable(str(delta)).file_uris())
    print(f"| open a snapshot (the file list), ms | {open_lontar * 1000:.1f} | {open_delta * 1000:.1f} |")
    query_lontar, counted = timed(lambda: duckdb.connect().execute(COUNT.format(files=files)).fetchone())
    query_delta, delta_counted = timed(lambda: duckdb.connect().execute(COUNT.format(files=delta_files)).fetchone())
    print(f"| DuckDB count over the snapshot's files, ms | {query_lontar * 1000:.1f} | {query_delta * 1000:.1f} |")
    print(f"| rows, distinct ids | {counted} | {delta_counted} |")

    start = time.perf_counter()
    compaction.compact(str(lontar))
    compact_lontar = time.perf_counter() - start
    start = time.perf_counter()
    deltalake.DeltaTable(str(delta)).optimize.compact()
    compact_delta = time.perf_counter() - start
    print(f"| compact, s | {compact_lontar:.1f} (the card included) | {compact_delta:.1f} |")
    after = (len(lontar_files(lontar)), len(deltalake.DeltaTable(str(delta)).file_uris()))
    print(f"| page files in the snapshot after compaction | {after[0]} | {after[1]} |")
    glob = "SELECT count(*), count(DISTINCT page_id) FROM read_parquet('{root}/script=*/*.parquet')"
    fs = fsspec.filesystem("file")
    seen = [duckdb.connect().execute(glob.format(root=root)).fetchone() for root in (lontar / "pages", delta)]
    print(f"| a plain glob over the folders after compaction: rows, distinct ids | {seen[0]} | {seen[1]} |")
    files_on_disk = (len(fs.glob(f"{lontar}/pages/script=*/*.parquet")), len(fs.glob(f"{delta}/script=*/*.parquet")))
    print(f"| Parquet files on disk after compaction | {files_on_disk[0]} | {files_on_disk[1]} (until vacuum) |")
    size = sum(p.stat().st_size for p in Path(deltalake.__file__).parent.rglob("*") if p.is_file())
    print(f"| installed size of the reader/writer, MB | 0 (Lontar's code) | {size / 1e6:.0f} (deltalake) |")


if __name__ == "__main__":
    main()
