"""Caption matching: the nearest caption in the same column, helped by caption words in many scripts, and
never one caption for two figures."""

from __future__ import annotations

from actors.reading.pairs import (
    ReadRegion,
    cue_kind,
    label_spliced,
    match_captions,
    relabelled,
    uncued_captions,
)
from ocr_models.types import OcrLine, OcrWord, Region


def read(kind: str, box: tuple[int, int, int, int], text: str | None = None) -> ReadRegion:
    lines = [OcrLine(line, box, 0.9) for line in (text or "").splitlines()]
    return ReadRegion(Region(kind, box, 0.9), text=text, lines=lines)


def test_caption_words_are_recognised_in_many_scripts():
    figures = ["Figure 3. Map", "Fig. 2", "चित्र 1: पांडुलिपि", "চিত্র ২: পুঁথি", "படம்\u200c 1: சுவடி",
               "รูปที่ 4 เอกสาร", "ចិត្ត", "Hình 5. Bản đồ"]
    assert [cue_kind(t) for t in figures] == ["figure"] * 6 + [None, "figure"]
    assert cue_kind("Table 2. Pages") == cue_kind("तालिका 1") == cue_kind("ตารางที่ 3") == "table"
    assert cue_kind("Fighting broke out") is None  # a caption word must be a whole word
    assert cue_kind("Figure " + "x" * 500) is None  # a long paragraph is body text, whatever its first word


def test_each_figure_gets_the_caption_under_it():
    regions = [read("figure", (100, 100, 900, 600)), read("figure_caption", (200, 620, 800, 660), "Figure 1. A"),
               read("figure", (100, 800, 900, 1300)), read("text", (200, 1320, 800, 1360), "Figure 2. B")]
    matches = match_captions(regions, dpi=300, max_gap_in=1.0)
    assert {p: m.caption for p, m in matches.items()} == {0: 1, 2: 3}
    assert matches[0].method == "caption_region+cue" and matches[2].method == "caption_cue"


def test_a_caption_between_two_figures_goes_to_one_only():
    regions = [read("figure", (100, 100, 900, 600)), read("figure_caption", (200, 620, 800, 660), "Figure 1"),
               read("figure", (100, 700, 900, 1200))]
    matches = match_captions(regions, dpi=300, max_gap_in=1.0)
    assert list(matches) == [0] and matches[0].caption == 1  # under its figure, the usual side, wins


def test_tables_take_the_caption_above_them():
    regions = [read("table_caption", (100, 80, 900, 120), "Table 1. Pages"), read("table", (100, 140, 900, 500)),
               read("text", (100, 520, 900, 560), "Table 2 is below")]
    matches = match_captions(regions, dpi=300, max_gap_in=1.0)
    assert matches[1].caption == 0


def test_no_caption_for_plain_text_far_away_or_in_another_column_or_behind_a_paragraph():
    regions = [read("figure", (100, 100, 900, 600)),
               read("text", (100, 620, 900, 700), "The archive holds letters."),  # no cue, not a caption
               read("figure_caption", (100, 1200, 900, 1240), "Figure 1. far away"),  # 2 inches down
               read("figure_caption", (1000, 610, 1800, 650), "Figure 1. next column")]
    assert match_captions(regions, dpi=300, max_gap_in=1.0) == {}
    behind = [read("figure", (100, 100, 900, 600)), read("text", (100, 610, 900, 700), "Body text here."),
              read("figure_caption", (100, 710, 900, 750), "Figure 1.")]
    assert match_captions(behind, dpi=300, max_gap_in=1.0) == {}


def test_a_sliver_in_which_nothing_was_read_does_not_part_a_figure_from_its_caption():
    """The layout model may cut a caption's top edge off as a region of its own, in which nothing is read."""
    regions = [read("figure", (280, 1090, 1160, 1620)), read("text", (590, 1649, 1040, 1663)),
               read("text", (400, 1662, 1040, 1710), "चित्र 1: पुरानी पांडुलिपि")]
    assert {p: m.caption for p, m in match_captions(regions, dpi=300, max_gap_in=1.0).items()} == {0: 2}
    regions[1] = read("text", (590, 1649, 1040, 1663), "a line read there")
    assert match_captions(regions, dpi=300, max_gap_in=1.0) == {}


