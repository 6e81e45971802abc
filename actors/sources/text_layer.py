"""A PDF page's text layer: its lines and words in the stored image's pixels, and whether `--text-layer auto`
may take it for the page's text (and if not, why: records.TEXT_SOURCE_REASONS).

The evidence, cheapest first, so that an ordinary born-digital page pays only for the letter checks and one
language identification:
1. an invisible layer over a scan is an earlier OCR's (`ocr_layer`);
2. private-use code points: a font with its own encoding (`private_use`);
3. characters drawn in a legacy Indic font, known by its name (`legacy_font`): Kruti Dev, Walkman-Chanakya,
   Shree-Lipi, DV-TT, Bamini, TSCII, Nudi, ...;
4. glyphs drawn with no Unicode mapping: a shaping PDF tool's subset font whose ToUnicode map leaves the
   conjuncts, reordered vowel signs and stacked consonants out (`unmapped_glyphs`);
5. letters of no known script, vowel signs with no letter, no main script (`garbled`);
6. a Latin layer whose language the language model cannot tell (legacy fonts type Indic text with ASCII
   letters: "Hkkjr ljdkj" is भारत सरकार) is compared with Tesseract reading its longest lines as Latin from
   the rendered page; when they disagree, its letters are not what its glyphs show (`glyph_mismatch`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from functools import cache, reduce

import numpy as np
import pymupdf
from rapidfuzz.distance import Levenshtein

from configs.model import IngestOptions
from ocr_models import registry
from ocr_models.base import LineReader
from ocr_models.geometry.boxes import union
from ocr_models.language_id import language_id
from ocr_models.registry import TesseractOptions
from ocr_models.scripts import BY_CODE, char_category, dominant_script, script_of_char
from ocr_models.types import OcrLine, OcrWord, PageImage, valid_text

log = logging.getLogger(__name__)
TRIAL_LINES = 2  # longest lines of a doubtful Latin layer read by Tesseract
TRIAL_CHARS = 40  # of each: its first words up to this many characters (the cost is the width read)
TRIAL_DPI = 200
TRIAL_MIN_LETTERS = 8  # a line shorter than this says little either way


def invisible_only(trace: list[dict]) -> bool:
    """True when every character on the page is drawn invisibly (render mode 3): an earlier OCR layer."""
    return bool(trace) and all(span.get("type") == 3 for span in trace)


def garbled(text: str) -> bool:
    """Whether an extracted text layer is broken at the level of its characters: replacement characters,
    letters outside every script Lontar knows, combining signs with no base letter before them (an Indic vowel
    sign after a space), or no script that most of its letters are in."""
    chars = Counter(text)
    letters = sum(n for c, n in chars.items() if char_category(c)[0] in "LM")
    if not letters:
        return True
    junk = sum(n for c, n in chars.items() if c == "\ufffd" or char_category(c) == "Cs")
    unrouted = sum(n for c, n in chars.items() if char_category(c)[0] in "LM" and script_of_char(c) is None)
    marks = sum(n for c, n in chars.items() if char_category(c)[0] == "M")
    orphans = sum(1 for prev, c in zip(" " + text, text, strict=False)
                  if char_category(c)[0] == "M" and char_category(prev)[0] not in "LM") if marks else 0
    _, purity = dominant_script(text)
    return not (junk <= 0.01 * len(text) and unrouted <= 0.05 * letters
                and orphans <= max(1, 0.05 * marks) and purity >= 0.5)


def drawn_glyphs(trace: list[dict]) -> list[int]:
    """The code point MuPDF's text trace gives each glyph the page draws: U+FFFD for a glyph with no Unicode
    mapping (its extracted text holds a control character there). A glyph that stands for several characters
    is followed by entries of glyph id -1, which are not glyphs of their own; glyph 0 (.notdef) is a character
    the font could not draw at all (a quote mark in an Indic font), which no reading of the page would find."""
    return [char[0] for span in trace for char in span.get("chars") or () if char[1] > 0]


def unmapped_glyphs(trace: list[dict]) -> int:
    return drawn_glyphs(trace).count(0xFFFD)


def unmapped_glyph_share(trace: list[dict]) -> float:
    """The share of the page's drawn glyphs that map to no character."""
    glyphs = drawn_glyphs(trace)
    return glyphs.count(0xFFFD) / len(glyphs) if glyphs else 0.0


