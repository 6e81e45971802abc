"""Text accuracy measures. Normalisation: the stored form (NFC, atomic Malayalam chillus), zero-width joiners
removed, whitespace runs collapsed.

Zero-width (non-)joiners are dropped because Tesseract emits them where typesetting does not (Tamil after
pulli) and they change no rendered letter; whitespace is collapsed because line breaks and runs of spaces
carry no meaning for the recognised text.
"""

from __future__ import annotations

from ocr_models.scripts import canonical_text

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\ufeff"))


def normalize(text: str) -> str:
    return " ".join(canonical_text(text).translate(ZERO_WIDTH).split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings (insertions, deletions, substitutions cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of `hypothesis` against `reference`, after normalisation."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    return edit_distance(ref, hyp) / max(1, len(ref))
