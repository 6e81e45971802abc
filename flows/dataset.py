"""The dataset as one thing: its DuckDB views, its manifest, and what a new run must know of what is there.

A dataset root holds `pages/` and `pairs/` (Hive-partitioned Parquet), `_units/` (each unit's stats: the
truth of what is committed), `_runs/<batch_id>/<run_id>.json` (run reports), and the two files rebuilt from
those after every run: `_dataset.json` (the manifest) and `README.md` (the dataset card).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import duckdb
import fsspec
import pyarrow as pa
import pyarrow.dataset as pads
from fsspec.implementations.local import LocalFileSystem

from actors.records import PAGE_PARTITIONING, PAGE_SCHEMA, PAIR_PARTITIONING, PAIR_SCHEMA, SCHEMA_VERSION
from actors.writer import DEDUPLICATED_KINDS, UnitStats, write_text
from ocr_models.lontar_errors import UsageError

MANIFEST = "_dataset.json"
CARD = "README.md"
FORMAT = "lontar-dataset"
TABLES = {"pages": (PAGE_SCHEMA, PAGE_PARTITIONING), "pairs": (PAIR_SCHEMA, PAIR_PARTITIONING)}


def shard_glob(table: str) -> str:
    """The shards of a table, relative to the dataset root: one folder level per partition column."""
    return f"{table}/{'*/' * len(TABLES[table][1])}*.parquet"


def read_table(dataset: str, table: str, columns: list[str] | None = None,
               where: pads.Expression | None = None) -> pa.Table:
    """A table's rows (pages or pairs) with pyarrow, in the record schema's column order, the partition
    columns taken from the paths; an empty table when there are none yet."""
    fs, root = fsspec.core.url_to_fs(dataset)
    schema, partitioning = TABLES[table]
    folder = f"{root.rstrip('/')}/{table}"
    if not fs.exists(folder):
        empty = schema.empty_table()
        return empty.select(columns) if columns else empty
    parts = pads.partitioning(pa.schema([schema.field(name) for name in partitioning]), flavor="hive")
    rows = pads.dataset(folder, schema=schema, format="parquet", filesystem=fs, partitioning=parts)
    return rows.to_table(columns=columns, filter=where)


def report_path(root: str, batch_id: str, run_id: str) -> str:
    return f"{root.rstrip('/')}/_runs/{batch_id}/{run_id}.json"


def read_reports(dataset: str, batch_id: str | None = None) -> list[dict]:
    """The run reports of one batch (or of all), oldest first."""
    fs, root = fsspec.core.url_to_fs(dataset)
    pattern = f"{root.rstrip('/')}/_runs/{batch_id or '*'}/*.json"
    paths = sorted(fs.glob(pattern), key=lambda p: p.rsplit("/", 1)[1])  # run ids begin with their UTC time
    return [json.loads(fs.cat_file(path)) for path in paths]


def check_writable_version(dataset: str) -> None:
    """Refuse to add rows to a dataset of another schema version: one dataset, one schema."""
    fs, root = fsspec.core.url_to_fs(dataset)
    root = root.rstrip("/")
    manifest = f"{root}/{MANIFEST}"
    if fs.exists(manifest):
        found = json.loads(fs.cat_file(manifest)).get("schema_version")
    elif fs.glob(f"{root}/pages/*.parquet"):
        found = 2  # written before manifests and partitions
    else:
        return
    if found != SCHEMA_VERSION:
        raise UsageError(f"the dataset at {dataset} has schema version {found} and this Lontar writes version "
                         f"{SCHEMA_VERSION}; write to a new dataset folder (docs/schema.md, 'Schema versions')")


def connect(dataset: str, must_exist: bool = True) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the views `pages`, `pairs` and `runs` over the dataset (empty views when the
    dataset has none yet, so that a query on a new dataset answers with no rows rather than an error).
    `must_exist`: a missing dataset is a usage error (else it reads as empty: a run about to create it)."""
    fs, root = fsspec.core.url_to_fs(dataset)
    root = root.rstrip("/")
    if must_exist and not fs.isdir(root):
        raise UsageError(f"no dataset at {dataset}")
    con = duckdb.connect()
    prefix = root
    if not isinstance(fs, LocalFileSystem):
        con.register_filesystem(fs)
        prefix = f"{fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol}://{root}"
    for table, (schema, _) in TABLES.items():
        if fs.glob(f"{root}/{shard_glob(table)}"):
            source = f"{prefix}/{shard_glob(table)}".replace("'", "''")
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{source}', hive_partitioning = true, "
                        "union_by_name = true)")
        else:
            con.register(f"_{table}_empty", schema.empty_table())
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM _{table}_empty")
    con.register("_runs_table", runs_table(read_reports(dataset)))
    con.execute("CREATE VIEW runs AS SELECT * FROM _runs_table")
    return con


RUN_FIELDS = {
    "run_id": pa.string(), "batch_id": pa.string(), "status": pa.string(), "finished_at": pa.string(),
    "pages_total": pa.int64(), "pages_ok": pa.int64(), "pages_error": pa.int64(), "files_total": pa.int64(),
    "files_duplicate": pa.int64(), "pairs_total": pa.int64(), "units_written": pa.int64(),
    "units_skipped": pa.int64(), "total_s": pa.float64(), "pages_per_s": pa.float64(), "config_hash": pa.string(),
    "lontar_version": pa.string(), "tesseract_version": pa.string(), "inputs": pa.list_(pa.string()),
}