def letter_count(text: str) -> int:
    """Letters and marks (Indic vowel signs count: they are letters of the text)."""
    return sum(n for char, n in Counter(text).items() if char_category(char)[0] in "LM")


def private_use_share(text: str) -> float:
    """The share of `text`'s visible characters that are private-use code points."""
    chars = Counter(text)
    visible = sum(n for c, n in chars.items() if not c.isspace())
    return sum(n for c, n in chars.items() if char_category(c) == "Co") / visible if visible else 0.0


def legacy_font_share(trace: list[dict], pattern: re.Pattern[str]) -> tuple[float, str | None]:
    """The share of the page's characters drawn in fonts whose names match `pattern`, and the most used one."""
    chars: Counter[str] = Counter()
    for span in trace:
        chars[span.get("font") or ""] += len(span.get("chars") or ())
    total = sum(chars.values())
    legacy = {font: n for font, n in chars.items() if pattern.search(font.split("+")[-1])}
    if not total or not legacy:
        return 0.0, None
    return sum(legacy.values()) / total, max(legacy, key=legacy.__getitem__)


def judge(page: pymupdf.Page, text: str, options: IngestOptions, tesseract: TesseractOptions | None,
          trusted_fonts: set[str] | None = None) -> str:
    """Why the page's text layer (`text`, already long enough) may not be used, or `text_layer` when it may.
    `trusted_fonts`: the fonts of the document's pages that passed the glyph trial so far (grown here). A font
    maps its glyphs to letters the same way on every page, so a page drawn in trusted fonts only is not tried
    again: a long manual pays for its trial once a font, not once a page."""
    if options.text_layer == "prefer":
        return "text_layer_preferred"
    trace = page.get_texttrace()
    if invisible_only(trace):
        return "ocr_layer"
    if private_use_share(text) > options.max_private_use_share:
        return "private_use"
    share, font = legacy_font_share(trace, re.compile(options.legacy_fonts, re.IGNORECASE))
    if share >= options.min_legacy_font_share:
        log.debug("page %d: %.0f %% of its characters are in the legacy font %s", page.number, 100 * share, font)
        return "legacy_font"
    if unmapped_glyph_share(trace) > options.max_unmapped_glyph_share:
        return "unmapped_glyphs"
    if garbled(text):
        return "garbled"
    if dominant_script(text)[0] == "Latn" and options.glyph_trial_below > 0 and \
            language_id().fasttext_confidence(text, "Latn") < options.glyph_trial_below:
        fonts = {span.get("font") or "" for span in trace}
        if trusted_fonts is not None and fonts <= trusted_fonts:
            return "text_layer"
        if glyph_agreement(page, tesseract) < options.min_glyph_agreement:
            return "glyph_mismatch"
        if trusted_fonts is not None:
            trusted_fonts.update(fonts)
    return "text_layer"


def glyph_agreement(page: pymupdf.Page, tesseract: TesseractOptions | None) -> float:
    """How well the layer's longest lines agree with Tesseract reading them as Latin from the rendered page:
    1 - the edit distance over the longer of the two (letters and digits), averaged over the lines' first words;
    1.0 when no line is long enough to tell."""
    lines = sorted((ln for ln in layer_lines(page, 72) if letter_count(ln.text) >= TRIAL_MIN_LETTERS),
                   key=lambda ln: -letter_count(ln.text))[:TRIAL_LINES]
    if not lines:
        return 1.0
    engine = _engine(tesseract.model_dump_json() if tesseract else "")
    scores = []
    for line in lines:
        words = _leading(line.words)
        x0, y0, x1, y1 = reduce(union, (w.bbox for w in words))  # in points of the page as shown: what `clip` takes
        pixmap = page.get_pixmap(dpi=TRIAL_DPI, clip=pymupdf.Rect(x0 - 2, y0 - 2, x1 + 2, y1 + 2),
                                 colorspace=pymupdf.csGRAY)
        pixels = PageImage(_pixels(pixmap), TRIAL_DPI)
        read = engine.read_line(pixels, BY_CODE["Latn"])
        scores.append(1 - Levenshtein.normalized_distance(_letters_only(" ".join(w.text for w in words)),
                                                          _letters_only(read)))
    return sum(scores) / len(scores)


