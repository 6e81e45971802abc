"""Reading one page image through the real OCR stage, as the routing tests do."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import numpy as np
from PIL import Image

from actors.stages.ocr import OcrStage
from flows.synth.text import png_bytes
from ocr_models.registry import NoScriptIdOptions
from ocr_models.scripts import BY_CODE
from ocr_models.tesseract.engine import TesseractOptions

# language -> the most CER automatic routing may show on a generated scan-like page
REQUIRED = {"eng": 0.02, "hin": 0.03, "ben": 0.05, "tam": 0.03, "tha": 0.03, "khm": 0.05, "mya": 0.08, "vie": 0.02}


def read(stage: OcrStage, image: Image.Image | np.ndarray, name: str = "page.png", dpi: int | None = 300) -> dict:
    """The OCR stage's row for one page image, read with no hint."""
    pixels = image if isinstance(image, np.ndarray) else np.asarray(image)
    row = {"page_id": name, "source_uri": name, "page_index": 0, "status": "ok",
           "image": png_bytes(Image.fromarray(pixels)), "dpi": dpi}
    return stage.process([row])[0]


def steps(row: dict) -> Counter:
    """How many calls the page's reading made of each OCR step."""
    return Counter({step["step"]: step["calls"] for step in row["ocr_steps"]})


def all_scripts_stage() -> Iterator[OcrStage]:
    """An OCR stage set up for every script Lontar knows, given no hint, OSD proposing each page's script (the
    trained identifier's proposals have tests of their own; a module-scoped fixture)."""
    stage = OcrStage(TesseractOptions(), list(BY_CODE), {}, script_id=NoScriptIdOptions())
    stage.setup()
    yield stage
    stage.teardown()


def default_stage() -> Iterator[OcrStage]:
    """What `lontar run` reads with: every script, the trained identifier proposing when it is sure, OSD
    otherwise (a module-scoped fixture)."""
    stage = OcrStage(TesseractOptions(), list(BY_CODE), {})
    stage.setup()
    yield stage
    stage.teardown()
