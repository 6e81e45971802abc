"""The OCR engines Lontar builds, by the type of their options: adding an engine is one module in ocr_models/
and one entry here. The OCR stage asks for an engine through `make_engine` and speaks to it only through the
contracts of ocr_models/base.py."""

from __future__ import annotations

from ocr_models.base import OcrEngine
from ocr_models.tesseract.engine import TesseractEngine, TesseractOptions

OcrOptions = TesseractOptions
ENGINES: dict[type, type[OcrEngine]] = {TesseractOptions: TesseractEngine}


def make_engine(options: OcrOptions) -> OcrEngine:
    """A new engine for `options` (one per worker: it loads its models lazily)."""
    return ENGINES[type(options)](options)
