"""ScriptIdentifier: the script of text lines, regions and pages by a small trained model (no Tesseract).

The model (script_id.onnx beside this module, trained by `make train-script-id`, card in docs/script-id.md)
classifies windows of a line (windows.py) into the script table's scripts or NONE, and says whether a window is
upside down. A page or region is named by pooling its lines' windows, each weighted by how surely it holds
text; a page needs a dozen windows at most, taken from its widest lines.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ocr_models.geometry.ink import ink_bands, lines_run_vertically
from ocr_models.lontar_errors import MissingDependencyError
from ocr_models.script_id.labels import CLASSES, NONE
from ocr_models.script_id.windows import HEIGHT, WIDTH, normalised, windows
from ocr_models.types import BBox, PageImage, ScriptEstimate

MODEL = Path(__file__).with_name("script_id.onnx")
WINDOWS_PER_PAGE = 12
WINDOWS_PER_LINE = 2
WORKING_DPI = 150  # pages are looked at no finer than this: a line of body text stays 25-40 pixels tall


class ScriptIdOptions(BaseModel):
    """The trained script identifier (`ocr.script_id`): it names each page's script before any reading."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["trained"] = "trained"
    model: str | None = Field(None, description="ONNX model file; default: the one shipped with Lontar "
                                                "(docs/script-id.md).")
    propose_above: float = Field(
        0.5, ge=0, le=1, description="Pooled probability from which the identifier's script is the page's first "
                                     "reading; below it, Tesseract's OSD proposes as before. The reading must "
                                     "still prove the script, else trials decide.")


class NoScriptIdOptions(BaseModel):
    """No trained identifier: Tesseract's OSD proposes each page's script (`ocr.script_id: {kind: none}`)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["none"] = "none"


class ScriptIdentifier:
    """The trained script identifier, loaded once per process; one CPU thread (the stages run one per core)."""

    uses_gpu = False  # a dozen windows a page: milliseconds on a core

    def __init__(self, options: ScriptIdOptions | None = None) -> None:
        self.options = options or ScriptIdOptions()
        path = Path(self.options.model) if self.options.model else MODEL
        try:
            import onnxruntime
        except ImportError as error:  # pragma: no cover (a dependency of Lontar)
            raise MissingDependencyError("the script identifier needs onnxruntime (pip install onnxruntime)") from error
        if not path.is_file():
            raise MissingDependencyError(f"script identification model {path} is missing (make train-script-id)")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = self._session.get_modelmeta().custom_metadata_map
        classes = tuple(json.loads(meta.get("classes", "[]")))
        if classes != CLASSES or (int(meta["height"]), int(meta["width"])) != (HEIGHT, WIDTH):
            raise MissingDependencyError(f"script identification model {path} was trained for other classes or "
                                         f"window sizes ({classes}); retrain it with make train-script-id")
        self.card = json.loads(meta.get("card", "{}"))
        self.model_id = f"script-id-{path.stem}"

    @property
    def propose_above(self) -> float:
        return self.options.propose_above

    def classify(self, batch: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(class probabilities (n, len(CLASSES)), probability each window is upside down (n,))."""
        if not batch:
            return np.zeros((0, len(CLASSES)), np.float32), np.zeros(0, np.float32)
        script, turned = self._session.run(None, {"windows": np.stack(batch)[:, None].astype(np.float32)})
        return _softmax(script), _softmax(turned)[:, 1]

    def lines(self, image: PageImage, boxes: list[BBox]) -> list[ScriptEstimate]:
        """Each line's script, from up to WINDOWS_PER_LINE windows of it."""
        grey = image.pixels  # colour crops are made grey by `normalised`
        cut = [windows(ink, WINDOWS_PER_LINE) if (ink := normalised(grey[y0:y1, x0:x1])) is not None else []
               for x0, y0, x1, y1 in boxes]
        probs, turned = self.classify([w for ws in cut for w in ws])
        out, at = [], 0
        for ws in cut:
            out.append(_pooled(probs[at:at + len(ws)], turned[at:at + len(ws)]))
            at += len(ws)
        return out

    def page(self, image: PageImage, boxes: list[BBox] | None = None) -> ScriptEstimate:
        """The script of a page or region: windows of its widest lines (`boxes`, else the bands of ink found at
        WORKING_DPI), WINDOWS_PER_PAGE at most, pooled."""
        sideways = False
        if boxes is None:
            image = _working(image)
            boxes, sideways = ink_bands(image), lines_run_vertically(image)
        grey = image.pixels  # colour crops are made grey by `normalised`
        batch: list[np.ndarray] = []
        for x0, y0, x1, y1 in sorted(boxes, key=lambda b: b[0] - b[2]):
            ink = normalised(grey[y0:y1, x0:x1])
            if ink is not None:
                batch.extend(windows(ink, WINDOWS_PER_LINE))
            if len(batch) >= WINDOWS_PER_PAGE:
                break
        return replace(_pooled(*self.classify(batch[:WINDOWS_PER_PAGE])), sideways=sideways)


def check_options(options: ScriptIdOptions) -> None:
    """Preflight: the model loads and was trained for this Lontar's classes."""
    ScriptIdentifier(options)


def _pooled(probs: np.ndarray, turned: np.ndarray) -> ScriptEstimate:
    """Windows' probabilities pooled, each weighted by its probability of holding text; NONE when none does."""
    if len(probs) == 0:
        return ScriptEstimate(None, 0.0)
    weight = 1.0 - probs[:, CLASSES.index(NONE)]
    if weight.sum() < 0.5:
        return ScriptEstimate(None, 0.0, windows=0)
    scripts = probs[:, :-1] * weight[:, None]
    shares = scripts.sum(axis=0) / weight.sum()
    best = int(shares.argmax())
    return ScriptEstimate(CLASSES[best], round(float(shares[best]), 4),
                          {code: round(float(s), 4) for code, s in zip(CLASSES[:-1], shares, strict=True) if s >= 0.01},
                          round(float((turned * weight).sum() / weight.sum()), 4), int((weight >= 0.5).sum()))


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _working(image: PageImage) -> PageImage:
    """The image at no finer than WORKING_DPI (every n-th pixel: cheap, and enough for lines of text)."""
    step = max(1, image.dpi // WORKING_DPI)
    if step == 1:
        return image
    return PageImage(np.ascontiguousarray(image.pixels[::step, ::step]), image.dpi // step, image.dpi_stated)
