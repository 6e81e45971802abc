"""Caption generation with any transformers image-text-to-text model (BLIP, Florence, SmolVLM, Qwen-VL, ...).

Off by default: no captioning weights ship offline. Configured by a local folder or a cached hub id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ocr_models import hf_loading as hf
from ocr_models.lontar_errors import EngineError
from ocr_models.types import PageImage


class TransformersCaptionOptions(BaseModel):
    """Options of the transformers captioner."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["transformers"] = "transformers"
    model: str = Field(description="Local folder or Hugging Face hub id (already in the cache) of an "
                                   "image-text-to-text model with its processor.")
    prompt: str | None = Field(None, description="Text prompt (chat models get it as the user's turn); "
                                                 "none for captioners that take only an image.")
    max_new_tokens: int = Field(48, ge=1, le=1024, description="Longest caption, in tokens.")
    batch_size: int = Field(8, ge=1, description="Images captioned in one forward pass.")
    kinds: list[Literal["figure", "table"]] = Field(["figure"], description="Pair kinds that get a caption.")
    device: hf.Device = Field("auto", description="auto = the GPU when the worker has one, else CPU.")


def check_options(options: TransformersCaptionOptions) -> None:
    """Before any work fans out: the model's config loads offline."""
    hf.import_torch()
    from transformers import AutoConfig

    hf.load(AutoConfig, options.model, "caption model config")


class TransformersCaptioner:
    """`Captioner` over `AutoModelForImageTextToText` + `AutoProcessor`."""

    uses_gpu = True

    def __init__(self, options: TransformersCaptionOptions) -> None:
        self.options = options
        hf.import_torch()
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self._processor, self._model, self.device = hf.load_model(
            AutoModelForImageTextToText, AutoProcessor, options.model, "caption", options.device)
        self.model_id = options.model

    def caption(self, images: Sequence[PageImage]) -> list[str]:
        captions: list[str] = []
        size = self.options.batch_size
        for start in range(0, len(images), size):
            captions += self._caption_batch(images[start:start + size])
        return captions

    def _caption_batch(self, images: Sequence[PageImage]) -> list[str]:
        try:
            said = hf.generate(self._processor, self._model, self.device, images, self.options.prompt,
                               self.options.max_new_tokens)
        except EngineError as exc:
            raise EngineError(f"caption {exc}") from exc
        return [" ".join(text.split()) for text, _ in said]

    def close(self) -> None:
        self._model = None

