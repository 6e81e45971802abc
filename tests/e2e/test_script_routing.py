"""Automatic script routing on whole generated pages against Tesseract told the language by hand (the
`tesseract` CLI, `-l <lang>`, on the same page images), turned pages, and the bounds on the trials' work: the
pipeline must be close to the CLI and far better than English-only. The policy's parts, one by one, are in
tests/unit/test_script_routing.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from actors.stages.ocr import OcrStage
from flows.dataset.metrics import cer
from flows.synth.text import render_page
from ocr_models.scripts import BY_CODE, LANGUAGE_SCRIPT, SCRIPTS
from ocr_models.tesseract.engine import TesseractOptions
from ocr_models.types import PageImage
from tests.support.reading import REQUIRED, all_scripts_stage, read, steps
from tests.support.reading import default_stage as default_stage_for_every_script

stage = pytest.fixture(scope="module")(all_scripts_stage)  # OSD proposes
default_stage = pytest.fixture(scope="module")(default_stage_for_every_script)


def tesseract_by_hand(image_path: Path, lang: str) -> str:
    result = subprocess.run(["tesseract", str(image_path), "-", "-l", lang], capture_output=True, text=True,
                            env={**os.environ, "OMP_THREAD_LIMIT": "1"}, check=True)
    return result.stdout


@pytest.mark.parametrize("lang", sorted(REQUIRED))
def test_page_is_routed_to_its_script_and_read_as_well_as_by_hand(default_stage, lang, tmp_path):
    page = render_page(lang, seed=101, skew_degrees=0.8)
    row = read(default_stage, page.image)
    assert row["script"] == page.script, f"{lang}: detected {row['script']} ({row['script_method']})"
    path = tmp_path / "page.png"
    page.image.save(path, dpi=(300, 300))
    auto_cer, by_hand_cer = cer(page.text, row["text"]), cer(page.text, tesseract_by_hand(path, lang))
    assert auto_cer <= REQUIRED[lang], f"{lang}: CER {auto_cer:.3f}"
    assert auto_cer <= by_hand_cer + 0.02, f"{lang}: auto {auto_cer:.3f} vs by hand {by_hand_cer:.3f}"
    assert 0.5 < row["ocr_confidence"] <= 1.0
    assert row["lines"] and all(0 <= line["confidence"] <= 1 for line in row["lines"])


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


@pytest.mark.parametrize(("lang", "degrees"), [("hin", 180), ("mal", 180), ("tam", 90), ("eng", 270), ("ben", 90),
                                               ("ori", 180), ("khm", 270)])
def test_a_page_scanned_turned_is_read_turned_back_even_where_osd_is_unsure(default_stage, lang, degrees):
    """OSD finds some of these orientations with confidence 4-8 and calls others wrong or not at all (Odia
    "Thai" and turned 270, Khmer "Latin"): a page whose lines run top to bottom is judged both quarter ways,
    one whose best trial is poor is tried upside down too."""
    from flows.synth.eval_set import render_text_page
    from ocr_models.geometry.boxes import rotate

    image, text = render_text_page(lang, 1, seed=7)
    turned = rotate(PageImage(np.asarray(image), 300), 360 - degrees)  # scanned turned: detection turns it back
    row = read(default_stage, turned.pixels)
    assert row["script"] == LANGUAGE_SCRIPT[lang].code
    assert cer(text, row["text"]) < 0.08  # Odia: 0.05 as printed too


def test_an_upright_page_osd_calls_upside_down_stays_upright(stage):
    """OSD calls these Myanmar pages Arabic and upside down with orientation confidence 11-14: Arabic's model
    reads garbage either way, which proves no turn."""
    from flows.synth.eval_set import degrade, render_text_page

    image, text = render_text_page("mya", 2, seed=30)  # the benchmark set's mya-01-2col-noise.png
    noisy, _ = degrade(image, "noise", 30, image)
    row = read(stage, noisy)
    assert row["script"] == "Mymr" and cer(text, row["text"]) < 0.1


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
