"""Caption generation: a tiny BLIP loaded through AutoModelForImageTextToText writes every figure's caption,
records its model, and a failing captioner leaves the pages good and says why on each pair."""

from __future__ import annotations

import numpy as np
import pytest

from actors.reading.pairs import encode
from actors.stages.caption import CaptionStage
from ocr_models.captioning.transformers import TransformersCaptioner, TransformersCaptionOptions
from ocr_models.types import PageImage
from tests.support.tiny_models import tiny_captioner


@pytest.fixture(scope="module")
def captioner_dir(tmp_path_factory):
    return tiny_captioner(tmp_path_factory.mktemp("tiny-blip"))


def pair(kind: str, text: str | None = None) -> dict:
    from PIL import Image

    data, width, height = encode(Image.new("RGB", (120, 80), (200, 120, 40)), (0, 0, 120, 80), "png")
    return {"kind": kind, "image": data, "width": width, "height": height, "text": text,
            "alignment": {"method": "none", "score": None}}


def test_captions_come_in_batches_in_order_without_the_prompt(captioner_dir):
    options = TransformersCaptionOptions(model=str(captioner_dir), prompt="a figure of", max_new_tokens=4,
                                         batch_size=2)
    captioner = TransformersCaptioner(options)
    images = [PageImage(np.zeros((40, 60, 3), np.uint8), 300), PageImage(np.full((50, 50), 200, np.uint8), 300),
              PageImage(np.zeros((30, 90, 3), np.uint8), 300)]
    assert captioner.caption(images) == ["manuscript manuscript manuscript manuscript"] * 3


def test_the_stage_captions_figures_and_keeps_printed_captions_as_text(captioner_dir):
    stage = CaptionStage(TransformersCaptionOptions(model=str(captioner_dir), max_new_tokens=2))
    rows = [{"status": "ok", "pairs": [pair("figure"), pair("figure", "Figure 1. A map"), pair("line", "x"),
                                       pair("table")]},
            {"status": "error", "pairs": None}]
    out = stage.process(rows)
    figure, printed, line, table = out[0]["pairs"]
    assert figure["generated_caption"] == "manuscript manuscript" and figure["caption_model"] == str(captioner_dir)
    assert figure["text"] == "manuscript manuscript" and figure["alignment"]["method"] == "generated"
    assert printed["text"] == "Figure 1. A map" and printed["generated_caption"] == "manuscript manuscript"
    assert "generated_caption" not in line and "generated_caption" not in table  # kinds: [figure] by default


def test_a_failing_captioner_records_why_on_each_pair_and_keeps_the_page(captioner_dir):
    stage = CaptionStage(TransformersCaptionOptions(model=str(captioner_dir)))
    stage.setup()
    stage.captioner._model = None  # broken after loading, as an out-of-memory GPU would leave it
    rows = stage.process([{"status": "ok", "pairs": [pair("figure")]}])
    assert rows[0]["status"] == "ok"
    assert rows[0]["pairs"][0]["caption_error"].startswith("caption generation failed")
    assert rows[0]["pairs"][0].get("generated_caption") is None
