"""A layout detector over any transformers object-detection model (DETR, RT-DETR, ...) and its processor.

For clusters with GPUs and real document-layout weights. The model's labels are mapped onto Lontar's region
kinds; a label with no kind is an error at load time, never a silently dropped region.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ocr_models import hf_loading as hf
from ocr_models.lontar_errors import EngineError, UsageError
from ocr_models.types import REGION_KINDS, PageImage, Region

# Label names of the common layout datasets (DocLayNet, PubLayNet, CDLA), normalised by `_norm`.
DEFAULT_LABEL_MAP = {
    "text": "text", "paragraph": "text", "plain_text": "text", "title": "title", "section_header": "title",
    "list": "list", "list_item": "list", "caption": "caption", "figure_caption": "figure_caption",
    "table_caption": "table_caption", "figure": "figure", "picture": "figure", "image": "figure",
    "table": "table", "page_header": "header", "header": "header", "page_footer": "footer", "footer": "footer",
    "footnote": "reference", "reference": "reference", "formula": "equation", "equation": "equation",
}


def _norm(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


class TransformersLayoutOptions(BaseModel):
    """Options of the transformers layout detector."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["transformers"] = "transformers"
    model: str = Field(description="Local folder or Hugging Face hub id (already in the cache) of an "
                                   "object-detection model with its image processor.")
    label_map: dict[str, str] = Field(
        default_factory=dict, description="Model label -> region kind, for labels the built-in map "
                                          "(DocLayNet, PubLayNet, CDLA names) does not know.")
    min_score: float = Field(0.5, ge=0, le=1, description="Detections scored below this are ignored.")
    device: hf.Device = Field("auto", description="auto = the GPU when the worker has one, else CPU.")


def label_kinds(id2label: dict[int, str], options: TransformersLayoutOptions) -> dict[int, str]:
    """Model class id -> region kind; UsageError naming any label that maps to no kind."""
    mapping = {**DEFAULT_LABEL_MAP, **{_norm(k): v for k, v in options.label_map.items()}}
    bad = sorted(set(mapping.values()) - set(REGION_KINDS))
    if bad:
        raise UsageError(f"layout.label_map names unknown region kind(s) {', '.join(bad)}; "
                         f"kinds: {', '.join(REGION_KINDS)}")
    unmapped = sorted(label for label in id2label.values() if _norm(label) not in mapping)
    if unmapped:
        raise UsageError(f"layout model {options.model!r} has label(s) {', '.join(unmapped)} with no "
                         "region kind; map them in layout.label_map")
    return {int(i): mapping[_norm(label)] for i, label in id2label.items()}


def check_options(options: TransformersLayoutOptions) -> None:
    """Before any work fans out: the model's config loads offline and each of its labels has a kind."""
    hf.import_torch()
    from transformers import AutoConfig

    label_kinds(hf.load(AutoConfig, options.model, "layout model config").id2label, options)


class TransformersLayoutDetector:
    """`LayoutDetector` over `AutoModelForObjectDetection` + `AutoImageProcessor`."""

    uses_gpu = True

    def __init__(self, options: TransformersLayoutOptions) -> None:
        self.options = options
        torch = hf.import_torch()
        from transformers import AutoImageProcessor, AutoModelForObjectDetection

        self._torch = torch
        self._processor, self._model, self.device = hf.load_model(
            AutoModelForObjectDetection, AutoImageProcessor, options.model, "layout", options.device)
        self._kinds = label_kinds(self._model.config.id2label, options)
        self.model_id = options.model

    def detect(self, image: PageImage) -> list[Region]:
        try:
            inputs = self._processor(images=[hf.rgb(image)], return_tensors="pt").to(self.device)
            with self._torch.inference_mode():
                outputs = self._model(**inputs)
            found = self._processor.post_process_object_detection(
                outputs, threshold=self.options.min_score, target_sizes=[(image.height, image.width)])[0]
        except Exception as exc:
            raise EngineError(f"layout detection failed: {exc}") from exc
        regions = []
        for box, label, score in zip(found["boxes"].tolist(), found["labels"].tolist(), found["scores"].tolist(),
                                     strict=True):
            x0, y0, x1, y1 = (round(v) for v in box)
            regions.append(Region(self._kinds[int(label)], (x0, y0, x1, y1), round(float(score), 4)))
        return regions

    def close(self) -> None:
        self._model = None
