"""Text layers under `--text-layer auto`: a born-digital page's own text is used, with its lines and words,
unless the evidence says it is not the text the page shows — legacy Indic fonts typed in ASCII, private-use
code points, letters that are not what the glyphs draw — and then the page is read by OCR and says why."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest
from rapidfuzz.distance import Levenshtein

from actors.sources.documents import all_text_layers, open_document
from actors.sources.text_layer import reading_order
from actors.stages.ingest import IngestStage
from configs.model import IngestOptions
from flows.synth.legacy_fonts import legacy_font, legacy_pdf, legacy_text, private_use_pdf, text_pdf
from flows.synth.shaped_pdfs import SHAPED_TEXT, shaped_pdf
from flows.synth.text import FONT_DIR, SAMPLE_TEXT
from ocr_models.types import CONTROLS, OcrLine, OcrPage, OcrWord

HINDI = list(SAMPLE_TEXT["hin"]) * 3
TAMIL = list(SAMPLE_TEXT["tam"]) * 3
ENGLISH = list(SAMPLE_TEXT["eng"]) * 3


def first_page(data: bytes, options: IngestOptions | None = None):
    doc = open_document(data, "pdf", options or IngestOptions())
    try:
        return doc.page(0), all_text_layers(doc.text_layers(), doc.page_count)
    finally:
        doc.close()


def test_kruti_dev_encodes_hindi_as_legacy_fonts_do():
    assert legacy_text("भारत सरकार", "kruti_dev") == "Hkkjr ljdkj"
    assert legacy_text("हिंदी", "kruti_dev").startswith("fg")  # the i-sign is typed before its consonant


@pytest.mark.parametrize(("lines", "encoding"), [(HINDI, "kruti_dev"), (TAMIL, "bamini")])
def test_a_layer_in_a_legacy_font_is_not_used(lines, encoding):
    page, text_only = first_page(legacy_pdf(lines, encoding))
    assert page.text_layer is None and not text_only
    assert page.text_source_reason == "legacy_font"
    assert page.image_format == "png" and page.dpi == 300  # rendered for OCR, like a page without a layer


def test_a_layer_of_private_use_code_points_is_not_used():
    page, text_only = first_page(private_use_pdf(HINDI))
    assert page.text_layer is None and not text_only
    assert page.text_source_reason == "private_use"


def test_latin_letters_over_devanagari_glyphs_are_caught_by_reading_the_page_whatever_the_fonts_name():
    unnamed = text_pdf([legacy_text(line, "kruti_dev") for line in HINDI], legacy_font("kruti_dev"), "F1")
    page, _ = first_page(unnamed, IngestOptions(legacy_fonts="^$"))  # no font name matches
    assert page.text_layer is None and page.text_source_reason == "glyph_mismatch"


def test_ordinary_layers_are_used_with_their_lines_and_words():
    english, text_only = first_page(text_pdf(ENGLISH))
    assert english.text_source_reason == "text_layer" and text_only
    assert english.text_layer.startswith("The archive holds letters")
    first = english.text_lines[0]
    assert first.text == "The archive holds letters, ledgers and maps"
    assert [w.text for w in first.words] == first.text.split()
    # boxes in the stored image's pixels (A4 at 96 dpi: 794 x 1123), left to right, inside the line's box
    assert all(0 <= w.bbox[0] < w.bbox[2] <= 794 and 0 <= w.bbox[1] < w.bbox[3] <= 1123 for w in first.words)
    assert [w.bbox[0] for w in first.words] == sorted(w.bbox[0] for w in first.words)
    assert first.bbox == (first.words[0].bbox[0], min(w.bbox[1] for w in first.words), first.words[-1].bbox[2],
                          max(w.bbox[3] for w in first.words))
    hindi, _ = first_page(text_pdf(HINDI, (FONT_DIR / "NotoSansDevanagari-Regular.ttf").read_bytes()))
    assert hindi.text_source_reason == "text_layer" and hindi.text_layer.startswith("भारत एक विशाल")


@pytest.mark.parametrize("mode", ["prefer", "ignore"])
def test_the_modes_say_so(mode):
    page, _ = first_page(legacy_pdf(HINDI, "kruti_dev"), IngestOptions(text_layer=mode))
    assert page.text_source_reason == {"prefer": "text_layer_preferred", "ignore": "text_layer_ignored"}[mode]
    assert (page.text_layer is not None) is (mode == "prefer")


def test_ingest_rows_carry_the_reason_lines_and_words(tmp_path: Path):
    paths = {"legacy.pdf": legacy_pdf(HINDI, "kruti_dev"), "english.pdf": text_pdf(ENGLISH)}
    rows = []
    for name, data in paths.items():
        (tmp_path / name).write_bytes(data)
        rows += IngestStage(IngestOptions()).read_task({
            "url": str(tmp_path / name).encode(), "source_uri": name, "source_sha256": name, "source_format": "pdf",
            "page_count": 1, "page_start": 0, "page_stop": 1})
    legacy, english = rows
    assert legacy["text_source_reason"] == "legacy_font" and "text" not in legacy
    assert english["text_source"] == "text_layer" and english["text_source_reason"] == "text_layer"
    assert english["rotation"] == 0
    assert english["lines"][0]["words"][0] == {"text": "The", "bbox": english["lines"][0]["words"][0]["bbox"],
                                               "confidence": 1.0}


def test_words_of_a_turned_page_are_boxed_in_the_image_as_rendered():
    doc = pymupdf.open(stream=text_pdf(ENGLISH))
    doc[0].set_rotation(90)  # shown landscape: the stored image is 1123 x 794 at 96 dpi
    page, _ = first_page(doc.tobytes())
    assert (page.width, page.height) == (1123, 794)
    boxes = [w.bbox for line in page.text_lines for w in line.words]
    assert boxes and all(0 <= x0 < x1 <= 1123 and 0 <= y0 < y1 <= 794 for x0, y0, x1, y1 in boxes)
    # the first line runs down the right-hand side: its words' boxes are taller than they are wide
    first = page.text_lines[0].words
    assert all(w.bbox[3] - w.bbox[1] > w.bbox[2] - w.bbox[0] for w in first if len(w.text) > 3)


# Shaped text in subset fonts, as real tools typeset complex scripts: ToUnicode maps that leave conjuncts out
# (fpdf2 with HarfBuzz), or no map at all.
SHAPED = sorted(SHAPED_TEXT)


@pytest.mark.parametrize("to_unicode", [True, False], ids=["partial-map", "no-map"])
@pytest.mark.parametrize("lang", SHAPED)
def test_a_layer_whose_glyphs_map_to_nothing_is_read_by_ocr_or_kept_whole(lang, to_unicode):
    lines = list(SHAPED_TEXT[lang]) * 4
    page, _ = first_page(shaped_pdf(lines, lang, to_unicode=to_unicode))
    if page.text_layer is None:
        assert page.text_source_reason == "unmapped_glyphs"
    else:
        truth = " ".join(" ".join(lines).split())
        text = " ".join(page.text_layer.split())
        assert not CONTROLS.search(page.text_layer)
        assert Levenshtein.distance(text, truth) / len(truth) <= 0.02, page.text_layer


def test_shaped_layers_that_lose_conjuncts_go_to_ocr_and_clean_ones_are_kept():
    verdicts = {lang: first_page(shaped_pdf(list(SHAPED_TEXT[lang]) * 4, lang))[0].text_source_reason
                for lang in SHAPED}
    # conjuncts and stacked consonants lose their mapping (fpdf2 2.8.9 with HarfBuzz 0.57: every Brahmic script
    # but Gujarati, and Khmer and Myanmar); the scripts without them map every glyph
    assert {"ben", "hin", "mar", "kan", "tam", "tel", "khm", "sin"} <= {
        lang for lang, reason in verdicts.items() if reason == "unmapped_glyphs"}
    assert {"eng", "vie", "tha", "lao"} <= {lang for lang, reason in verdicts.items() if reason == "text_layer"}


def test_a_kept_layer_never_holds_a_control_character():
    """`--text-layer prefer` takes a layer unchecked: the glyphs with no mapping are gaps, not controls."""
    data = shaped_pdf(list(SAMPLE_TEXT["ben"]) * 4, "ben")
    assert CONTROLS.search(pymupdf.open(stream=data)[0].get_text())  # MuPDF's own text has them
    page, _ = first_page(data, IngestOptions(text_layer="prefer"))
    assert page.text_source_reason == "text_layer_preferred" and page.text_layer
    assert not CONTROLS.search(page.text_layer)
    assert not any(CONTROLS.search(line.text) or any(CONTROLS.search(w.text) or not w.text for w in line.words)
                   for line in page.text_lines)


def test_text_from_any_engine_is_stored_without_control_characters():
    word = OcrWord("ক\x04া", (0, 0, 1, 1), 0.9)
    line = OcrLine("ক\x04া\tখ\x7f\x85", (0, 0, 1, 1), 0.9, (word,))
    page = OcrPage("ক\x04া\nখ\x1b", 0.9, "ben", [line])
    assert (word.text, line.text, page.text) == ("কা", "কা\tখ", "কা\nখ")


def test_words_are_put_in_reading_order_as_pymupdf_sorts_them():
    data = text_pdf(ENGLISH)
    doc = pymupdf.open(stream=data, filetype="pdf")
    page = doc[0]
    words = page.get_text("words")
    assert reading_order(list(reversed(words))) == page.get_text("words", sort=True)
    assert reading_order([]) == []


def test_a_judgement_made_at_planning_is_taken_not_made_again():
    data = text_pdf(ENGLISH)
    doc = open_document(data, "pdf", IngestOptions())
    assert doc.text_layers() == ["text_layer"]
    told = open_document(data, "pdf", IngestOptions(), judged={0: "glyph_mismatch"})  # as planning said
    page = told.page(0)
    assert page.text_layer is None and page.text_source_reason == "glyph_mismatch"


def test_a_font_that_passed_the_glyph_trial_is_not_tried_again_on_later_pages(monkeypatch):
    import actors.sources.text_layer as text_layer

    page = pymupdf.open(stream=text_pdf(ENGLISH), filetype="pdf")
    doc = pymupdf.open()
    for _ in range(3):
        doc.insert_pdf(page)
    tried = []
    real = text_layer.glyph_agreement
    monkeypatch.setattr(text_layer, "glyph_agreement", lambda *args: tried.append(1) or real(*args))
    options = IngestOptions(glyph_trial_below=1.0)  # every Latin layer is doubtful: each page would be tried
    judged = open_document(doc.tobytes(), "pdf", options).text_layers()
    assert judged == ["text_layer"] * 3 and len(tried) == 1  # one trial for the document's one font


def test_a_page_that_cannot_be_judged_sends_its_file_to_the_model_stages(monkeypatch, tmp_path):
    from actors.sources import documents

    page = pymupdf.open(stream=text_pdf(ENGLISH), filetype="pdf")
    doc = pymupdf.open()
    for _ in range(3):
        doc.insert_pdf(page)
    real = documents.PdfDocument._text_layer

    def broken_second_page(self, pdf_page):
        if pdf_page.number == 1:
            raise RuntimeError("MuPDF: syntax error in content stream")
        return real(self, pdf_page)

    monkeypatch.setattr(documents.PdfDocument, "_text_layer", broken_second_page)
    judged = open_document(doc.tobytes(), "pdf", IngestOptions()).text_layers()
    assert judged == ["text_layer"] and not all_text_layers(judged, 3)  # as planning did before: not text-only
    assert documents.read_text_layers(str(tmp_path / "gone.pdf"), "pdf", 0, 3, IngestOptions(), None, None) == []
