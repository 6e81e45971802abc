"""What a reader sees of a dataset: the shards of its committed units, as their done markers list them.

A unit's shards are renamed into place one by one and its marker (`_units/<unit_id>.json`) is written last, so
a reader that takes its file list from the markers sees whole units only, even while a run is committing more;
a reader that globs the folders can see part of a unit for the moment between two renames. The markers also
say which schema version each unit's shards have.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import fsspec

from actors.store import dataset_layout as layout
from actors.store.records import OLDEST_APPENDABLE_VERSION, SCHEMA_VERSION
from actors.store.writer import UnitStats
from ocr_models.lontar_errors import UsageError

LEGACY_VERSION = 2  # a dataset with shards and no unit markers: written before manifests and partitions


@dataclass(frozen=True)
class Snapshot:
    """The committed units of a dataset at one moment, and the shards they hold (paths relative to the root)."""

    units: list[UnitStats]

    def shards(self, table: str) -> list[str]:
        return sorted({shard["path"] for unit in self.units for shard in unit.shards if shard["table"] == table})

    def since(self, moment: datetime) -> Snapshot:
        """The units committed after `moment` (units of a Lontar that did not record the time count as older)."""
        return Snapshot([unit for unit in self.units
                         if unit.committed_at and datetime.fromisoformat(unit.committed_at) > moment])

    def versions(self) -> Counter:
        """Schema version -> shards of that version."""
        return Counter(dict({shard["path"]: unit.schema_version for unit in self.units
                             for shard in unit.shards}).values())


def snapshot(dataset: str) -> Snapshot:
    """The dataset's committed units now (none for a dataset not yet written), their shards as compactions left
    them. The journals are read after the markers: a compaction writes its journal before it points any marker
    at the merged shard, so a marker that names it is always read with the journal that explains it."""
    fs, root = fsspec.core.url_to_fs(dataset)
    root = root.rstrip("/")
    markers = sorted(fs.glob(layout.unit_markers(root)))
    units = [UnitStats.from_json(body.decode()) for body in _read_all(fs, markers)]
    moved = compacted(fs, root)
    for unit in units:
        unit.shards = moved_shards(unit.shards, moved)
    return Snapshot(units)


def compacted(fs: fsspec.AbstractFileSystem, root: str) -> dict[str, dict]:
    """Every committed compaction: shard path -> the compacted shard that holds its rows now (path, bytes)."""
    journals = sorted(fs.glob(layout.compaction_journals(root)))
    return {old: body["shard"] for body in map(json.loads, _read_all(fs, journals)) for old in body["replaces"]}


def moved_shards(shards: list[dict], moved: dict[str, dict]) -> list[dict]:
    """A unit's shards with those a compaction merged replaced by the merged shard (once, with the unit's rows)."""
    out: dict[str, dict] = {}
    for shard in shards:
        path, size = shard["path"], shard["bytes"]
        while path in moved:  # a compacted shard may itself be compacted again
            path, size = moved[path]["path"], moved[path]["bytes"]
        if path in out:
            out[path]["rows"] += shard["rows"]
        else:
            out[path] = {**shard, "path": path, "bytes": size}
    return list(out.values())


def _read_all(fs: fsspec.AbstractFileSystem, paths: list[str]) -> list[bytes]:
    bodies = fs.cat(paths) if paths else {}
    return [bodies[path] for path in paths]


def require_dataset(dataset: str) -> None:
    """A usage error when there is no dataset (no folder) at `dataset`."""
    fs, root = fsspec.core.url_to_fs(dataset)
    if not fs.isdir(root.rstrip("/")):
        raise UsageError(f"no dataset at {dataset}")


def schema_versions(dataset: str) -> set[int]:
    """The schema versions of a dataset's rows: none for a new dataset."""
    versions = set(snapshot(dataset).versions())
    if not versions:
        fs, root = fsspec.core.url_to_fs(dataset)
        if fs.glob(f"{layout.table_folder(root.rstrip('/'), 'pages')}/*.parquet"):
            versions = {LEGACY_VERSION}
    return versions


def check_version(dataset: str, action: str) -> None:
    """Refuse to `action` a dataset holding rows this Lontar cannot add to or read by name: rows older than
    OLDEST_APPENDABLE_VERSION (their columns meant something else) or newer than this Lontar."""
    versions = schema_versions(dataset)
    newer = sorted(v for v in versions if v > SCHEMA_VERSION)
    older = sorted(v for v in versions if v < OLDEST_APPENDABLE_VERSION)
    if newer:
        raise UsageError(f"the dataset at {dataset} has rows of schema version {newer[-1]}, written by a newer "
                         f"Lontar; this one writes version {SCHEMA_VERSION} and cannot {action} it: upgrade Lontar")
    if older:
        raise UsageError(f"the dataset at {dataset} has schema version {older[0]}; this Lontar "
                         f"(version {SCHEMA_VERSION}) can {action} datasets of version {OLDEST_APPENDABLE_VERSION} "
                         "or later only, because what their columns mean changed: write to a new dataset folder "
                         "and run the archive into it again (docs/schema.md, 'Schema versions')")
