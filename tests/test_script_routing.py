"""Automatic script routing: each page's script is decided from the page alone, in bounded work, and the page
read with that script's model, no hints given.

The baseline is Tesseract told the right language by hand (the `tesseract` CLI, `-l <lang>`), on the same
page images: the pipeline must be close to it, and far better than English-only.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from actors.ocr import OcrStage
from flows.dataset.metrics import cer
from flows.synth.text import png_bytes, render_page
from ocr_models.scripts import BY_CODE, LANGUAGE_SCRIPT, SCRIPTS, canonical_text, script_for_osd_label
from ocr_models.tesseract.engine import TesseractEngine, TesseractOptions
from ocr_models.tesseract.evidence import purity_weighted
from ocr_models.tesseract.tesserocr_api import LineText
from ocr_models.types import PageImage

# language -> the most CER automatic routing may show on a generated scan-like page
REQUIRED = {"eng": 0.02, "hin": 0.03, "ben": 0.05, "tam": 0.03, "tha": 0.03, "khm": 0.05, "mya": 0.08, "vie": 0.02}


@pytest.fixture(scope="module")
def engine() -> TesseractEngine:
    engine = TesseractEngine()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def stage() -> OcrStage:
    stage = OcrStage(TesseractOptions(), list(BY_CODE), {})
    stage.setup()
    yield stage
    stage.teardown()


def read(stage: OcrStage, image: Image.Image | np.ndarray, name: str = "page.png", dpi: int | None = 300) -> dict:
    """The OCR stage's row for one page image, read with no hint."""
    pixels = image if isinstance(image, np.ndarray) else np.asarray(image)
    row = {"page_id": name, "source_uri": name, "page_index": 0, "status": "ok",
           "image": png_bytes(Image.fromarray(pixels)), "dpi": dpi}
    return stage.process([row])[0]


def steps(row: dict) -> Counter:
    return Counter({step["step"]: step["calls"] for step in row["ocr_steps"]})


def tesseract_by_hand(image_path: Path, lang: str) -> str:
    result = subprocess.run(["tesseract", str(image_path), "-", "-l", lang], capture_output=True, text=True,
                            env={**os.environ, "OMP_THREAD_LIMIT": "1"}, check=True)
    return result.stdout


@pytest.mark.parametrize("lang", sorted(REQUIRED))
def test_page_is_routed_to_its_script_and_read_as_well_as_by_hand(stage, lang, tmp_path):
    page = render_page(lang, seed=101, skew_degrees=0.8)
    row = read(stage, page.image)
    assert row["script"] == page.script, f"{lang}: detected {row['script']} ({row['script_method']})"
    path = tmp_path / "page.png"
    page.image.save(path, dpi=(300, 300))
    auto_cer, by_hand_cer = cer(page.text, row["text"]), cer(page.text, tesseract_by_hand(path, lang))
    assert auto_cer <= REQUIRED[lang], f"{lang}: CER {auto_cer:.3f}"
    assert auto_cer <= by_hand_cer + 0.02, f"{lang}: auto {auto_cer:.3f} vs by hand {by_hand_cer:.3f}"
    assert 0.5 < row["ocr_confidence"] <= 1.0
    assert row["lines"] and all(0 <= line["confidence"] <= 1 for line in row["lines"])


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


def test_a_page_reads_the_same_alone_and_after_any_other_pages():
    """Nothing carries over from one page to the next: the same bytes give the same row in any order."""
    pages = {lang: render_page(lang, seed=105, skew_degrees=0.5).image for lang in ("tam", "tha", "kan")}
    fields = ("text", "script", "script_method", "ocr_confidence", "lines", "regions")
    rows = []
    for order in (["kan"], ["tam", "tha", "kan"], ["tha", "tam", "kan"]):
        fresh = OcrStage(TesseractOptions(), list(BY_CODE), {})
        rows.append([read(fresh, pages[lang], f"{lang}.png") for lang in order][-1])
        fresh.teardown()
    assert all({f: r[f] for f in fields} == {f: rows[0][f] for f in fields} for r in rows[1:])


