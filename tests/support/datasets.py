"""Datasets made on the spot for the tests: units written through the real shard writer, shards made to look as
an older Lontar wrote them, and the rows and stamps the writer tests share."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from actors.store import dataset_layout
from actors.store.dataset_index import DatasetIndex
from actors.store.records import ADDED_IN, batch_table
from actors.store.writer import ShardWriter
from flows.dataset.views import read_table

STAMP = {"run_id": "r1", "batch_id": "b1", "config_hash": "c1"}


def rows(n: int, status: str = "ok", script: str | None = "Deva") -> list[dict]:
    """`n` pages of one file, all read (`ok`, in `script`) or all failed."""
    return [{"page_id": f"p{i}", "source_uri": "/a.pdf", "source_sha256": "s", "source_format": "pdf",
             "page_index": i, "page_count": n, "status": status, "script": script if status == "ok" else None,
             "text": "नमस्ते दुनिया" if status == "ok" else None, "text_source": "ocr",
             "error_kind": None if status == "ok" else "engine", "error": None if status == "ok" else f"bad {i}",
             "ocr_seconds": 0.5} for i in range(n)]


def shards(root: Path, table: str = "pages") -> list[str]:
    """The Parquet files of one table under `root`, relative to it, sorted."""
    return sorted(str(p.relative_to(root)) for p in (root / table).rglob("*.parquet"))


def read_pages(dataset: Path) -> pa.Table:
    return read_table(str(dataset), "pages")


def read_pairs(dataset: Path) -> pa.Table:
    return read_table(str(dataset), "pairs")


def write_batch(root: Path, batch: str, unit: str, rows: list[dict], index: DatasetIndex | None = None) -> None:
    """Commit `rows` as one unit of batch `batch` and write that batch's run report, as a run does."""
    fs = fsspec.filesystem("file")
    writer = ShardWriter(fs, str(root), unit, {"run_id": f"run-{batch}", "batch_id": batch, "config_hash": "c1"},
                         index=index)
    writer.write(batch_table(rows))
    stats = writer.close()
    report = {"run_id": f"2026T-{batch}", "batch_id": batch, "status": "completed", "finished_at": "2026",
              "pages": {"total": stats.rows, "ok": stats.by_status["ok"], "error": stats.by_status["error"]},
              "files": {"total": 1}, "pairs": {"total": stats.pairs}, "units": {"written": 1, "skipped": 0},
              "timings": {"total_s": 1.0, "pages_per_s": 1.0}, "config_hash": "c1",
              "versions": {"lontar": "0.1.0", "tesseract": "5.3.0"}, "inputs": [f"/archive/{batch}"]}
    path = Path(dataset_layout.report_path(str(root), batch, report["run_id"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report))


def _without_fields(column: pa.ChunkedArray, fields: set[str]) -> pa.Array:
    """A list-of-struct column with these fields of its structs left out."""
    lists = column.combine_chunks()
    items = lists.flatten()
    kept = [(f.name, items.field(f.name)) for f in items.type if f.name not in fields]
    structs = pa.StructArray.from_arrays([a for _, a in kept], names=[n for n, _ in kept], mask=items.is_null())
    return pa.ListArray.from_arrays(lists.offsets, structs, mask=lists.is_null())


def as_schema_version(dataset: Path, unit_id: str, version: int) -> None:
    """Make one committed unit what an older Lontar wrote: its shards without the columns and struct fields added
    after `version` (records.ADDED_IN), stamped with that version, and its marker saying so."""
    marker = Path(dataset_layout.unit_marker(str(dataset), unit_id))
    stats = json.loads(marker.read_text())
    for shard in stats["shards"]:
        added = {name for v, tables in ADDED_IN.items() if v > version for name in tables[shard["table"]]}
        path = dataset / shard["path"]
        table = pq.read_table(path, partitioning=None)
        table = table.drop_columns([name for name in added if name in table.column_names])
        for nested in sorted({name.split(".")[0] for name in added if "." in name}):
            fields = {name.split(".")[1] for name in added if name.startswith(f"{nested}.")}
            table = table.set_column(table.schema.get_field_index(nested), nested,
                                     _without_fields(table.column(nested), fields))
        pq.write_table(table.replace_schema_metadata({"lontar.schema_version": str(version)}), path)
        shard["bytes"] = path.stat().st_size
    stats["schema_version"] = version
    marker.write_text(json.dumps(stats))


SMALL_UNIT_SCRIPTS = ("Deva", "Latn")


def small_page(unit: str, script: str) -> dict:
    text = {"Deva": "पुरानी पांडुलिपि का पृष्ठ", "Latn": "An old manuscript page"}[script] + f" {unit}"
    return {"page_id": f"{unit}-{script}", "source_uri": f"/archive/{unit}.pdf", "source_sha256": unit,
            "source_format": "pdf", "page_index": SMALL_UNIT_SCRIPTS.index(script), "page_count": 2, "status": "ok",
            "image": f"image {unit} {script}".encode(), "image_format": "png", "text": text, "text_source": "ocr",
            "script": script, "engine": "tesseract", "engine_version": "5.3.0",
            "pairs": [{"pair_id": f"{unit}-{script}-line", "kind": "line", "bbox": [0, 0, 10, 10],
                       "image": f"crop {unit}".encode(), "image_format": "png", "width": 10, "height": 10,
                       "text": text, "script": script, "alignment": {"method": "ocr", "score": 0.9}}]}


def small_units(root: Path, count: int, prefix: str = "u") -> list[str]:
    """`count` committed units of one page in each of two scripts (a page and a line pair each), as a run
    with `output.pages_per_unit: 1` commits them; returns their ids."""
    units = [f"{prefix}{n:04d}" for n in range(count)]
    for unit in units:
        writer = ShardWriter(fsspec.filesystem("file"), str(root), unit,
                             {"run_id": "run-1", "batch_id": "b1", "config_hash": "c1"})
        writer.write(batch_table([small_page(unit, script) for script in SMALL_UNIT_SCRIPTS]))
        writer.close()
    return units
