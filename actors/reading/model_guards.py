"""Guards on what a transformers model read: the ways such models fail on document crops (a generation loop,
text made up on a blank crop, nothing at all, another script, far more text than the ink holds). A reading
that fails one is refused and Tesseract's reading of the region stands; the region's `guard` says which
(actors/store/records.py GUARDS)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from configs.model import OcrOptions
from ocr_models.geometry.ink import ink_mask
from ocr_models.scripts import letter_counts
from ocr_models.types import BBox, PageImage

MIN_INK_SHARE = 0.002  # a crop with less of its pixels in ink than this is blank
MAX_UNIT = 120  # longest piece of text a loop is looked for as repeating (a line of print)


def refusal(text: str, tesseract_text: str, crops: Sequence[PageImage], line_boxes: Sequence[BBox], script: str,
            options: OcrOptions) -> str | None:
    """Why the model's reading `text` of a region is refused, or None to keep it. `tesseract_text`:
    Tesseract's reading of the region; `crops`: what the model read (the region, or each of its lines);
    `line_boxes`: the lines Tesseract found there; `script`: the region's script (ISO 15924)."""
    if not text.strip():
        return "empty" if tesseract_text.strip() else None
    letters = letter_counts(text)
    if not letters and letter_counts(tesseract_text):  # digits or signs only, where Tesseract read words
        return "empty"
    if all(is_blank(crop) for crop in crops):
        return "blank"
    if loops(text, tesseract_text, options.guard_repeats):
        return "repetition"
    room = sum((x1 - x0) / max(1, y1 - y0) for x0, y0, x1, y1 in line_boxes) * options.guard_chars_per_line_height
    if len("".join(text.split())) > max(room, 1.0):
        return "too_long"
    if letters and letters[script] < options.guard_script_share * sum(letters.values()):
        return "wrong_script"
    return None


def is_blank(crop: PageImage) -> bool:
    mask = ink_mask(crop)
    return mask is None or float(mask.mean()) < MIN_INK_SHARE


def loops(text: str, tesseract_text: str, repeats: int) -> bool:
    """Whether `text` repeats a piece (with a letter or digit in it) `repeats` times in a row or more, and at least
    twice as often in a row as `tesseract_text` does (a printed list can repeat a word; a loop repeats far
    more than the page)."""
    run = longest_run(text, repeats)
    if run is None:
        return False
    unit, count = run
    return count >= 2 * consecutive(tesseract_text, unit)


def longest_run(text: str, repeats: int) -> tuple[str, int] | None:
    """The piece of `text` repeated most times in a row (at least `repeats`), and how many times."""
    best: tuple[str, int] | None = None
    for match in _loop_pattern(repeats).finditer(text):
        unit = match.group(1)
        if not any(c.isalnum() for c in unit):  # dot leaders and rules are not loops
            continue
        count = consecutive(match.group(0), unit)
        if best is None or count > best[1]:
            best = (unit, count)
    return best


def consecutive(text: str, unit: str) -> int:
    """Most times `unit` appears in a row in `text` (spaces between allowed)."""
    runs = re.finditer(rf"(?:{re.escape(unit)}\s*)+", text)
    return max((len(re.findall(re.escape(unit), run.group(0))) for run in runs), default=0)


@cache
def _loop_pattern(repeats: int) -> re.Pattern[str]:
    return re.compile(rf"(\S.{{0,{MAX_UNIT - 1}}}?)(?:\s*\1){{{repeats - 1},}}", re.DOTALL)