def test_trials_decide_when_osd_names_no_candidate_and_their_work_is_bounded(stage):
    """OSD names no script on this Gurmukhi page: one round of trials (every candidate's model on the same two
    lines) decides, and the page is read once more with the winner; a page of noise, which nothing reads,
    ends with a low confidence after at most two rounds, never a cascade."""
    row = read(stage, render_page("pan", seed=106).image)
    assert (row["script"], row["script_method"]) == ("Guru", "trial")
    assert steps(row)["trial"] <= len(SCRIPTS) + 4 and steps(row)["read"] <= 2
    noise = np.random.default_rng(0).integers(0, 256, (1200, 900), dtype=np.uint8)
    junk = read(stage, noise, "noise.png")
    assert junk["status"] == "ok" and junk["ocr_confidence"] < 0.6
    assert steps(junk)["trial"] <= 2 * len(SCRIPTS) + 8 and steps(junk)["read"] <= 3


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


def test_osd_calling_a_latin_page_cyrillic_proposes_latin():
    assert script_for_osd_label("Cyrillic") is BY_CODE["Latn"]


def test_a_reading_of_digits_and_brackets_does_not_count_as_the_script():
    junk = LineText("၉၂၆088 [၂၀၀ [၂၉၀၈၂၉ (၂၂ ၉ပ၀08876)1[၅56/[ »_61[61[6", 94.6)  # Myanmar model on Tamil
    real = LineText("மொழி மிகவும் பழமையான மொழிகளில் ஒன்று.", 99.5)
    assert purity_weighted(junk, BY_CODE["Mymr"]) < 0.5 * junk.confidence
    assert purity_weighted(real, BY_CODE["Taml"]) == pytest.approx(real.confidence)


@pytest.mark.parametrize(("lang", "degrees"), [("hin", 180), ("mal", 180), ("tam", 90), ("eng", 270), ("ben", 90),
                                               ("ori", 180), ("khm", 270)])
def test_a_page_scanned_turned_is_read_turned_back_even_where_osd_is_unsure(stage, lang, degrees):
    """OSD finds some of these orientations with confidence 4-8 and calls others wrong or not at all (Odia
    "Thai" and turned 270, Khmer "Latin"): a page whose lines run top to bottom is judged both quarter ways,
    one whose best trial is poor is tried upside down too."""
    from flows.synth.eval_set import render_text_page
    from ocr_models.geometry.boxes import rotate

    image, text = render_text_page(lang, 1, seed=7)
    turned = rotate(PageImage(np.asarray(image), 300), 360 - degrees)  # scanned turned: detection turns it back
    row = read(stage, turned.pixels)
    assert row["script"] == LANGUAGE_SCRIPT[lang].code
    assert cer(text, row["text"]) < 0.08  # Odia: 0.05 as printed too


def test_malayalam_chillus_are_stored_as_atomic_letters():
    # the pre-5.1 sequence (consonant, virama, ZWJ), as Tesseract writes it
    assert canonical_text("\u0d15\u0d42\u0d33\u0d4d\u200d") == "\u0d15\u0d42\u0d7e"
    assert canonical_text("\u0d32\u0d4d") == "\u0d32\u0d4d"  # a visible virama is not a chillu
    assert cer("കൂൾ", "കൂള്\u200d") == 0


def test_an_upright_page_osd_calls_upside_down_stays_upright(stage):
    """OSD calls these Myanmar pages Arabic and upside down with orientation confidence 11-14: Arabic's model
    reads garbage either way, which proves no turn."""
    from flows.synth.eval_set import degrade, render_text_page

    image, text = render_text_page("mya", 2, seed=30)  # the benchmark set's mya-01-2col-noise.png
    noisy, _ = degrade(image, "noise", 30, image)
    row = read(stage, noisy)
    assert row["script"] == "Mymr" and cer(text, row["text"]) < 0.1


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


def test_a_latin_page_is_read_with_english_first_and_again_only_when_it_is_not_named_english(stage):
    """`tesseract.try_first`: `eng` reads English faster than `eng+vie` (and real receipts better); a page whose
    English reading language identification does not name English is read again with the script's model, so
    Vietnamese keeps its diacritics. A hint decides the model alone."""
    english = read(stage, render_page("eng", seed=111).image)
    assert english["lang"] == "eng" and steps(english)["read"] == 1
    page = render_page("vie", seed=111)
    vietnamese = read(stage, page.image)
    assert vietnamese["lang"] == "eng+vie" and steps(vietnamese)["read"] == 2
    assert cer(page.text, vietnamese["text"]) <= REQUIRED["vie"]
    hinted = OcrStage(TesseractOptions(), ["Latn"], {"Latn": ["eng", "vie"]})
    try:
        row = read(hinted, render_page("eng", seed=111).image)
    finally:
        hinted.teardown()
    assert row["lang"] == "eng+vie" and steps(row)["read"] == 1
