"""Text accuracy measures. Normalisation: the stored form (NFC, atomic Malayalam chillus), zero-width joiners
removed, whitespace runs collapsed.

Zero-width (non-)joiners are dropped because Tesseract emits them where typesetting does not (Tamil after
pulli) and they change no rendered letter; whitespace is collapsed because line breaks and runs of spaces
carry no meaning for the recognised text.
"""

from __future__ import annotations

from rapidfuzz.distance import Levenshtein

from ocr_models.scripts import canonical_text

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\ufeff"))


def normalize(text: str) -> str:
    return " ".join(canonical_text(text).translate(ZERO_WIDTH).split())


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of `hypothesis` against `reference`, after normalisation."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    return Levenshtein.distance(ref, hyp) / max(1, len(ref))
