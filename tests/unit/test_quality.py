"""The quality signals: what a clean page, OCR noise and an OCR loop score, in any script."""

from __future__ import annotations

import pytest

from actors.store.quality import repetition, signals

CLEAN = {
    "Deva": "पुरानी पांडुलिपियों का यह संग्रह अभिलेखागार में सुरक्षित है।",
    "Thai": "เอกสารโบราณเหล่านี้ถูกเก็บรักษาไว้ในหอจดหมายเหตุ",
    "Latn": "The palm-leaf manuscripts were catalogued in 1932 by the archive.",
}


@pytest.mark.parametrize("script", sorted(CLEAN))
def test_clean_text_is_pure_and_scores_no_noise_or_repetition(script):
    found = signals(CLEAN[script], script)
    assert found["text_chars"] == len("".join(CLEAN[script].split()))
    assert found["script_purity"] == 1.0 and found["garbage_score"] == 0.0 and found["repetition_score"] == 0.0


def test_purity_is_the_share_of_letters_in_the_rows_script():
    found = signals("abcd अबकड", "Latn")
    assert found["script_purity"] == pytest.approx(0.5, abs=0.01) and found["garbage_score"] == 0.0


def test_symbol_salad_mixed_script_words_and_letter_runs_are_noise_but_lone_punctuation_is_not():
    assert signals("word ,.'~| more", "Latn")["garbage_score"] == pytest.approx(5 / 13)
    assert signals("abअब", "Latn")["garbage_score"] == 1.0
    assert signals("ooooover", "Latn")["garbage_score"] == 1.0
    assert signals("है । - 42", "Deva")["garbage_score"] == 0.0


def test_an_ocr_loop_scores_high_repetition():
    assert signals("the same line " * 12, "Latn")["repetition_score"] > 0.8
    assert repetition("short") == 0.0


def test_no_text_has_zero_characters_and_no_scores():
    assert signals(None, "Zzzz") == {"text_chars": 0, "script_purity": None, "garbage_score": None,
                                     "repetition_score": None}
    assert signals("1932 1947", "Zzzz")["script_purity"] is None
