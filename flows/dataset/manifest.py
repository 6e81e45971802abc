"""The dataset's manifest (`_dataset.json`) and card (`README.md`), rebuilt from the committed units after every
run, and the schema versions a dataset accepts rows of."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import fsspec

from actors.store import dataset_layout as layout
from actors.store.records import SCHEMA_VERSION
from actors.store.writer import UnitStats, write_text
from flows.dataset import card, charts, locks, snapshot
from flows.dataset.views import connect

FORMAT = "lontar-dataset"


def check_writable_version(dataset: str) -> None:
    """Refuse to add rows to a dataset whose rows this Lontar's cannot join: a dataset spans versions
    OLDEST_APPENDABLE_VERSION to SCHEMA_VERSION, each read by column name."""
    snapshot.check_version(dataset, "add rows to")


def check_readable_version(dataset: str) -> None:
    """The card's numbers name this version's columns: a dataset of a version they do not join is refused, not
    misread."""
    snapshot.check_version(dataset, "describe")


def manifest(units: list[UnitStats]) -> dict[str, Any]:
    """`_dataset.json`: every committed shard (once) with its rows, bytes, schema version, units and batches,
    totals per table and per batch; `schema_version` is the newest version of the dataset's rows,
    `schema_versions` counts shards by version."""
    by_path: dict[str, dict] = {}
    for unit in units:
        for shard in unit.shards:  # a compacted shard holds rows of several units: one entry, all of them named
            entry = by_path.setdefault(shard["path"], {"table": shard["table"], "path": shard["path"], "rows": 0,
                                                       "bytes": shard["bytes"], "schema_version": unit.schema_version,
                                                       "units": [], "batches": []})
            entry["rows"] += shard["rows"]
            entry["units"].append(unit.unit_id)
            if unit.batch_id not in entry["batches"]:
                entry["batches"].append(unit.batch_id)
    shards = sorted(by_path.values(), key=lambda s: s["path"])
    versions = Counter(shard["schema_version"] for shard in shards)
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
    return {"format": FORMAT, "schema_version": max(versions, default=SCHEMA_VERSION),
            "schema_versions": {str(version): n for version, n in sorted(versions.items())},
            "lontar_version": lontar_version(),
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"), "tables": tables,
            "batches": dict(sorted(batches.items())), "shards": shards}


def refresh(dataset: str) -> dict[str, Any]:
    """Rebuild the manifest and the dataset card from what is committed; returns the manifest."""
    fs, root = fsspec.core.url_to_fs(dataset)
    root = root.rstrip("/")
    with locks.locked(dataset):
        committed = snapshot.snapshot(dataset)
        body = manifest(committed.units)
        write_text(fs, f"{root}/{layout.MANIFEST}", json.dumps(body, indent=1))
        con = connect(dataset, committed=committed)
        for name, png in charts.draw(con).items():
            write_text(fs, layout.chart_path(root, name), png)
        write_text(fs, f"{root}/{layout.CARD}", card.markdown(card.numbers(con), body))
    return body


def lontar_version() -> str:
    try:
        return metadata.version("lontar")
    except metadata.PackageNotFoundError:
        return "unknown"
