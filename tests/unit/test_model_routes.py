"""Routing scripts to transformers models (`ocr.routes`): a route sends only its script's regions to its model,
in the recognize stage's own actor pool; the guards refuse a model's looping, blank, empty, overlong or
wrong-script reading and keep Tesseract's, saying so; every region and page says which engine read it; the
default config runs no recognizer. The models are tiny ones built on the spot (tests/support/tiny_models.py)
and loaded through the same Auto classes a real model folder would be. The whole run is in
tests/e2e/test_model_routes.py."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from actors.reading.model_guards import loops, refusal
from actors.stages.recognize import RecognizeStage
from actors.store.records import batch_table
from configs.model import OcrOptions, PairOptions, RunConfig, load_config
from flows.run.preflight import check_models
from flows.run.stages import build_stages
from ocr_models.lontar_errors import MissingDependencyError, UsageError
from ocr_models.types import PageImage
from tests.support.tiny_models import route_models

TAMIL_BOX, LATIN_BOX, BLANK_BOX = (50, 50, 950, 300), (50, 400, 950, 480), (50, 550, 950, 650)
TAMIL_LINES = [((60, 60, 940, 120), "அவன் வந்தான்"), ((60, 150, 940, 210), "ஓலைச் சுவடி")]
LATIN_LINE = ((60, 410, 940, 470), "Figure 1. A palm-leaf manuscript")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return route_models(tmp_path_factory.mktemp("readers"))


def page_image(blank_region: bool = False) -> bytes:
    """A white page with ink where the lines are (and none in BLANK_BOX)."""
    image = Image.new("L", (1000, 700), 255)
    draw = ImageDraw.Draw(image)
    for (x0, y0, x1, y1), _ in [*TAMIL_LINES, LATIN_LINE]:
        for x in range(x0, x1 - 20, 40):
            draw.rectangle((x, y0 + 10, x + 25, y1 - 10), fill=20)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(300, 300))
    return buffer.getvalue()


def region(kind, box, order, lines, script):
    return {"kind": kind, "bbox": list(box), "score": 0.9, "reading_order": order,
            "text": "\n".join(text for _, text in lines) if lines else None, "script": script if lines else None,
            "lang": {"Taml": "tam", "Latn": "eng+vie"}.get(script) if lines else None, "confidence": 0.9 if lines
            else None, "engine": "tesseract" if lines else None, "model": "tam" if lines else None, "guard": None}


def read_page(*, blank_tamil_lines: bool = False) -> dict:
    """A page as the OCR stage leaves it: Tamil body text, an English caption, read by Tesseract."""
    tamil = [(box, text) for box, text in TAMIL_LINES]
    box = BLANK_BOX if blank_tamil_lines else TAMIL_BOX
    if blank_tamil_lines:  # lines Tesseract "read" where the page has no ink
        tamil = [((60, 560, 940, 600), "அவன்"), ((60, 605, 940, 640), "வந்தான்")]
    lines = [*tamil, LATIN_LINE]
    return {"page_id": "p1", "status": "ok", "text_source": "ocr", "image": page_image(), "image_format": "png",
            "dpi": 300, "rotation": 0, "script": "Taml", "lang": "tam", "ocr_confidence": 0.9,
            "text": "\n".join(text for _, text in lines), "engine": "tesseract",
            "lines": [{"text": text, "bbox": list(b), "confidence": 0.9, "words": []} for b, text in lines],
            "regions": [region("text", box, 0, tamil, "Taml"), region("caption", LATIN_BOX, 1, [LATIN_LINE], "Latn"),
                        region("figure", (50, 660, 950, 700), None, [], None)],
            "read_by": [{"engine": "tesseract", "model": "tam", "regions": 2}], "pairs": []}


def stage(route: dict, **guards) -> RecognizeStage:
    return RecognizeStage(OcrOptions(routes={"Taml": route}, **guards))


def by_kind(row: dict) -> dict:
    return {r["kind"]: r for r in row["regions"]}


def test_a_route_sends_only_its_scripts_regions_to_a_page_model(models):
    row = stage({"engine": "transformers", "kind": "page", "model": str(models["tamil"]),
                 "max_new_tokens": 2}).process([read_page()])[0]
    tamil, caption = by_kind(row)["text"], by_kind(row)["caption"]
    assert tamil["text"] == "தமிழ் தமிழ்" and tamil["engine"] == "transformers" and tamil["guard"] is None
    assert tamil["model"].startswith(f"{models['tamil']}@") and len(tamil["model"].rsplit("@")[1]) == 12
    assert caption["text"] == LATIN_LINE[1] and caption["engine"] == "tesseract"
    assert row["text"] == f"தமிழ் தமிழ்\n{LATIN_LINE[1]}"
    assert [(r["engine"], r["regions"]) for r in row["read_by"]] == [("transformers", 1), ("tesseract", 1)]
    # the model read one line where Tesseract found two: its line has the region's box and makes no line pair
    assert [line["bbox"] for line in row["lines"]] == [list(TAMIL_BOX), list(LATIN_LINE[0])]
    assert [pair["text"] for pair in row["pairs"] if pair["kind"] == "line"] == [LATIN_LINE[1]]


def test_a_chat_vlm_reads_a_region_through_its_chat_template_and_prompt(models):
    """A decoder-only VLM (LLaVA's architecture, as page OCR models are): the prompt goes in as the user's turn
    with the image, and what it wrote comes back without the prompt."""
    row = stage({"engine": "transformers", "kind": "page", "model": str(models["tamil-chat"]),
                 "prompt": "read the {script} text", "max_new_tokens": 2}).process([read_page()])[0]
    tamil = by_kind(row)["text"]
    assert tamil["text"] == "தமிழ் தமிழ்" and tamil["engine"] == "transformers" and tamil["guard"] is None


def test_a_line_model_reads_each_line_tesseract_found_on_its_box(models):
    row = stage({"engine": "transformers", "kind": "line", "model": str(models["tamil-line"]),
                 "max_new_tokens": 1}).process([read_page()])[0]
    assert by_kind(row)["text"]["text"] == "தமிழ்\nதமிழ்"
    assert [line["bbox"] for line in row["lines"]] == [list(b) for b, _ in [*TAMIL_LINES, LATIN_LINE]]
    assert [(pair["text"], pair["lang"]) for pair in row["pairs"] if pair["kind"] == "line"] == [
        ("தமிழ்", None), ("தமிழ்", None), (LATIN_LINE[1], "eng+vie")]


def test_crops_the_ocr_stage_cut_are_not_encoded_again(models, monkeypatch):
    import actors.reading.pairs
    from actors.reading.page_text import read_regions

    page = read_page()
    read, _ = read_regions(page)
    page["pairs"] = actors.reading.pairs.make_pairs(page, Image.open(io.BytesIO(page["image"])), read, PairOptions())
    encoded = []
    monkeypatch.setattr(actors.reading.pairs, "encode", lambda *args: encoded.append(args) or (b"", 0, 0))
    row = stage({"engine": "transformers", "kind": "line", "model": str(models["tamil-line"]),
                 "max_new_tokens": 1}).process([page])[0]
    assert [(p["kind"], p["text"]) for p in row["pairs"]] == [
        ("figure", LATIN_LINE[1]), ("line", "தமிழ்"), ("line", "தமிழ்"), ("line", LATIN_LINE[1])]
    assert encoded == []
    assert [p["image"] for p in row["pairs"]] == [p["image"] for p in page["pairs"]]


@pytest.mark.parametrize(("model", "tokens", "guards", "page", "refused"), [
    ("tamil", 12, {}, {}, "repetition"),
    ("thai", 1, {}, {}, "wrong_script"),
    ("tamil", 3, {"guard_chars_per_line_height": 0.01}, {}, "too_long"),
    ("tamil", 1, {}, {"blank_tamil_lines": True}, "blank"),
])
def test_a_guard_refuses_the_models_reading_and_tesseracts_stands(models, model, tokens, guards, page, refused):
    before = read_page(**page)
    row = stage({"engine": "transformers", "kind": "page", "model": str(models[model]), "max_new_tokens": tokens},
                **guards).process([read_page(**page)])[0]
    tamil = by_kind(row)["text"]
    assert tamil["guard"] == refused and tamil["engine"] == "tesseract"
    assert tamil["text"] == by_kind(before)["text"]["text"] and row["text"] == before["text"]
    assert row["read_by"] == [{"engine": "tesseract", "model": "tam", "regions": 2}]


def test_a_model_that_fails_leaves_the_page_as_tesseract_read_it(models):
    routed = stage({"engine": "transformers", "kind": "page", "model": str(models["tamil"])})
    routed.setup()
    next(iter(routed.recognizers.values()))._model = None  # broken after loading, as an out-of-memory GPU would
    row = routed.process([read_page()])[0]
    assert row["status"] == "ok" and by_kind(row)["text"]["guard"] == "model_error"
    assert row["text"] == read_page()["text"]


def test_a_page_the_stage_cannot_decode_keeps_tesseracts_reading(models):
    routed = stage({"engine": "transformers", "kind": "page", "model": str(models["tamil"])})
    row = routed.process([dict(read_page(), image=b"not an image")])[0]
    assert row["status"] == "ok" and row["text"] == read_page()["text"]
    assert [r["guard"] for r in row["regions"]] == ["model_error", None, None]


def test_a_loop_is_more_repetition_than_the_page_itself_has():
    assert loops("தமிழ் " * 10, "அவன் வந்தான்", 4)
    assert not loops("no no no no", "no no no no", 4)  # printed so: Tesseract reads it too
    assert not loops("Contents ............ 12", "", 4)  # dot leaders are not letters


def test_a_reading_of_digits_is_judged_too():
    inked = PageImage(np.asarray(Image.open(io.BytesIO(page_image())).crop(TAMIL_BOX)), 300)
    boxes = [box for box, _ in TAMIL_LINES]
    judge = OcrOptions()
    assert refusal("", "35", [inked], boxes, "Taml", judge) == "empty"  # the page number would be lost
    assert refusal("", "", [inked], boxes, "Taml", judge) is None
    assert refusal("35", "35", [inked], boxes, "Taml", judge) is None
    assert refusal("1 " * 12, "12", [inked], boxes, "Taml", judge) == "repetition"  # a loop of digits


def test_pages_without_a_routed_script_pass_through_undecoded(models):
    routed = stage({"engine": "transformers", "kind": "page", "model": str(models["tamil"])})
    thai = dict(read_page(), regions=[dict(r, script="Thai" if r["script"] else None) for r in read_page()["regions"]])
    assert not routed.wants(batch_table([thai, dict(thai, status="error", text_source=None)]))
    assert routed.wants(batch_table([thai, read_page()]))
    everything = RecognizeStage(OcrOptions(routes={"default": {"engine": "transformers", "kind": "page",
                                                               "model": str(models["tamil"])},
                                                   "Latn": {"engine": "tesseract"}}))
    assert everything.wants(batch_table([thai])) and everything.route("Latn") is None


def test_routes_are_keyed_by_script_codes_and_the_default_route_reads_nothing_again():
    with pytest.raises(UsageError, match=r"unknown script.*Tam"):
        load_config(None, **{"ocr.routes": {"Tam": {"engine": "tesseract"}}})
    with pytest.raises(UsageError, match="kind"):
        load_config(None, **{"ocr.routes": {"Taml": {"engine": "transformers", "model": "x"}}})
    assert RunConfig().ocr.model_routes() == {}
    assert RunConfig().config_hash() == RunConfig(ocr={"guard_repeats": 9}).config_hash()  # no route: no change


def test_a_missing_model_is_a_usage_error_before_any_work(tmp_path):
    config = load_config(None, **{"ocr.routes": {"Taml": {"engine": "transformers", "kind": "line",
                                                          "model": str(tmp_path / "no-such-model")}}})
    with pytest.raises(UsageError, match=r"cannot load recognizer model config .*no-such-model.*: no such folder"):
        check_models(config)


def test_a_processor_missing_an_optional_package_says_which():
    from ocr_models import hf_loading

    class NeedsTorchvision:  # what AutoProcessor raises for a Qwen2-VL folder without torchvision installed
        @staticmethod
        def from_pretrained(*args, **kwargs):
            raise AttributeError("type object 'VIDEO_PROCESSOR_MAPPING' has no attribute '_extra_content'")

    with pytest.raises(MissingDependencyError, match=r"needs a package this environment lacks.*torchvision"):
        hf_loading.load(NeedsTorchvision, "/models/olmOCR", "recognizer processor")


def test_the_recognizer_pool_asks_for_gpus_only_on_a_cluster_that_has_them():
    routed = load_config(None, **{"ocr.routes": {"Taml": {"engine": "transformers", "kind": "page", "model": "m"}},
                                  "layout": {"kind": "none"}})
    assert [s.name for s in build_stages(RunConfig(), {"CPU": 4})[1]] == ["layout", "ocr"]
    cpu_only = {s.name: s for s in build_stages(routed, {"CPU": 4})[1]}
    assert list(cpu_only) == ["ocr", "recognize"]
    assert cpu_only["recognize"].num_gpus == 0 and cpu_only["recognize"].num_cpus == 0.5
    gpus = {s.name: s for s in build_stages(routed, {"CPU": 4, "GPU": 2})[1]}
    assert gpus["recognize"].num_gpus == 1.0 and gpus["recognize"].max_actors == 1
    assert gpus["ocr"].num_gpus == 0
