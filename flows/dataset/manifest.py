"""The dataset's manifest (`_dataset.json`) and card (`README.md`), rebuilt from the committed units after every
run, and the schema version a dataset accepts rows of."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import fsspec

from actors import dataset_layout as layout
from actors.records import SCHEMA_VERSION
from actors.writer import UnitStats, write_text
from flows.dataset import card, charts, locks
from flows.dataset.views import connect
from ocr_models.lontar_errors import UsageError

FORMAT = "lontar-dataset"


def schema_version(dataset: str) -> int | None:
    """The schema version of a dataset's rows; None when it has none yet."""
    fs, root = fsspec.core.url_to_fs(dataset)
    root = root.rstrip("/")
    manifest = f"{root}/{layout.MANIFEST}"
    if fs.exists(manifest):
        return json.loads(fs.cat_file(manifest)).get("schema_version")
    if fs.glob(f"{layout.table_folder(root, 'pages')}/*.parquet"):
        return 2  # written before manifests and partitions
    return None


def check_writable_version(dataset: str) -> None:
    """Refuse to add rows to a dataset of another schema version: one dataset, one schema."""
    found = schema_version(dataset)
    if found not in (None, SCHEMA_VERSION):
        raise UsageError(f"the dataset at {dataset} has schema version {found} and this Lontar writes version "
                         f"{SCHEMA_VERSION}; write to a new dataset folder (docs/schema.md, 'Schema versions')")


def check_readable_version(dataset: str) -> None:
    """The card's numbers name this version's columns: a dataset of another version is refused, not misread."""
    found = schema_version(dataset)
    if found not in (None, SCHEMA_VERSION):
        raise UsageError(f"the dataset at {dataset} has schema version {found} and this Lontar's card reads version "
                         f"{SCHEMA_VERSION}; `lontar query` reads it as it is (docs/schema.md, 'Schema versions')")


def committed_units(dataset: str) -> list[UnitStats]:
    fs, root = fsspec.core.url_to_fs(dataset)
    markers = sorted(fs.glob(layout.unit_markers(root)))
    return [UnitStats.from_json(fs.cat_file(marker).decode()) for marker in markers]


def manifest(units: list[UnitStats]) -> dict[str, Any]:
    """`_dataset.json`: every committed shard with its rows and bytes, totals per table and per batch."""
    shards = sorted(({**shard, "unit_id": unit.unit_id, "batch_id": unit.batch_id}
                     for unit in units for shard in unit.shards), key=lambda s: s["path"])
    tables = {table: {"partitioning": list(layout.TABLES[table][1]), "glob": layout.shard_glob(table),
                      "rows": sum(s["rows"] for s in shards if s["table"] == table),
                      "bytes": sum(s["bytes"] for s in shards if s["table"] == table),
                      "shards": sum(1 for s in shards if s["table"] == table)} for table in layout.TABLES}
    batches: dict[str, dict[str, int]] = {}
    for unit in units:
        entry = batches.setdefault(unit.batch_id, {"units": 0, "pages": 0, "pairs": 0})
        entry["units"] += 1
        entry["pages"] += unit.rows
        entry["pairs"] += unit.pairs
    return {"format": FORMAT, "schema_version": SCHEMA_VERSION, "lontar_version": lontar_version(),
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"), "tables": tables,
            "batches": dict(sorted(batches.items())), "shards": shards}


def refresh(dataset: str) -> dict[str, Any]:
    """Rebuild the manifest and the dataset card from what is committed; returns the manifest."""
    fs, root = fsspec.core.url_to_fs(dataset)
    root = root.rstrip("/")
    with locks.locked(dataset):
        body = manifest(committed_units(dataset))
        write_text(fs, f"{root}/{layout.MANIFEST}", json.dumps(body, indent=1))
        con = connect(dataset)
        for name, png in charts.draw(con).items():
            write_text(fs, layout.chart_path(root, name), png)
        write_text(fs, f"{root}/{layout.CARD}", card.markdown(card.numbers(con), body))
    return body


def lontar_version() -> str:
    try:
        return metadata.version("lontar")
    except metadata.PackageNotFoundError:
        return "unknown"
