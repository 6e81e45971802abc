"""The OCR engines Lontar builds, by the type of their options: adding an engine is one module in ocr_models/
and one entry here. The OCR stage asks for its engine through `make_engine`, the recognize stage for the
recognizers of the config's routes through `make_recognizer`; both speak to them only through the contracts
of ocr_models/base.py. `ROUTE_OPTIONS` is what `ocr.routes` in the config accepts, told apart by `engine`."""

from __future__ import annotations

from ocr_models.base import CropRecognizer, OcrEngine
from ocr_models.recognition.transformers import TransformersRecognizer, TransformersRecognizerOptions
from ocr_models.tesseract.engine import TesseractEngine, TesseractOptions, TesseractRouteOptions

OcrOptions = TesseractOptions
ENGINES: dict[type, type[OcrEngine]] = {TesseractOptions: TesseractEngine}
RECOGNIZERS: dict[type, type[CropRecognizer]] = {TransformersRecognizerOptions: TransformersRecognizer}
# A route to Tesseract has no recognizer of its own: the OCR stage's engine reads it.
ROUTE_OPTIONS = (TesseractRouteOptions, *RECOGNIZERS)


def make_engine(options: OcrOptions) -> OcrEngine:
    """A new engine for `options` (one per worker: it loads its models lazily)."""
    return ENGINES[type(options)](options)


def make_recognizer(options: object) -> CropRecognizer:
    """A recognizer for a route's options, its model loaded (one per worker)."""
    return RECOGNIZERS[type(options)](options)


def check_recognizer(options: object) -> None:
    """Before any work fans out: the route's model can be loaded (a UsageError saying why not)."""
    RECOGNIZERS[type(options)].check(options)
