"""What a Tesseract reading shows: how much of it is in a script (purity) and how much of it is likely right
(its word evidence mapped to an estimated share of characters read right, on knots fitted on real scans)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from ocr_models.scripts import Script, letter_counts
from ocr_models.tesseract import tesserocr_api as tess

MIN_LETTER_SHARE = 0.6  # of a reading's visible characters, below which its trial score is scaled down

# A reading's word evidence, placed between its model's floor (0) and typical level (1) -> the share of
# characters read right; linear between the knots. Fitted on 204 readings of the 51 real scans
# (benchmarks/confidence.py: each page as scanned, at 45 % and 33 % of its resolution, and by a wrong script's
# model, whose readings sit at or under 0.08): the mean 1 - CER of the readings around each level, made
# non-decreasing.
ACCURACY_KNOTS: tuple[tuple[float, float], ...] = (
    (-1.0, 0.0), (0.05, 0.05), (0.25, 0.54), (0.4, 0.78), (0.6, 0.88), (0.8, 0.9), (0.9, 0.96), (1.0, 0.99),
    (1.5, 0.99))


def evidence_level(evidence: float, script: Script) -> float:
    """Word evidence (0-100) placed between the script's model's floor (0) and its typical level (1)."""
    floor, typical = script.words
    return (evidence - floor) / (typical - floor)


def estimated_accuracy(evidence: float, script: Script) -> float:
    """The share of characters a reading got right, estimated from its evidence (purity x mean word confidence,
    0-100) placed between its model's floor and typical level (`Script.words`): symbol confidences say
    nothing here (0.97-0.99 on real pages read at CER 0.01 and at 1.0 alike)."""
    return round(on_knots(ACCURACY_KNOTS, evidence_level(evidence, script)), 4)


def on_knots(knots: Sequence[tuple[float, float]], level: float) -> float:
    """`level` mapped through `knots` (level, accuracy): linear between them, flat beyond the ends."""
    if level <= knots[0][0]:
        return knots[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(knots):
        if level <= x1:
            return y0 + (y1 - y0) * (level - x0) / (x1 - x0)
    return knots[-1][1]


def purity(text: str, script: Script) -> float:
    """The share of `text`'s letters that are in `script` (0 when it has none)."""
    counts = letter_counts(text)
    letters = sum(counts.values())
    return counts[script.code] / letters if letters else 0.0


def purity_weighted(line: tess.LineText, script: Script) -> float:
    """Confidence x the share of letters in `script`, scaled down when letters are not most of the reading.

    A wrong model often reads digits and brackets (Myanmar reads Tamil as Myanmar digits): a few letters, all
    of its script, would give perfect purity. Real text is mostly letters.
    """
    counts = letter_counts(line.text)
    letters = sum(counts.values())
    if not letters:
        return 0.0
    visible = sum(1 for char in line.text if not char.isspace())
    letter_share = min(1.0, letters / visible / MIN_LETTER_SHARE)
    return line.confidence * counts[script.code] / letters * letter_share
