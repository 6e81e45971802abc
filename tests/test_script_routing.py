"""Automatic script routing: each page is detected and read with its script's model, no hints given.

The baseline is Tesseract told the right language by hand (the `tesseract` CLI, `-l <lang>`), on the same
page images: the pipeline must be close to it, and far better than English-only.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from flows.metrics import cer
from flows.samples import render_page
from ocr_models._tesserocr import LineText
from ocr_models.scripts import BY_CODE, LANGUAGE_SCRIPT, SCRIPTS, canonical_text
from ocr_models.tesseract import TesseractEngine, TesseractOptions, _purity_weighted
from ocr_models.types import PageImage

# language -> the most CER automatic routing may show on a generated scan-like page
REQUIRED = {"eng": 0.02, "hin": 0.03, "ben": 0.05, "tam": 0.03, "tha": 0.03, "khm": 0.05, "mya": 0.08, "vie": 0.02}


@pytest.fixture(scope="module")
def engine() -> TesseractEngine:
    engine = TesseractEngine()
    yield engine
    engine.close()


def tesseract_by_hand(image_path: Path, lang: str) -> str:
    result = subprocess.run(["tesseract", str(image_path), "-", "-l", lang], capture_output=True, text=True,
                            env={**os.environ, "OMP_THREAD_LIMIT": "1"}, check=True)
    return result.stdout


@pytest.mark.parametrize("lang", sorted(REQUIRED))
def test_page_is_routed_to_its_script_and_read_as_well_as_by_hand(engine, lang, tmp_path):
    page = render_page(lang, seed=101, skew_degrees=0.8)
    image = PageImage(np.asarray(page.image), 300)

    guess = engine.detect_script(image, SCRIPTS)
    assert guess.script == page.script, f"{lang}: detected {guess.script} ({guess.method})"

    result = engine.recognize(image, BY_CODE[guess.script])
    auto_cer = cer(page.text, result.text)
    page.image.save(tmp_path / "page.png", dpi=(300, 300))
    by_hand_cer = cer(page.text, tesseract_by_hand(tmp_path / "page.png", lang))

    assert auto_cer <= REQUIRED[lang], f"{lang}: CER {auto_cer:.3f}"
    assert auto_cer <= by_hand_cer + 0.02, f"{lang}: auto {auto_cer:.3f} vs by hand {by_hand_cer:.3f}"
    assert 0.5 < result.confidence <= 1.0
    assert result.lines and all(0 <= line.confidence <= 1 for line in result.lines)


def test_english_only_is_useless_on_indic_pages_which_is_why_routing_exists(engine):
    page = render_page("hin", seed=102)
    english = engine.recognize(PageImage(np.asarray(page.image), 300), BY_CODE["Latn"])
    assert cer(page.text, english.text) > 0.5


def test_hinted_languages_restrict_detection_and_choose_the_model(engine):
    page = render_page("mar", seed=103)
    image = PageImage(np.asarray(page.image), 300)
    assert engine.detect_script(image, [BY_CODE["Deva"]]).method == "hint"
    result = engine.recognize(image, BY_CODE["Deva"], ["mar"])
    assert result.model == "mar"
    assert cer(page.text, result.text) < 0.05


def test_a_blank_page_has_no_script_and_no_text(engine):
    blank = PageImage(np.full((600, 900), 250, dtype=np.uint8), 300)
    assert engine.detect_script(blank, SCRIPTS).script is None
    assert engine.recognize(blank, BY_CODE["Latn"]).text == ""


def test_recent_scripts_speed_up_detection_but_never_outvote_the_page():
    """The engine tries the scripts of its last pages first; a page of another script must still win.

    OSD proposals are switched off, so that the recent scripts alone propose (OSD's confidence drifts with
    what the engine read before, which once left this Tamil page to the Myanmar model).
    """
    engine = TesseractEngine(TesseractOptions(osd_min_confidence=1e9))
    sequence = ["khm", "mya", "tam", "tha", "lao", "hin", "guj", "tel", "kan"]  # each after a likely rival
    detected = []
    for lang in sequence:
        page = render_page(lang, seed=101, skew_degrees=0.8)
        detected.append(engine.detect_script(PageImage(np.asarray(page.image), 300), SCRIPTS).script)
    assert detected == [render_page(lang).script for lang in sequence]
    again = engine.detect_script(PageImage(np.asarray(render_page("kan", seed=299).image), 300), SCRIPTS)
    assert again.script == "Knda" and again.method == "recent"
    engine.close()


def test_a_run_of_pages_in_one_script_skips_osd_until_the_script_changes():
    """Archives run in one script for pages on end: the last page's script is tried first, and when its trial
    is accepted OSD (a third of detection's time) is not run. A page in another script still goes to OSD."""
    engine = TesseractEngine()
    osd_calls = []
    osd = engine._osd
    engine._osd = lambda image: osd_calls.append(1) or osd(image)  # the real OSD, counted
    guesses, osd_so_far = [], []
    for lang, seed in (("hin", 1), ("hin", 2), ("hin", 3), ("tha", 4)):
        page = render_page(lang, seed=seed, skew_degrees=0.5)
        guesses.append(engine.detect_script(PageImage(np.asarray(page.image), 300), SCRIPTS))
        osd_so_far.append(len(osd_calls))
    assert [g.script for g in guesses] == ["Deva", "Deva", "Deva", "Thai"]
    assert [g.method for g in guesses[1:3]] == ["recent", "recent"]
    assert osd_so_far == [1, 1, 1, 2]
    engine.close()


def test_a_reading_of_digits_and_brackets_does_not_count_as_the_script():
    junk = LineText("၉၂၆088 [၂၀၀ [၂၉၀၈၂၉ (၂၂ ၉ပ၀08876)1[၅56/[ »_61[61[6", 94.6)  # Myanmar model on Tamil
    real = LineText("மொழி மிகவும் பழமையான மொழிகளில் ஒன்று.", 99.5)
    assert _purity_weighted(junk, BY_CODE["Mymr"]) < 0.5 * junk.confidence
    assert _purity_weighted(real, BY_CODE["Taml"]) == pytest.approx(real.confidence)


@pytest.mark.parametrize(("lang", "degrees"), [("hin", 180), ("mal", 180), ("tam", 90), ("eng", 270), ("ben", 90),
                                               ("ori", 180), ("khm", 270)])
def test_a_page_scanned_turned_is_detected_turned_even_where_osd_is_unsure(lang, degrees):
    """OSD finds some of these orientations with confidence 4-8 and calls others wrong or not at all (Odia
    "Thai" and turned 270, Khmer "Latin"): a page whose lines run top to bottom is read both quarter ways, one
    that no script reads well enough as scanned is read upside down too."""
    from flows.eval_set import render_text_page
    from ocr_models.tesseract import rotate

    engine = TesseractEngine()
    image, text = render_text_page(lang, 1, seed=7)
    turned = rotate(PageImage(np.asarray(image), 300), 360 - degrees)  # scanned turned: detection turns it back
    guess = engine.detect_script(turned, SCRIPTS)
    assert (guess.script, guess.rotation) == (BY_CODE[LANGUAGE_SCRIPT[lang].code].code, degrees)
    upright = rotate(turned, guess.rotation)
    assert cer(text, engine.recognize(upright, BY_CODE[guess.script]).text) < 0.08  # Odia: 0.05 as printed too


def test_malayalam_chillus_are_stored_as_atomic_letters():
    # the pre-5.1 sequence (consonant, virama, ZWJ), as Tesseract writes it
    assert canonical_text("\u0d15\u0d42\u0d33\u0d4d\u200d") == "\u0d15\u0d42\u0d7e"
    assert canonical_text("\u0d32\u0d4d") == "\u0d32\u0d4d"  # a visible virama is not a chillu
    assert cer("കൂൾ", "കൂള്\u200d") == 0


def test_an_upright_page_osd_calls_upside_down_stays_upright():
    """OSD calls these Myanmar pages Arabic and upside down with orientation confidence 11-14."""
    from flows.eval_set import degrade, render_text_page

    image, _ = render_text_page("mya", 2, seed=30)  # the benchmark set's mya-01-2col-noise.png
    noisy, _ = degrade(image, "noise", 30, image)
    guess = TesseractEngine().detect_script(PageImage(np.asarray(noisy), 300), SCRIPTS)
    assert (guess.script, guess.rotation) == ("Mymr", 0)


def test_a_line_tesseract_leaves_out_is_found_in_the_ink_and_read(engine):
    """Tesseract's page reading drops this Bengali page's last line whole (it reads it in halves, not at once);
    the ink shows five lines, the missing one is read on its own, halved until it reads."""
    from flows.eval_set import render_text_page
    from ocr_models.regions import ink_bands

    image, text = render_text_page("ben", 1, seed=900)
    page = PageImage(np.asarray(image), 300)
    assert len(ink_bands(page)) == len(text.splitlines()) == 5
    result = engine.recognize(page, BY_CODE["Beng"])
    assert len(result.lines) == 5 and cer(text, result.text) < 0.02
    assert text.splitlines()[-1] in result.text


def test_a_blank_or_faint_crop_has_no_lines_of_ink():
    from ocr_models.regions import ink_bands

    assert ink_bands(PageImage(np.full((300, 900), 255, np.uint8), 300)) == []
    assert ink_bands(PageImage(np.full((300, 900), 230, np.uint8), 300)) == []


def test_lines_that_run_top_to_bottom_are_told_from_skewed_or_upright_lines():
    from flows.eval_set import degrade, render_text_page
    from ocr_models.regions import lines_run_vertically
    from ocr_models.tesseract import rotate

    image, _ = render_text_page("tam", 2, seed=3)
    upright = PageImage(np.asarray(image), 300)
    assert not lines_run_vertically(upright)
    assert lines_run_vertically(rotate(upright, 90)) and lines_run_vertically(rotate(upright, 270))
    assert not lines_run_vertically(rotate(upright, 180))
    skewed, _ = degrade(image, "skew", 3, image)
    assert not lines_run_vertically(PageImage(np.asarray(skewed), 300))
