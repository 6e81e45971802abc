"""Automatic script routing, part by part: each page's script is decided from the page alone, in bounded work,
and the page read with that script's model, no hints given. Whole pages against the `tesseract` CLI told the
language by hand are in tests/e2e/test_script_routing.py."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from actors.reading.script_policy import disputed
from actors.stages.ocr import OcrStage
from flows.dataset.metrics import cer
from flows.synth.layouts import layout_page
from flows.synth.text import png_bytes, render_page
from ocr_models.language_id import LanguageGuess
from ocr_models.scripts import (
    BY_CODE,
    LANGUAGE_SCRIPT,
    SCRIPTS,
    canonical_text,
    dominant_script,
    script_for_osd_label,
)
from ocr_models.tesseract.engine import TesseractEngine, TesseractOptions
from ocr_models.tesseract.evidence import purity_weighted
from ocr_models.tesseract.tesserocr_api import LineText
from ocr_models.types import PageImage, ScriptEstimate
from tests.support.reading import REQUIRED, all_scripts_stage, read, steps
from tests.support.reading import default_stage as default_stage_for_every_script


@pytest.fixture(scope="module")
def engine() -> TesseractEngine:
    engine = TesseractEngine()
    yield engine
    engine.close()


stage = pytest.fixture(scope="module")(all_scripts_stage)  # OSD proposes
default_stage = pytest.fixture(scope="module")(default_stage_for_every_script)


def test_english_only_is_useless_on_indic_pages_which_is_why_routing_exists(engine):
    page = render_page("hin", seed=102)
    english = engine.recognize(PageImage(np.asarray(page.image), 300), BY_CODE["Latn"], ["eng"])
    assert cer(page.text, english.text) > 0.5


def test_hinted_languages_restrict_detection_and_choose_the_model():
    page = render_page("mar", seed=103)
    hinted = OcrStage(TesseractOptions(), ["Deva"], {"Deva": ["mar"]})
    row = read(hinted, page.image)
    hinted.teardown()
    assert (row["script"], row["script_method"], row["lang"]) == ("Deva", "hint", "mar")
    assert cer(page.text, row["text"]) < 0.05
    assert "osd" not in steps(row) and "trial" not in steps(row)  # one candidate: nothing to detect


def test_a_blank_page_has_no_script_and_no_text(engine):
    blank = PageImage(np.full((600, 900), 250, dtype=np.uint8), 300)
    assert engine.detect_script(blank, SCRIPTS).script is None
    assert engine.recognize(blank, BY_CODE["Latn"]).text == ""


def test_a_page_whose_reading_proves_osds_script_is_read_once_and_tried_on_nothing_else(stage):
    """OSD proposes; the page read whole with the proposal proves it (its words clear the floor under which
    the model reads other scripts): no trial line is read, and the page is read once."""
    row = read(stage, render_page("kan", seed=104).image)
    assert (row["script"], row["script_method"]) == ("Knda", "osd")
    assert steps(row)["osd"] == 1 and steps(row)["read"] == 1 and "trial" not in steps(row)


def test_a_reading_by_the_wrong_scripts_model_is_given_a_low_confidence_and_proves_nothing(engine):
    """Symbol confidences are 0.96-0.99 for the right and wrong models alike; word evidence is not."""
    image = PageImage(np.asarray(render_page("kan", seed=107).image), 300)
    right = engine.recognize(image, BY_CODE["Knda"])
    assert right.confidence > 0.9 and engine.proves(right, BY_CODE["Knda"])
    for wrong in ("Thai", "Telu", "Mymr"):
        reading = engine.recognize(image, BY_CODE[wrong])
        assert reading.confidence < 0.3 and not engine.proves(reading, BY_CODE[wrong]), wrong


def test_a_region_tried_in_another_script_costs_one_reading(engine):
    """A caption or table the page's model read poorly is tried in Latin with `read_once`: one reading with the
    first model, no re-reading as a block and no search for left-out lines, however badly it reads (a Sanskrit
    page's body tried in Latin cost three readings before); a second, with the script's own model, only when
    the first proves Latin but is not English (a Vietnamese caption)."""
    latin = BY_CODE["Latn"]
    for lang, model, readings in (("hin", "eng", 1), ("eng", "eng", 1), ("vie", "eng+vie", 2)):
        page = render_page(lang, seed=112)
        engine.steps.take()
        reading = engine.read_once(PageImage(np.asarray(page.image), 300), latin)
        taken = {step["step"]: step["calls"] for step in engine.steps.take()}
        assert taken == {"foreign": readings} and reading.model == model, lang
        if lang == "hin":
            assert not engine.proves(reading, latin)
        else:
            assert cer(page.text, reading.text) <= REQUIRED[lang], lang


@pytest.mark.parametrize(("named", "proves", "readings"), [
    (LanguageGuess("eng", 0.39), True, ["eng"]),  # a receipt: English, however unsurely
    (LanguageGuess("vie", 0.9), True, ["eng", "eng+vie"]),  # Vietnamese: its diacritics need eng+vie
    (LanguageGuess("eng", 0.9), False, ["eng", "eng+vie"]),  # proves nothing: eng+vie, before any trial
])
def test_a_latin_reading_by_english_alone_is_kept_when_it_proves_latin_and_english_is_its_likeliest_language(
        engine, monkeypatch, named, proves, readings):
    """`tesseract.try_first`: real receipts read by `eng` are named English at only 0.39-0.50, and reading them
    again with `eng+vie` cost a second reading for nothing."""
    class Named:
        def identify(self, text: str, script: str) -> LanguageGuess:
            return named

    monkeypatch.setattr("ocr_models.tesseract.engine.language_id", lambda: Named())
    monkeypatch.setattr(engine, "proves", lambda page, script: proves)
    read_with = []
    real_read = engine._read
    monkeypatch.setattr(engine, "_read", lambda image, model, *rest: read_with.append(model) or
                        real_read(image, model, *rest))
    page = engine.recognize(PageImage(np.asarray(render_page("eng", seed=105).image), 300), BY_CODE["Latn"])
    assert read_with[:2] == readings and page.model == readings[-1]


def test_osd_calling_a_latin_page_cyrillic_proposes_latin():
    assert script_for_osd_label("Cyrillic") is BY_CODE["Latn"]


def test_a_reading_of_digits_and_brackets_does_not_count_as_the_script():
    junk = LineText("၉၂၆088 [၂၀၀ [၂၉၀၈၂၉ (၂၂ ၉ပ၀08876)1[၅56/[ »_61[61[6", 94.6)  # Myanmar model on Tamil
    real = LineText("மொழி மிகவும் பழமையான மொழிகளில் ஒன்று.", 99.5)
    assert purity_weighted(junk, BY_CODE["Mymr"]) < 0.5 * junk.confidence
    assert purity_weighted(real, BY_CODE["Taml"]) == pytest.approx(real.confidence)


def test_malayalam_chillus_are_stored_as_atomic_letters():
    # the pre-5.1 sequence (consonant, virama, ZWJ), as Tesseract writes it
    assert canonical_text("\u0d15\u0d42\u0d33\u0d4d\u200d") == "\u0d15\u0d42\u0d7e"
    assert canonical_text("\u0d32\u0d4d") == "\u0d32\u0d4d"  # a visible virama is not a chillu
    assert cer("കൂൾ", "കൂള്\u200d") == 0


def test_a_page_whose_file_states_no_resolution_is_read_at_the_resolution_tesseract_estimates(stage):
    """An image without a DPI tag: Tesseract estimates the resolution from the text, as its CLI does (an
    assumed 300 read real scans that state none at CER 0.39 against 0.15); geometry still assumes 300."""
    page = render_page("eng", seed=108, dpi=200)
    row = read(stage, page.image, dpi=None)
    assert row["status"] == "ok" and row["script"] == "Latn" and cer(page.text, row["text"]) < 0.03


def test_two_columns_tesseract_runs_together_are_read_column_by_column(stage):
    """Tesseract takes the gutter of this two-column Thai page for a space and interleaves the columns (CER
    0.6): a line that covers two side-by-side text regions sends the page to be read region by region."""
    from flows.synth.eval_set import render_text_page

    image, text = render_text_page("tha", 2, seed=9)
    row = read(stage, np.asarray(image))
    assert row["script"] == "Thai" and cer(text, row["text"]) < 0.05
    assert steps(row)["read"] >= 3  # the page, then each of its columns


def test_a_line_tesseract_leaves_out_is_found_in_the_ink_and_read(engine):
    """Tesseract's page reading drops this Bengali page's last line whole (it reads it in halves, not at once);
    the ink shows five lines, the missing one is read on its own, halved until it reads."""
    from flows.synth.eval_set import render_text_page
    from ocr_models.geometry.ink import ink_bands

    image, text = render_text_page("ben", 1, seed=900)
    page = PageImage(np.asarray(image), 300)
    assert len(ink_bands(page)) == len(text.splitlines()) == 5
    result = engine.recognize(page, BY_CODE["Beng"])
    assert len(result.lines) == 5 and cer(text, result.text) < 0.02
    assert text.splitlines()[-1] in result.text


def test_a_blank_or_faint_crop_has_no_lines_of_ink():
    from ocr_models.geometry.ink import ink_bands

    assert ink_bands(PageImage(np.full((300, 900), 255, np.uint8), 300)) == []
    assert ink_bands(PageImage(np.full((300, 900), 230, np.uint8), 300)) == []


def test_the_lines_of_a_page_photographed_on_a_dark_ground_are_found():
    """A receipt photographed on a table: the dark ground beside the paper, inked in every row, ran all its
    lines together; a column dark nearly from top to bottom is ground or a rule, not a line's ink."""
    from flows.synth.eval_set import render_text_page
    from ocr_models.geometry.ink import ink_bands

    image, text = render_text_page("ben", 1, seed=900)
    paper = np.asarray(image)
    photo = np.full((paper.shape[0], paper.shape[1] + 400), 30, np.uint8)
    photo[:, 200:200 + paper.shape[1]] = paper
    assert len(ink_bands(PageImage(photo, 300))) == len(text.splitlines()) == 5


def test_lines_that_run_top_to_bottom_are_told_from_skewed_or_upright_lines():
    from flows.synth.eval_set import degrade, render_text_page
    from ocr_models.geometry.boxes import rotate
    from ocr_models.geometry.ink import lines_run_vertically

    image, _ = render_text_page("tam", 2, seed=3)
    upright = PageImage(np.asarray(image), 300)
    assert not lines_run_vertically(upright)
    assert lines_run_vertically(rotate(upright, 90)) and lines_run_vertically(rotate(upright, 270))
    assert not lines_run_vertically(rotate(upright, 180))
    skewed, _ = degrade(image, "skew", 3, image)
    assert not lines_run_vertically(PageImage(np.asarray(skewed), 300))


class SureIdentifier:
    """An identifier that names every page `script` with `confidence` (the policy's input, fixed)."""

    def __init__(self, script: str | None, confidence: float, **seen) -> None:
        self.estimate = ScriptEstimate(script, confidence, windows=seen.pop("windows", 12), **seen)
        self.propose_above = 0.9

    def page(self, image, boxes=None):
        return self.estimate


@pytest.mark.parametrize("seen, osd_runs", [
    ({"script": "Knda", "confidence": 0.95}, False),  # sure: its script reads first, OSD never runs
    ({"script": "Knda", "confidence": 0.6}, True),  # unsure: OSD proposes as before
    ({"script": "Knda", "confidence": 0.95, "windows": 2}, True),  # a heading's worth of windows: too few
    ({"script": "Knda", "confidence": 0.95, "upside_down": 0.9}, True),  # OSD turns the page
    ({"script": "Knda", "confidence": 0.95, "sideways": True}, True),
    ({"script": None, "confidence": 0.0}, True),  # no text seen
])
def test_the_identifier_proposes_when_it_is_sure_of_an_upright_page_and_osd_otherwise(stage, seen, osd_runs):
    stage.identifier = SureIdentifier(**seen)
    try:
        row = read(stage, render_page("kan", seed=104).image)
    finally:
        stage.identifier = None
    assert row["script"] == "Knda" and steps(row)["read"] == 1 and "trial" not in steps(row)
    assert ("osd" in steps(row)) is osd_runs and steps(row)["script_id"] == 1
    assert row["script_method"] == ("osd" if osd_runs else "classifier")


def test_a_sure_identifier_that_the_reading_does_not_prove_is_overturned_by_trials_and_the_page_flagged(stage):
    """The reading must prove the identifier's script: a Kannada page proposed as Telugu (its confusable
    neighbour) is read in Telugu, proves nothing, and the trials name it Kannada. One of the two is wrong, so
    the page's confidence says so (a reading is never confident in a script the identifier is sure it is not)."""
    stage.identifier = SureIdentifier("Telu", 0.99)
    try:
        row = read(stage, render_page("kan", seed=104).image)
    finally:
        stage.identifier = None
    assert row["script"] == "Knda" and "trial" in steps(row) and "osd" not in steps(row)
    assert cer(render_page("kan", seed=104).text, row["text"]) < 0.05
    assert row["ocr_confidence"] <= 0.25 < read(stage, render_page("kan", seed=104).image)["ocr_confidence"]


@pytest.mark.parametrize("seen, capped", [
    (ScriptEstimate("Latn", 0.9, {"Latn": 0.9, "Laoo": 0.02}, windows=12), True),  # sure of another script
    (ScriptEstimate("Latn", 0.35, {"Latn": 0.35, "Laoo": 0.02}, windows=12), True),  # unsure, but no Lao seen
    (ScriptEstimate("Latn", 0.35, {"Latn": 0.35, "Laoo": 0.3}, windows=12), False),  # neighbours mixed up
    (ScriptEstimate("Latn", 0.35, {"Latn": 0.35}, windows=2), False),  # two windows say little
    (ScriptEstimate("Latn", 0.35, {"Latn": 0.35}, upside_down=0.9, windows=12), False),  # upside down
    (ScriptEstimate("Laoo", 0.35, {"Laoo": 0.35}, windows=12), False),  # it agrees
    (ScriptEstimate(None, 0.0), False),  # it saw no text
])
def test_a_page_read_in_a_script_the_identifier_did_not_see_is_never_confident(seen, capped):
    """An English table that the trials read as Lao was confident (0.99); where the identifier named another
    script from enough windows, surely or not, and saw almost none of the one the page was read in, one of the
    two is wrong and the page's `ocr_confidence` is capped."""
    identifier = SureIdentifier(seen.script, seen.confidence)
    identifier.propose_above = 0.5
    assert disputed(seen, identifier, "Laoo") is capped


def page_with_caption(body_lang: str, caption_lang: str, caption: str) -> dict:
    """A page's row: body text in one script, a caption under it in another, both found by the layout."""
    body = render_page(body_lang, seed=5)
    under = render_page(caption_lang, seed=6, lines=(caption,), size_inches=(7.0, 0.8))
    pixels, height = np.vstack([np.asarray(body.image), np.asarray(under.image)]), body.image.height
    regions = [{"kind": "text", "bbox": [100, 80, 2000, height - 40], "score": 0.9},
               {"kind": "caption", "bbox": [100, height + 60, 2000, height + 200], "score": 0.9}]
    return {"page_id": "p", "source_uri": "p", "page_index": 0, "status": "ok", "dpi": 300, "regions": regions,
            "image": png_bytes(Image.fromarray(pixels))}


CAPTIONS = [("eng", "hin", "चित्र 3: वर्ष के अनुसार धान की खेती का क्षेत्र"),
            ("eng", "ben", "চিত্র ৩: বছর অনুযায়ী ধান চাষের এলাকা"),
            ("eng", "tam", "படம் 3: ஆண்டு வாரியாக நெல் சாகுபடி பரப்பு"),
            ("tam", "eng", "Figure 3: Rice cultivation area by year")]


@pytest.mark.parametrize("body_lang, caption_lang, caption", CAPTIONS)
def test_a_caption_in_another_script_than_its_page_is_read_in_its_own(default_stage, body_lang, caption_lang,
                                                                       caption):
    """The page's model reads the caption poorly; the identifier names the caption's script on its lines and
    that script's model reads it again (Latin too on other scripts' pages, as before the identifier)."""
    row = default_stage.process([page_with_caption(body_lang, caption_lang, caption)])[0]
    read_caption = next(region for region in row["regions"] if region["kind"] == "caption")
    assert row["script"] == LANGUAGE_SCRIPT[body_lang].code
    assert read_caption["script"] == LANGUAGE_SCRIPT[caption_lang].code
    assert cer(caption, canonical_text(read_caption["text"])) < 0.05 and caption.split()[-1] in row["text"]
    assert steps(row)["foreign"] == 1


def test_without_the_identifier_a_caption_on_a_latin_page_stays_in_latin(stage):
    """What the identifier adds: OSD's page (`ocr.script_id: {kind: none}`) tries other scripts only in Latin."""
    row = stage.process([page_with_caption("eng", "hin", CAPTIONS[0][2])])[0]
    assert next(region for region in row["regions"] if region["kind"] == "caption")["script"] == "Latn"


def with_drawn_layout(page) -> dict:
    """A row of a drawn page with its drawn blocks as the layout's regions, captions found as text regions (as
    the layout model finds captions with a garbled label)."""
    kinds = {"figure": "figure", "title": "title", "text": "text", "figure_caption": "text"}
    return {"page_id": "p", "source_uri": "p", "page_index": 0, "status": "ok", "dpi": 300,
            "image": png_bytes(page.image),
            "regions": [{"kind": kinds[b.kind], "bbox": list(b.bbox), "score": 0.9} for b in page.blocks]}


@pytest.mark.parametrize("lang", ["ben", "hin", "tam", "khm", "tel"])
def test_a_caption_with_an_english_label_keeps_its_label_and_its_figure(default_stage, lang):
    """"Figure 1: একটি ...": Bengali's model reads the label as "70012 1:", which names no figure; the caption
    is read again with its script's model and Latin's together, and the figure gets its caption. Khmer's model
    with Latin's reads the label and turns the Khmer words into Latin: there the label goes before the Khmer
    words that Khmer's model read. Telugu's with Latin's reads "Figure 1;": the label's words are read once more
    by Latin's alone. The layout model finds such a caption as a text region; so does this page's."""
    page = layout_page(lang, columns=2, mixed_captions=True, seed=0)
    read = default_stage.process([with_drawn_layout(page)])[0]
    captions = sorted(p["printed_caption"] or "" for p in read["pairs"] if p["kind"] == "figure")
    printed = sorted(b.text for b in page.of_kind("figure_caption"))
    assert [c.split(":")[0] for c in captions] == ["Figure 1", "Figure 2"]
    assert all(cer(want, canonical_text(got)) < 0.1 for want, got in zip(printed, captions, strict=True))
    assert read["script"] == LANGUAGE_SCRIPT[lang].code


@pytest.mark.parametrize("lang", ["tam", "kan", "tel"])
def test_an_english_sentence_in_a_paragraph_of_another_script_is_read_in_latin(default_stage, lang):
    """The page's model turns an English line of a Tamil paragraph into Tamil-looking garbage with a low
    confidence (Telugu's into digits, "0౧ 116 ౧106660060", which its confidence rates 0.66: under half of it
    is letters); the identifier sees no Tamil in it, and the line alone is read again in the script it names.
    The paragraph's other lines keep the page's script."""
    page = layout_page(lang, columns=2, english_lines=True, seed=0)
    read = default_stage.process([with_drawn_layout(page)])[0]
    english = [line for b in page.of_kind("text") for line in b.text.splitlines()
               if dominant_script(line)[0] == "Latn"]
    assert len(english) == 2
    for line in english:
        assert min(cer(line, got["text"]) for got in read["lines"]) < 0.05
    assert read["script"] == LANGUAGE_SCRIPT[lang].code and steps(read)["foreign"] == 2
    paragraphs = [r for r in read["regions"] if r["text"] and "The archive" in r["text"]]
    assert paragraphs and all(r["script"] == LANGUAGE_SCRIPT[lang].code for r in paragraphs)


def test_body_lines_are_not_looked_at_on_a_page_the_identifier_could_not_name(default_stage, monkeypatch):
    """On paper the identifier cannot name (a receipt's dot-matrix print) its word on one line is worth
    nothing: OSD proposes the page, and no body line is read in another script."""
    page = layout_page("tam", columns=2, english_lines=True, seed=0)
    seen = default_stage.identifier.page
    monkeypatch.setattr(default_stage.identifier, "page", lambda *args, **kwargs: replace(
        seen(*args, **kwargs), confidence=0.2))
    read = default_stage.process([with_drawn_layout(page)])[0]
    assert read["script"] == "Taml" and steps(read)["osd"] == 1 and steps(read)["foreign"] == 0
