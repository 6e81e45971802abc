"""Where everything lives under a dataset root, and the run report's schema: the one home of both.

```
ROOT/
  pages/script=Deva/part-<unit_id>-00000.parquet     one row per page (records.PAGE_SCHEMA)
  pairs/kind=line/script=Orya/part-<unit_id>-...     one row per text-image pair (records.PAIR_SCHEMA)
  _units/<unit_id>.json                              a unit's stats: its done marker, written after its shards
  pages/script=Deva/part-compact-<group>-00000.parquet  small shards of one partition merged by `lontar compact`
  _compactions/<group>.json                          which shards a compacted shard replaces: its commit point
  _runs/<batch_id>/<run_id>.json                     run reports (RunReport; the `runs` view: RUN_COLUMNS)
  _runs/<batch_id>/<run_id>.log                      what Ray and Prefect printed during that run
  _locks/<batch_id>.lock, _dataset.lock              flock files: one writer a batch, one manifest rebuild,
  _compact.lock                                      one compaction
  _dataset.json, README.md                           the manifest and the dataset card, rebuilt after a run
  _card/<chart>.png                                  the card's charts, drawn again with it
```
Paths are strings joined with "/", as fsspec wants them on every filesystem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

import pyarrow as pa

from actors.store.records import PAGE_PARTITIONING, PAGE_SCHEMA, PAIR_PARTITIONING, PAIR_SCHEMA

TABLES = {"pages": (PAGE_SCHEMA, PAGE_PARTITIONING), "pairs": (PAIR_SCHEMA, PAIR_PARTITIONING)}
MANIFEST = "_dataset.json"
CARD = "README.md"
DATASET_LOCK = "_dataset.lock"
COMPACT_LOCK = "_compact.lock"
COMPACTED_PREFIX = "part-compact-"  # not hex: no unit id begins so


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def table_folder(root: str, table: str) -> str:
    return _join(root, table)


def shard_path(table: str, partition: dict[str, str], unit_id: str, sequence: int) -> str:
    """A shard's path relative to the root: Hive folders of its partition, then its unit and sequence number."""
    return f"{_partition_folder(table, partition)}/part-{unit_id}-{sequence:05d}.parquet"


def part_path(table: str, partition: dict[str, str], unit_id: str, token: str) -> str:
    """A shard being written, relative to the root: a hidden name in its partition's folder, `token` keeping
    two writers of one unit apart; renamed to its `shard_path` when the unit commits."""
    return f"{_partition_folder(table, partition)}/{PART_PREFIX}{unit_id}-{token}.tmp"


def part_glob(table: str) -> str:
    """Every shard being written of a table, relative to the root."""
    return f"{table}/{'*/' * len(TABLES[table][1])}{PART_PREFIX}*.tmp"


def unit_of_part(path: str) -> str:
    """The unit a `part_path` belongs to."""
    return path.rsplit("/", 1)[-1][len(PART_PREFIX):].rsplit("-", 1)[0]


def _partition_folder(table: str, partition: dict[str, str]) -> str:
    return "/".join([table, *(f"{name}={value}" for name, value in partition.items())])


PART_PREFIX = ".part-"


def shard_glob(table: str) -> str:
    """The shards of a table, relative to the root: one folder level per partition column."""
    return f"{table}/{'*/' * len(TABLES[table][1])}*.parquet"


def unit_marker(root: str, unit_id: str) -> str:
    return _join(root, "_units", f"{unit_id}.json")


def unit_markers(root: str) -> str:
    """A glob of every committed unit's marker."""
    return _join(root, "_units", "*.json")


def compacted_shard(shard: str, group_id: str) -> str:
    """The shard that merges a group of small shards of one partition, beside them (paths relative to the root)."""
    return f"{shard.rsplit('/', 1)[0]}/{COMPACTED_PREFIX}{group_id}-00000.parquet"


def compaction_journal(root: str, group_id: str) -> str:
    return _join(root, "_compactions", f"{group_id}.json")


def compaction_journals(root: str) -> str:
    """A glob of every committed compaction's journal."""
    return _join(root, "_compactions", "*.json")


def report_path(root: str, batch_id: str, run_id: str) -> str:
    return _join(root, "_runs", batch_id, f"{run_id}.json")


def reports(root: str, batch_id: str | None = None) -> str:
    """A glob of the run reports of one batch (or of all)."""
    return _join(root, "_runs", batch_id or "*", "*.json")


def log_path(report: str) -> str:
    """The log kept beside a run's report."""
    return report.removesuffix(".json") + ".log"


def review_path(report: str) -> str:
    """The batch review page written beside a run's report."""
    return report.removesuffix(".json") + ".html"