def layer_lines(page: pymupdf.Page, dpi: float, textpage: pymupdf.TextPage | None = None) -> list[OcrLine]:
    """The layer's lines and words (confidence 1), boxes in the pixels of the page rendered at `dpi`, in
    MuPDF's reading order of blocks and lines (`textpage`: the page's extraction, when one was made)."""
    scale = dpi / 72
    to_pixels = page.rotation_matrix * pymupdf.Matrix(scale, scale) if page.rotation % 360 else None
    grouped: dict[tuple[int, int], list[OcrWord]] = {}
    for x0, y0, x1, y1, word, block, line, _ in reading_order(page.get_text("words", textpage=textpage)):
        if not valid_text(word):  # a glyph with no Unicode mapping alone: no word
            continue
        if to_pixels is not None:  # a turned page: its words' boxes turn with it
            x0, y0, x1, y1 = pymupdf.Rect(x0, y0, x1, y1) * to_pixels
        else:
            x0, y0, x1, y1 = x0 * scale, y0 * scale, x1 * scale, y1 * scale
        grouped.setdefault((block, line), []).append(
            OcrWord(unicodedata.normalize("NFC", word), (round(x0), round(y0), round(x1), round(y1)), 1.0))
    # a line's box grows to hold its words (OcrLine): the first word's box is where it starts
    return [OcrLine(" ".join(w.text for w in words), words[0].bbox, 1.0, tuple(words)) for words in grouped.values()]


def reading_order(words: list[tuple], tolerance: float = 3) -> list[tuple]:
    """`page.get_text("words", sort=True)`'s order (PyMuPDF's `sort_words`: by bottom edge, words whose top or
    bottom is within `tolerance` of the line's joining it, each line left to right) computed on plain numbers:
    the same words in the same order at a fifth of the cost (PyMuPDF builds two Rect objects a word)."""
    if not words:
        return []
    words = sorted(words, key=lambda w: (w[3], w[0]))
    ordered: list[tuple] = []
    line = [words[0]]
    lx0, ly0, lx1, ly1 = words[0][:4]  # the line's rectangle
    for word in words[1:]:
        x0, y0, x1, y1 = word[:4]
        if abs(y0 - ly0) <= tolerance or abs(y1 - ly1) <= tolerance:
            line.append(word)
            if x0 >= x1 or y0 >= y1:  # an empty box extends nothing (Rect.include_rect)
                continue
            if lx0 >= lx1 or ly0 >= ly1:
                lx0, ly0, lx1, ly1 = x0, y0, x1, y1
            else:
                lx0, ly0, lx1, ly1 = min(lx0, x0), min(ly0, y0), max(lx1, x1), max(ly1, y1)
        else:
            ordered.extend(sorted(line, key=lambda w: w[0]))
            line = [word]
            lx0, ly0, lx1, ly1 = x0, y0, x1, y1
    ordered.extend(sorted(line, key=lambda w: w[0]))
    return ordered


@cache
def _engine(options_json: str) -> LineReader:
    """The trial's Tesseract, loaded once a process (with the run's `tesseract.*` options)."""
    options = TesseractOptions.model_validate_json(options_json) if options_json else TesseractOptions()
    return registry.make(options.model_copy(update={"try_first": {}}))  # it reads lines: no first model


def _pixels(pixmap: pymupdf.Pixmap) -> np.ndarray:
    return np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.stride)[:, :pixmap.width]


def _leading(words: tuple[OcrWord, ...]) -> list[OcrWord]:
    """A line's first words, up to TRIAL_CHARS characters (one word at least)."""
    taken, length = [], 0
    for word in words:
        if taken and length + len(word.text) > TRIAL_CHARS:
            break
        taken.append(word)
        length += len(word.text) + 1
    return taken


def _letters_only(text: str) -> str:
    """Letters and digits, lower case: quotes, dashes and ligatures are where a good reading and its layer
    differ most, and legacy-font gibberish differs in its letters."""
    return "".join(c for c in text.lower() if c.isalnum())
