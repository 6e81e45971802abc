"""Stage: the unit of work of the pipeline. Stages are plain classes; actors/cluster/stream.py runs them on Ray.

A stage is given the resources one instance reserves, loads its engine once in `setup()`, and turns a batch of
rows into rows. It never raises for one bad row: it returns that row with `status = "error"`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from actors.store.records import Row, unread
from ocr_models.lontar_errors import describe, error_kind


class Stage(ABC):
    name: ClassVar[str]
    batch_size: int = 1
    uses_gpu: bool = False  # whether its model would run faster on a GPU, when the cluster has one
    # Its share of the cluster, from the config's `ray.*` only (flows/run/stages.py sets them): what one
    # instance reserves, and how many instances (Ray actors) run at most.
    num_cpus: float
    num_gpus: float
    max_actors: int

    def setup(self) -> None:
        """Load models or engines. Called once per worker, before the first batch."""

    def wants(self, batch: pa.Table) -> bool:
        """Whether any row of `batch` is this stage's work. A batch with none passes through as it is, never
        converted to rows and back: most pages of a born-digital archive go past layout and OCR that way."""
        return True

    @abstractmethod
    def process(self, rows: list[Row]) -> list[Row]:
        """Rows in, rows out: ingest turns each read task into its pages, every later stage returns one row per
        row, keeping the columns it does not set. Per-row failures become error rows, never exceptions."""

    def teardown(self) -> None:
        """Release what `setup` loaded."""


def error_fields(exc: BaseException) -> Row:
    """The columns that mark a row as failed, from any exception."""
    return {"status": "error", "error_kind": error_kind(exc), "error": describe(exc)}


def needs_ocr(row: Row) -> bool:
    """A page is read from its image when it is good and has no text layer to take."""
    return row.get("status") == "ok" and row.get("text_source") is None


def pages_to_read(batch: pa.Table) -> bool:
    """Whether any row of a batch `needs_ocr`, asked of the Arrow columns (the stages that read images)."""
    if not {"status", "text_source"} <= set(batch.column_names):
        return True
    return bool(pc.any(unread(batch)).as_py())
