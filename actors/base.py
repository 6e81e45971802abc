"""Stage: the unit of work of the pipeline. Stages are plain classes; `ray_adapter` runs them on Ray.

A stage declares the resources one instance needs, loads its engine once in `setup()`, and turns a batch of
rows into rows. It never raises for one bad row: it returns that row with `status = "error"`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from ocr_models.errors import describe, error_kind

Row = dict[str, Any]


class Stage(ABC):
    name: ClassVar[str]
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    batch_size: int = 1
    max_actors: int = 1  # most instances run at once (Ray actors)
    uses_gpu: bool = False  # whether its model would run faster on a GPU, when the cluster has one

    def setup(self) -> None:
        """Load models or engines. Called once per worker, before the first batch."""

    @abstractmethod
    def process(self, rows: list[Row]) -> list[Row]:
        """Rows in, rows out (as many or more). Per-row failures become error rows, never exceptions."""

    def teardown(self) -> None:
        """Release what `setup` loaded."""


def error_fields(exc: BaseException) -> Row:
    """The columns that mark a row as failed, from any exception."""
    return {"status": "error", "error_kind": error_kind(exc), "error": describe(exc)}
