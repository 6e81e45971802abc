"""LayoutStage: finds each page's regions (text, titles, figures, tables, captions, headers, footers)."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa

from actors.reading.page_image import ASSUMED_DPI, open_image
from actors.stages.base import Row, Stage, error_fields, needs_ocr, pages_to_read
from ocr_models import registry
from ocr_models.base import LayoutDetector
from ocr_models.types import PageImage

log = logging.getLogger(__name__)

LayoutOptions = registry.options_for("layout")


class LayoutStage(Stage):
    name = "layout"

    def __init__(self, options: LayoutOptions) -> None:
        self.options = options
        self.uses_gpu = registry.uses_gpu(options)
        self.detector: LayoutDetector | None = None

    def setup(self) -> None:
        self.detector = registry.make(self.options)

    def wants(self, batch: pa.Table) -> bool:
        return pages_to_read(batch)

    def process(self, rows: list[Row]) -> list[Row]:
        if self.detector is None:
            self.setup()
        return [self.lay_out(row) if needs_ocr(row) else row for row in rows]

    def lay_out(self, row: Row) -> Row:
        assert self.detector is not None
        try:
            picture = open_image(row["image"])
            regions = self.detector.detect(PageImage(np.asarray(picture), row.get("dpi") or ASSUMED_DPI))
        except Exception as exc:  # one page's failure is that page's row
            log.warning("layout failed on %s page %s: %s", row.get("source_uri"), row.get("page_index"), exc)
            return dict(row, **error_fields(exc))
        return dict(row, layout_model=self.detector.model_id,
                    regions=[{"kind": r.kind, "bbox": list(r.bbox), "score": r.score} for r in regions])

    def teardown(self) -> None:
        if self.detector is not None:
            self.detector.close()