def chart_path(root: str, name: str) -> str:
    """A chart of the dataset card; the card links it relative to the root (CHART_LINK)."""
    return _join(root, CHART_LINK.format(name=name))


CHART_LINK = "_card/{name}.png"


def text_layers_path(root: str, batch_id: str, config_hash: str) -> str:
    """The text-layer judgements of a batch's PDFs (sha256 -> each page's), made once under a configuration:
    a re-run of the batch, to resume it or to find it done, does not judge them again."""
    return _join(root, "_plans", batch_id, f"text-layers-{config_hash}.json")


def batch_lock(batch_id: str) -> str:
    """The lock file of a batch, relative to the root."""
    return f"_locks/{batch_id}.lock"


class PageCounts(TypedDict):
    total: int
    ok: int
    error: int


class UnitCounts(TypedDict):
    total: int
    written: int
    skipped: int


class RunReport(TypedDict):
    """`_runs/<batch_id>/<run_id>.json`: what one run did (docs/schema.md, "The run report")."""

    run_id: str
    batch_id: str
    status: str
    finished_at: str  # ISO 8601, UTC
    inputs: list[str]  # as given, credentials removed
    output: str
    report_path: str
    log_path: str | None  # null when the libraries' output was not captured (-v, or called as a library)
    review_path: str | None  # the batch's review page (HTML); null when it could not be drawn (the log says why)
    pages: PageCounts
    pages_by_script: dict[str, int]
    pages_by_text_source: dict[str, int]
    errors_by_kind: dict[str, int]
    files: dict[str, int]  # total, and files by outcome: ok, partial, error, duplicate
    file_outcomes: list[dict[str, Any]]  # one per input file: uri, sha256, outcome, pages, error, duplicate_of
    pairs: dict[str, int]  # total, and pairs by kind
    duplicate_images: int
    near_duplicate_pages: int  # pages whose text nearly repeats an earlier page's (near_duplicate_of)
    regions_by_engine: dict[str, int]  # text regions by the engine whose reading they kept (regions' engine)
    refused_by_guard: dict[str, int]  # routed models' readings refused, by guard (regions' guard)
    shards: list[str]
    ocr_seconds: float
    pages_by_node: dict[str, dict[str, int]]  # stage -> Ray node id -> pages
    units: UnitCounts
    timings: dict[str, float]  # seconds: launch_s, preflight_s, plan_s, ray_start_s, first_batch_s, process_s,
    # total_s, and pages_per_s, steady_pages_per_s
    config: dict[str, Any]
    config_hash: str
    versions: dict[str, str]


@dataclass(frozen=True)
class RunColumn:
    """A column of the `runs` view: where in a RunReport its value is, and its value when a report lacks it."""

    name: str
    type: pa.DataType
    path: tuple[str, ...]
    default: Any = None

    def value(self, report: dict) -> Any:
        node: Any = report
        for key in self.path:
            if not isinstance(node, dict) or key not in node:
                return self.default
            node = node[key]
        return node


RUN_COLUMNS = (
    RunColumn("run_id", pa.string(), ("run_id",)),
    RunColumn("batch_id", pa.string(), ("batch_id",)),
    RunColumn("status", pa.string(), ("status",)),
    RunColumn("finished_at", pa.string(), ("finished_at",)),
    RunColumn("pages_total", pa.int64(), ("pages", "total")),
    RunColumn("pages_ok", pa.int64(), ("pages", "ok")),
    RunColumn("pages_error", pa.int64(), ("pages", "error")),
    RunColumn("files_total", pa.int64(), ("files", "total")),
    RunColumn("files_duplicate", pa.int64(), ("files", "duplicate"), 0),
    RunColumn("pairs_total", pa.int64(), ("pairs", "total")),
    RunColumn("units_written", pa.int64(), ("units", "written")),
    RunColumn("units_skipped", pa.int64(), ("units", "skipped")),
    RunColumn("total_s", pa.float64(), ("timings", "total_s")),
    RunColumn("pages_per_s", pa.float64(), ("timings", "pages_per_s")),
    RunColumn("config_hash", pa.string(), ("config_hash",)),
    RunColumn("lontar_version", pa.string(), ("versions", "lontar")),
    RunColumn("tesseract_version", pa.string(), ("versions", "tesseract")),
    RunColumn("inputs", pa.list_(pa.string()), ("inputs",)),
)
RUN_FIELDS = {column.name: column.type for column in RUN_COLUMNS}


def runs_table(reports: list[dict]) -> pa.Table:
    """One row per run report: the `runs` view."""
    rows = [{column.name: column.value(report) for column in RUN_COLUMNS} for report in reports]
    return pa.Table.from_pylist(rows, schema=pa.schema(RUN_FIELDS))