def test_a_line_placed_as_a_caption_whose_label_was_garbled_is_found_for_another_reading():
    """A caption's English label read by its page's model ("70012 1:" for "Figure 1:") names no figure: the
    regions placed as captions (beside a figure, in its column, a line or two) that open with no caption word."""
    regions = [read("figure", (100, 100, 900, 600)), read("text", (200, 620, 800, 660), "70012 1: একটি পাতা"),
               read("figure", (1000, 100, 1800, 600)), read("text", (1100, 620, 1700, 660), "Figure 2: একটি"),
               read("figure", (100, 800, 900, 1300)), read("text", (100, 1320, 900, 1500), "এক\nদুই\nতিন"),
               read("text", (1000, 1320, 1800, 1360), "70012 3: far from any figure"),
               read("figure", (100, 2000, 900, 2500)), read("text", (100, 2520, 900, 2560), "এক দুই তিন চার")]
    assert uncued_captions(regions, dpi=300, max_gap_in=1.0) == [1]  # not a line that opens with no label


def words(*spans: tuple[str, int, int]) -> OcrLine:
    found = tuple(OcrWord(text, (x0, 100, x1, 140), 0.5) for text, x0, x1 in spans)
    return OcrLine(" ".join(w.text for w in found), (found[0].bbox[0], 100, found[-1].bbox[2], 140), 0.3, found)


def test_a_label_read_right_goes_before_the_words_its_own_scripts_model_read():
    """Khmer's model with Latin's reads the label and turns the Khmer words into Latin; Khmer's alone reads the
    Khmer words and garbles the label. The line keeps the one's label and the other's words after it."""
    labelled = words(("Figure", 200, 330), ("1:", 345, 380), ("anjanainia", 400, 700))
    own = words(("ជយ", 205, 320), ("1:", 344, 381), ("សាស្ត្រាស្លឹករឹត", 398, 702))
    line, rest = label_spliced(labelled, own)
    assert line.text == "Figure 1: សាស្ត្រាស្លឹករឹត"
    assert rest == (398, 100, 702, 140) and line.bbox == (200, 100, 702, 140) and line.confidence == 0.3
    assert label_spliced(words(("Figure", 200, 330), ("one", 345, 380)), own) is None  # no label to take
    assert label_spliced(labelled, words(("ជយ", 205, 320), ("1:", 344, 381))) is None  # nothing after it
    assert label_spliced(labelled, OcrLine(own.text, own.bbox, 0.3)) is None  # no word boxes to place it by


def test_a_label_read_again_by_latins_model_alone_replaces_the_labels_words_only():
    """Telugu's model with Latin's reads "Figure 1:" as "Figure 1;"; Latin's alone, on the label's words, reads it
    right. The words after the label keep the line's own text, spacing included (Thai sets no spaces)."""
    line = words(("Figure", 200, 330), ("1;", 345, 380), ("เอกสาร", 400, 600), ("โบราณ", 600, 700))
    line = OcrLine("Figure 1; เอกสารโบราณ", line.bbox, line.confidence, line.words)
    fixed = relabelled(line, "Figure 1:")
    assert fixed.text == "Figure 1: เอกสารโบราณ"
    assert [w.text for w in fixed.words] == ["Figure", "1:", "เอกสาร", "โบราณ"]
    assert fixed.bbox == line.bbox and fixed.confidence == line.confidence
    assert relabelled(line, "Figure") is line  # not a label
    assert relabelled(line, "70012 1:") is line  # a label that names no figure
    assert relabelled(line, "Fig. 1 2:") is line  # another number of words: they cannot be matched one to one
    assert relabelled(OcrLine(line.text, line.bbox, 0.3), "Figure 1:").text == line.text  # no word boxes
