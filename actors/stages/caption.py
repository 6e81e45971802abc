"""CaptionStage: writes a generated caption for the figure (and optionally table) pairs of each page."""

from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image

from actors.stages.base import Row, Stage
from ocr_models import registry
from ocr_models.base import Captioner
from ocr_models.lontar_errors import describe
from ocr_models.registry import TransformersCaptionOptions
from ocr_models.types import PageImage

log = logging.getLogger(__name__)


class CaptionStage(Stage):
    name = "caption"
    batch_size = 4  # pages; their figures are captioned together

    def __init__(self, options: TransformersCaptionOptions) -> None:
        self.options = options
        self.uses_gpu = registry.uses_gpu(options)
        self.captioner: Captioner | None = None

    def setup(self) -> None:
        self.captioner = registry.make(self.options)

    def process(self, rows: list[Row]) -> list[Row]:
        if self.captioner is None:
            self.setup()
        assert self.captioner is not None
        targets = [pair for row in rows if row.get("status") == "ok" for pair in row.get("pairs") or ()
                   if pair["kind"] in self.options.kinds]
        if not targets:
            return rows
        try:
            captions = self.captioner.caption([decode(pair["image"]) for pair in targets])
        except Exception as exc:  # the pages stay good; their pairs say why they have no generated caption
            log.warning("captioning %d images failed: %s", len(targets), exc)
            for pair in targets:
                pair["caption_error"] = describe(exc)
            return rows
        for pair, caption in zip(targets, captions, strict=True):
            pair.update(generated_caption=caption, caption_model=self.captioner.model_id)
            if pair.get("text") is None and caption:
                pair.update(text=caption, alignment={"method": "generated", "score": None})
        return rows

    def teardown(self) -> None:
        if self.captioner is not None:
            self.captioner.close()


def decode(data: bytes) -> PageImage:
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
    return PageImage(np.asarray(rgb), int(image.info.get("dpi", (300, 300))[0]))
