"""The dataset as DuckDB and Arrow see it: the views `pages`, `pairs` and `runs`, a table read with pyarrow,
the run reports, and what a new run must know of what is there (sources and images already held)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import fsspec
import pyarrow as pa
import pyarrow.dataset as pads
from fsspec.implementations.local import LocalFileSystem

from actors.store import dataset_layout as layout
from actors.store.dataset_index import DatasetIndex
from configs.model import NearDuplicateOptions
from flows.dataset.snapshot import Snapshot, require_dataset, snapshot
from ocr_models.lontar_errors import UsageError


def read_table(dataset: str, table: str, columns: list[str] | None = None,
               where: pads.Expression | None = None) -> pa.Table:
    """A table's rows (pages or pairs) with pyarrow, in the record schema's column order, the partition
    columns taken from the paths; whole committed units only (flows/dataset/snapshot.py), older versions' rows
    with this version's new columns null; an empty table when there are none yet."""
    fs, root = fsspec.core.url_to_fs(dataset)
    root = root.rstrip("/")
    schema, partitioning = layout.TABLES[table]
    shards = snapshot(dataset).shards(table)
    if not shards:
        empty = schema.empty_table()
        return empty.select(columns) if columns else empty
    parts = pads.partitioning(pa.schema([schema.field(name) for name in partitioning]), flavor="hive")
    rows = pads.dataset([f"{root}/{path}" for path in shards], schema=schema, format="parquet", filesystem=fs,
                        partitioning=parts, partition_base_dir=layout.table_folder(root, table))
    return rows.to_table(columns=columns, filter=where)


def read_reports(dataset: str, batch_id: str | None = None) -> list[dict]:
    """The run reports of one batch (or of all), oldest first."""
    fs, root = fsspec.core.url_to_fs(dataset)
    # run ids begin with their UTC time
    paths = sorted(fs.glob(layout.reports(root, batch_id)), key=lambda p: p.rsplit("/", 1)[1])
    return [json.loads(fs.cat_file(path)) for path in paths]


def since_moment(dataset: str, since: str) -> datetime:
    """What `--since` names: a run of the dataset (the moment its report was written, after its last unit
    committed) or an ISO 8601 time (UTC when it names no zone)."""
    for report in read_reports(dataset):
        if report["run_id"] == since:
            return datetime.fromisoformat(report["finished_at"])
    try:
        moment = datetime.fromisoformat(since)
    except ValueError:
        raise UsageError(f"--since {since}: the dataset at {dataset} has no run of that id and it is not an ISO 8601 "
                         "time; `lontar query \"SELECT run_id, finished_at FROM runs\"` lists its runs") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def connect(dataset: str, must_exist: bool = True, since: str | None = None,
            committed: Snapshot | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the views `pages`, `pairs` and `runs` over the dataset's committed units at this
    moment (flows/dataset/snapshot.py), in this version's columns (null on rows of older versions that lack them),
    empty when the dataset has none yet, so that a query on a new dataset answers with no rows, not an error.
    `must_exist`: a missing dataset is a usage error (else it reads as empty: a run about to create it).
    `since` (a run id or a time, `since_moment`): only the units committed after it, and the runs finished after
    it. `committed`: a snapshot the caller took already, so that a refresh's manifest and card count the same
    units."""
    if must_exist:
        require_dataset(dataset)
    fs, root = fsspec.core.url_to_fs(dataset)
    root = root.rstrip("/")
    con = duckdb.connect()
    prefix = root
    if not isinstance(fs, LocalFileSystem):
        con.register_filesystem(fs)
        prefix = f"{fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol}://{root}"
    committed, reports = committed or snapshot(dataset), read_reports(dataset)
    if since is not None:
        moment = since_moment(dataset, since)
        committed = committed.since(moment)
        reports = [r for r in reports if datetime.fromisoformat(r["finished_at"]) > moment]
    for table, (schema, partitioning) in layout.TABLES.items():
        # Rows of every version, by column name, and this version's columns (null where older rows lack them)
        # from an empty table of this version's schema; the files are those of whole committed units.
        con.register(f"_{table}_empty", schema.empty_table())
        names = ", ".join(f'"{name}"' for name in (*(n for n in schema.names if n not in partitioning),
                                                    *partitioning))
        files = ", ".join("'" + f"{prefix}/{path}".replace("'", "''") + "'" for path in committed.shards(table))
        rows = (f"SELECT * FROM read_parquet([{files}], hive_partitioning = true, union_by_name = true) "
                "UNION ALL BY NAME " if files else "")
        con.execute(f"CREATE VIEW {table} AS SELECT {names} FROM ({rows}SELECT * FROM _{table}_empty)")
    con.register("_runs_table", layout.runs_table(reports))
    con.execute("CREATE VIEW runs AS SELECT * FROM _runs_table")
    return con


def source_owners(dataset: str, sha256s: list[str]) -> dict[str, dict[str, str]]:
    """Of these source files, those the dataset already has rows of: sha256 -> batch_id, config_hash and the
    source_uri those rows were read from."""
    if not sha256s:
        return {}
    con = connect(dataset, must_exist=False)
    con.register("_wanted", pa.table({"sha": pa.array(sorted(set(sha256s)), pa.string())}))
    found = con.execute("SELECT source_sha256, min(batch_id), min(config_hash), min(source_uri) FROM pages "
                        "WHERE source_sha256 IN (SELECT sha FROM _wanted) GROUP BY 1").fetchall()
    return {sha: {"batch_id": batch, "config_hash": config, "source_uri": uri} for sha, batch, config, uri in found}


def dataset_index(dataset: str, options: NearDuplicateOptions | None = None) -> DatasetIndex:
    """What the dataset's committed units hold for a writer to look up (actors/store/dataset_index.py): every page
    signature (when `options` is given) and every figure and table image stored."""
    committed = snapshot(dataset)
    return DatasetIndex.load(dataset, committed.shards("pages"), committed.shards("pairs"), options)


