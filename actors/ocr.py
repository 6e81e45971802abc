"""OcrStage: detects each page's script and reads it with that script's model."""

from __future__ import annotations

import io
import logging
import time

import numpy as np
from PIL import Image

from actors.base import Row, Stage, error_fields
from ocr_models.scripts import BY_CODE, Script
from ocr_models.tesseract import TesseractEngine, TesseractOptions, rotate
from ocr_models.types import PageImage

log = logging.getLogger(__name__)


class OcrStage(Stage):
    name = "ocr"
    num_cpus = 0.8  # one engine thread per core: the parallelism belongs to Ray, never to the engine

    def __init__(self, options: TesseractOptions, scripts: list[str], hints: dict[str, list[str]]) -> None:
        self.options = options
        self.scripts: list[Script] = [BY_CODE[code] for code in scripts]
        self.hints = hints  # script code -> hinted languages of that script
        self.engine: TesseractEngine | None = None

    def setup(self) -> None:
        self.engine = TesseractEngine(self.options)
        self.engine_version = self.engine.version()

    def process(self, rows: list[Row]) -> list[Row]:
        if self.engine is None:
            self.setup()
        return [self.read_page(row) if needs_ocr(row) else row for row in rows]

    def read_page(self, row: Row) -> Row:
        assert self.engine is not None
        started = time.perf_counter()
        try:
            image = decode(row["image"], row.get("dpi") or 300)
            guess = self.engine.detect_script(image, self.scripts)
            row = dict(row, text_source="ocr", script_method=guess.method, engine=self.engine.name,
                       engine_version=self.engine_version)
            if guess.script is None:  # no text line found: a blank or picture-only page
                return dict(row, text="", lines=[], script_confidence=0.0, ocr_confidence=0.0)
            script = BY_CODE[guess.script]
            page = self.engine.recognize(rotate(image, guess.rotation), script, self.hints.get(script.code, ()))
        except Exception as exc:  # one page's failure is that page's row, never the dataset's
            log.warning("OCR failed on %s page %s: %s", row.get("source_uri"), row.get("page_index"), exc)
            return dict(row, **error_fields(exc), ocr_seconds=time.perf_counter() - started)
        return dict(row, text=page.text, script=script.code, script_confidence=guess.confidence,
                    lang=page.model, ocr_confidence=page.confidence,
                    lines=[{"text": ln.text, "bbox": list(ln.bbox), "confidence": ln.confidence}
                           for ln in page.lines],
                    ocr_seconds=time.perf_counter() - started)

    def teardown(self) -> None:
        if self.engine is not None:
            self.engine.close()


def needs_ocr(row: Row) -> bool:
    return row.get("status") == "ok" and row.get("text_source") is None


def decode(data: bytes, dpi: int) -> PageImage:
    """Page bytes to greyscale pixels; Tesseract binarises grey itself and reads it a third faster than RGB."""
    with Image.open(io.BytesIO(data)) as image:
        grey = image.convert("L")
    return PageImage(np.asarray(grey), dpi)
