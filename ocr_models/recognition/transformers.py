"""A recognizer over any transformers image-to-text model: a page VLM (olmOCR, Chandra, dots.ocr, Typhoon OCR,
Qwen-VL, ...) reading region crops, or a line model (the TrOCR family, any VisionEncoderDecoderModel) reading
the line crops Lontar found. Both load through `AutoModelForImageTextToText` + `AutoProcessor`, from a local
folder or a hub id already in the Hugging Face cache: never a download.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ocr_models import hf_loading as hf
from ocr_models.scripts import Script, canonical_text
from ocr_models.steps import READ, Steps
from ocr_models.types import OcrLine, OcrPage, PageImage


class TransformersRecognizerOptions(BaseModel):
    """Read the route's scripts with a transformers model (a page VLM or a line model)."""

    model_config = ConfigDict(extra="forbid")

    engine: Literal["transformers"] = "transformers"
    kind: Literal["page", "line"] = Field(
        description="page: an image-text-to-text model (a VLM) reads each text region's crop; line: a line "
                    "model (VisionEncoderDecoder, TrOCR family) reads each text line's crop.")
    model: str = Field(description="Local folder or Hugging Face hub id (already in the cache) of the model and "
                                   "its processor.")
    prompt: str | None = Field(
        None, description="Text prompt for page models (given as the user's turn when the processor has a chat "
                          "template); `{script}` is replaced by the script's name. None for models that take "
                          "only an image (line models).")
    max_new_tokens: int = Field(512, ge=1, le=8192, description="Longest reading of one crop, in tokens.")
    batch_size: int = Field(8, ge=1, description="Crops read in one forward pass (from several pages).")
    device: hf.Device = Field("auto", description="auto = the GPU when the worker has one, else CPU.")


def check_options(options: TransformersRecognizerOptions) -> None:
    """Before any work fans out: the model's config and processor load offline."""
    hf.import_torch()
    from transformers import AutoConfig, AutoProcessor

    hf.load(AutoConfig, options.model, "recognizer model config")
    hf.load(AutoProcessor, options.model, "recognizer processor")


class TransformersRecognizer:
    """`CropRecognizer` over `AutoModelForImageTextToText` + `AutoProcessor`."""

    name = "transformers"
    uses_gpu = True

    def __init__(self, options: TransformersRecognizerOptions) -> None:
        self.options = options
        self.unit: Literal["region", "line"] = "line" if options.kind == "line" else "region"
        self.steps = Steps()
        hf.import_torch()
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self._processor, self._model, self.device = hf.load_model(
            AutoModelForImageTextToText, AutoProcessor, options.model, "recognizer", options.device)
        self._revision = hf.revision(options.model)
        self.model_id = f"{options.model}@{self._revision}"

    def version(self) -> str:
        return self._revision

    def read(self, crops: Sequence[PageImage], script: Script) -> list[OcrPage]:
        prompt = self.options.prompt.replace("{script}", script.name) if self.options.prompt else None
        pages: list[OcrPage] = []
        size = self.options.batch_size
        for start in range(0, len(crops), size):
            batch = crops[start:start + size]
            with self.steps.timed(READ):
                said = hf.generate(self._processor, self._model, self.device, batch, prompt,
                                   self.options.max_new_tokens)
            pages += [self._page(crop, text, confidence) for crop, (text, confidence) in zip(batch, said,
                                                                                             strict=True)]
        return pages

    def _page(self, crop: PageImage, text: str, confidence: float) -> OcrPage:
        """A reading as lines in the crop's pixels: the model gives no positions, so each line has the crop's."""
        box = (0, 0, crop.width, crop.height)
        texts = [" ".join(line.split()) for line in canonical_text(text).splitlines()]
        if self.unit == "line":
            texts = [" ".join(texts)]
        lines = [OcrLine(line, box, round(confidence, 4)) for line in texts if line]
        return OcrPage("\n".join(line.text for line in lines), round(confidence, 4) if lines else 0.0,
                       self.model_id, lines)

    def close(self) -> None:
        self._model = None
