"""Layout and OCR together on generated pages with figures, captions and tables in several scripts: figures
are paired with their own printed caption, mixed-script pages are routed region by region, line pairs carry
the right text. (Stages without Ray; the pages are read once for all the tests here.)"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from actors.stages.layout import LayoutStage
from actors.stages.ocr import OcrStage
from actors.store.records import BATCH_SCHEMA, batch_table
from flows.dataset.metrics import cer
from flows.synth.layouts import LayoutPage, layout_page
from flows.synth.text import png_bytes
from ocr_models.geometry.boxes import iou
from ocr_models.layout.rapid import RapidLayoutOptions
from ocr_models.scripts import BY_CODE, LANGUAGE_SCRIPT
from ocr_models.tesseract.engine import TesseractOptions

PAGES = {"eng-2col": dict(lang="eng", columns=2), "hin-2col-table": dict(lang="hin", columns=2, table=True),
         "tam-2col": dict(lang="tam", columns=2), "tha-eng-caption": dict(lang="tha", columns=1, caption_lang="eng"),
         "ben-2col": dict(lang="ben", columns=2)}


@pytest.fixture(scope="module")
def read_pages() -> dict[str, tuple[LayoutPage, dict]]:
    layout, ocr = LayoutStage(RapidLayoutOptions()), OcrStage(TesseractOptions(), list(BY_CODE), {})
    out = {}
    for name, options in PAGES.items():
        page = layout_page(seed=11, **options)
        row = {"page_id": name, "source_uri": name, "page_index": 0, "status": "ok", "image": png_bytes(page.image),
               "image_format": "png", "dpi": 300}
        out[name] = (page, ocr.process(layout.process([row]))[0])
    ocr.teardown()
    return out


def test_figures_and_tables_are_paired_with_their_own_printed_caption(read_pages):
    drawn = paired = 0
    for page, row in read_pages.values():
        assert row["status"] == "ok" and row["layout_model"].startswith("rapid-layout")
        pictures = [p for p in row["pairs"] if p["kind"] in ("figure", "table")]
        for block in page.of_kind("figure", "table"):
            drawn += 1
            mine = [p for p in pictures if p["kind"] == block.kind and iou(p["bbox"], block.bbox) >= 0.5]
            paired += bool(mine) and mine[0]["printed_caption"] is not None and \
                cer(block.caption, mine[0]["printed_caption"]) <= 0.15
        captions = [p["printed_caption"] for p in pictures if p["printed_caption"]]
        assert len(captions) == len(set(captions)), "one caption was given to two figures"
    assert drawn == 10 and paired >= 9  # measured: 10/10


def test_a_mixed_script_page_is_read_region_by_region(read_pages):
    _, hindi = read_pages["hin-2col-table"]
    by_kind = {}
    for region in hindi["regions"]:
        by_kind.setdefault(region["kind"], set()).add(region["script"])
    assert by_kind["table"] == {"Latn"} and "Deva" in by_kind["text"] and hindi["script"] == "Deva"
    assert "1931" in hindi["text"] and "भारत" in hindi["text"]
    _, thai = read_pages["tha-eng-caption"]
    caption = next(p for p in thai["pairs"] if p["kind"] == "figure")
    assert caption["script"] == "Latn" and caption["printed_caption"].startswith("Figure 1.")
    assert thai["script"] == "Thai" and "ภาษาไทย" in thai["text"]


def test_page_text_follows_the_reading_order_and_matches_the_page(read_pages):
    for name, (page, row) in read_pages.items():
        truth = "\n".join(b.text for b in page.blocks if b.text)
        assert cer(truth, row["text"]) < 0.06, name
        order = [r["reading_order"] for r in row["regions"] if r["reading_order"] is not None]
        assert sorted(order) == list(range(len(order)))
        assert all(r["reading_order"] is None for r in row["regions"] if r["kind"] == "figure")


def test_line_pairs_carry_the_text_of_their_line(read_pages):
    """Every kept line has its letters right; a few have spaces wrong (Tesseract puts spaces between Thai
    syllables in large type, e.g. the 18-point title)."""
    exact = total = 0
    for name, (page, row) in read_pages.items():
        lines = [p for p in row["pairs"] if p["kind"] == "line"]
        truth_lines = [line for b in page.blocks if b.text for line in b.text.split("\n")]
        assert len(lines) >= 0.8 * len(truth_lines), name
        for pair in lines:
            assert pair["alignment"] == {"method": "ocr", "score": pair["ocr_confidence"]}
            assert pair["ocr_confidence"] >= 0.8
            letters = min(cer(t.replace(" ", ""), pair["text"].replace(" ", "")) for t in truth_lines)
            assert letters <= 0.1, (name, pair["text"])
            exact += min(cer(t, pair["text"]) for t in truth_lines) <= 0.1
            total += 1
            with Image.open(io.BytesIO(pair["image"])) as crop:
                assert crop.size == (pair["width"], pair["height"]) and crop.format == "PNG"
        scripts = {p["script"] for p in lines}
        assert LANGUAGE_SCRIPT[PAGES[name]["lang"]].code in scripts
    assert exact >= 0.95 * total, f"{exact}/{total} lines with their spaces right"


def test_read_pages_fit_the_batch_schema(read_pages):
    table = batch_table([row for _, row in read_pages.values()])
    assert table.schema == BATCH_SCHEMA and table.num_rows == len(PAGES)