def runs_table(reports: list[dict]) -> pa.Table:
    """One row per run report: the `runs` view."""
    rows = [{
        "run_id": r["run_id"], "batch_id": r["batch_id"], "status": r["status"], "finished_at": r["finished_at"],
        "pages_total": r["pages"]["total"], "pages_ok": r["pages"]["ok"], "pages_error": r["pages"]["error"],
        "files_total": r["files"]["total"], "files_duplicate": r["files"].get("duplicate", 0),
        "pairs_total": r["pairs"]["total"], "units_written": r["units"]["written"],
        "units_skipped": r["units"]["skipped"], "total_s": r["timings"]["total_s"],
        "pages_per_s": r["timings"]["pages_per_s"], "config_hash": r["config_hash"],
        "lontar_version": r["versions"].get("lontar"), "tesseract_version": r["versions"].get("tesseract"),
        "inputs": r["inputs"]} for r in reports]
    return pa.Table.from_pylist(rows, schema=pa.schema(RUN_FIELDS))


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


def known_images(dataset: str) -> dict[str, str]:
    """image_sha256 -> pair_id of every figure and table image the dataset holds the bytes of."""
    kinds = ", ".join(f"'{kind}'" for kind in DEDUPLICATED_KINDS)
    rows = connect(dataset, must_exist=False).execute(
        f"SELECT image_sha256, min(pair_id) FROM pairs WHERE kind IN ({kinds}) AND duplicate_of IS NULL "
        "GROUP BY 1").fetchall()
    return dict(rows)


@contextlib.contextmanager
def _flock(dataset: str, name: str, wait: bool) -> Iterator[bool]:
    """Hold `name` under the dataset root with flock; yields False when `wait` is off and another holds it.
    Object storage has no locks: there it yields True at once (see docs/dataset.md, "Two runs at once")."""
    fs, root = fsspec.core.url_to_fs(dataset)
    if not isinstance(fs, LocalFileSystem):
        yield True
        return
    path = f"{root.rstrip('/')}/{name}"
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def locked(dataset: str) -> Iterator[None]:
    """Hold the dataset's lock while rebuilding its manifest and card: two runs finishing at once must not
    write a manifest that misses the other's units."""
    with _flock(dataset, "_dataset.lock", wait=True):
        yield


@contextlib.contextmanager
def batch_lock(dataset: str, batch_id: str) -> Iterator[None]:
    """Only one run writes a batch at a time: a second is refused at once, before it reads a page, instead of
    racing the first over the same units. Other batches write beside it."""
    with _flock(dataset, f"_locks/{batch_id}.lock", wait=False) as held:
        if not held:
            raise UsageError(f"another run is writing batch {batch_id} into {dataset}; let it finish (or stop "
                             "it) and run again")
        yield


def committed_units(dataset: str) -> list[UnitStats]:
    fs, root = fsspec.core.url_to_fs(dataset)
    markers = sorted(fs.glob(f"{root.rstrip('/')}/_units/*.json"))
    return [UnitStats.from_json(fs.cat_file(marker).decode()) for marker in markers]


def manifest(units: list[UnitStats]) -> dict[str, Any]:
    """`_dataset.json`: every committed shard with its rows and bytes, totals per table and per batch."""
    shards = sorted(({**shard, "unit_id": unit.unit_id, "batch_id": unit.batch_id}
                     for unit in units for shard in unit.shards), key=lambda s: s["path"])
    tables = {table: {"partitioning": list(TABLES[table][1]), "glob": shard_glob(table),
                      "rows": sum(s["rows"] for s in shards if s["table"] == table),
                      "bytes": sum(s["bytes"] for s in shards if s["table"] == table),
                      "shards": sum(1 for s in shards if s["table"] == table)} for table in TABLES}
    batches: dict[str, dict[str, int]] = {}
    for unit in units:
        entry = batches.setdefault(unit.batch_id, {"units": 0, "pages": 0, "pairs": 0})
        entry["units"] += 1
        entry["pages"] += unit.rows
        entry["pairs"] += unit.pairs
    return {"format": FORMAT, "schema_version": SCHEMA_VERSION, "lontar_version": _version(),
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"), "tables": tables,
            "batches": dict(sorted(batches.items())), "shards": shards}


def refresh(dataset: str) -> dict[str, Any]:
    """Rebuild the manifest and the dataset card from what is committed; returns the manifest."""
    from flows import card

    fs, root = fsspec.core.url_to_fs(dataset)
    root = root.rstrip("/")
    with locked(dataset):
        body = manifest(committed_units(dataset))
        write_text(fs, f"{root}/{MANIFEST}", json.dumps(body, indent=1))
        write_text(fs, f"{root}/{CARD}", card.markdown(card.numbers(connect(dataset)), body))
    return body


def _version() -> str:
    try:
        return metadata.version("lontar")
    except metadata.PackageNotFoundError:
        return "unknown"
