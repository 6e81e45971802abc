"""The script table: the one place that ties ISO 15924 codes to Unicode ranges, Tesseract models and packs.

Everything that reasons about scripts (routing, script purity, preflight's "install this package" hints, the
test page generator) reads this table; nothing else lists scripts.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Script:
    """One writing system as Lontar routes it."""

    code: str  # ISO 15924, e.g. "Deva"
    name: str  # Tesseract's name for the script: its OSD label and its script-model file name
    ranges: tuple[tuple[int, int], ...]  # Unicode code point ranges of the script's letters and signs
    languages: tuple[str, ...]  # Tesseract language models written in this script
    apt_suffix: str  # tesseract-ocr-script-<suffix>
    model: str  # the model used when no language is hinted: the best measured on this script's pages
    # Mean symbol confidence (0-100) of `model` reading lines of its own script, measured on generated pages:
    # script detection divides by it, so weaker models (Lao, Khmer, Myanmar) are not outvoted by confident
    # wrong ones (Thai reads Lao at 98.3).
    typical_confidence: float
    # Scripts whose model reads this script's lines almost as well as its own (calibrated trial scores
    # within 0.02 on generated pages): a proposed script is accepted only after beating these too.
    confusable: tuple[str, ...] = ()
    # Mean word confidence (0-100) of `model`: (floor, typical). The floor is the 90th percentile of its
    # readings of lines in the other scripts (garbage that still looks confident: Thai's model reads anything
    # at 64-88, most others below 50); typical, of its readings of its own script's lines. Both measured on
    # the generated benchmark pages (upright, 16 languages). A reading above the floor proves the script;
    # between the two, its confidence estimates the share of characters read right.
    words: tuple[float, float] = (45.0, 90.0)

    def contains(self, char: str) -> bool:
        cp = ord(char)
        return any(lo <= cp <= hi for lo, hi in self.ranges)


SCRIPTS: tuple[Script, ...] = (
    # Latin's model is English and Vietnamese together: `eng` alone drops Vietnamese diacritics (CER 0.23 on
    # generated Vietnamese pages, 0.001 with eng+vie). English pages are read with `eng` first and kept when that
    # proves Latin and is named English (tesseract.try_first): eng+vie reads real receipts worse and slower.
    Script("Latn", "Latin", ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x1E00, 0x1EFF)),
           ("eng", "vie", "ind", "msa", "fil", "jav"), "latn", "eng+vie", 99.0, words=(44, 93)),
    # Devanagari reads with the script model: as good as `hin` on Hindi, better than `hin` on Marathi.
    Script("Deva", "Devanagari", ((0x900, 0x97F), (0xA8E0, 0xA8FF)), ("hin", "mar", "san", "nep"), "deva",
           "Devanagari", 99.2, ("Gujr",), words=(42, 89)),
    Script("Beng", "Bengali", ((0x980, 0x9FF),), ("ben", "asm"), "beng", "ben", 99.2, words=(42, 86)),
    Script("Guru", "Gurmukhi", ((0xA00, 0xA7F),), ("pan",), "guru", "pan", 99.3, words=(50, 89)),
    Script("Gujr", "Gujarati", ((0xA80, 0xAFF),), ("guj",), "gujr", "guj", 99.5, ("Deva",), words=(50, 92)),
    Script("Orya", "Oriya", ((0xB00, 0xB7F),), ("ori",), "orya", "ori", 98.9, words=(43, 86)),
    Script("Taml", "Tamil", ((0xB80, 0xBFF),), ("tam",), "taml", "tam", 99.3, words=(39, 95)),
    Script("Telu", "Telugu", ((0xC00, 0xC7F),), ("tel",), "telu", "tel", 99.3, ("Knda",), words=(39, 88)),
    Script("Knda", "Kannada", ((0xC80, 0xCFF),), ("kan",), "knda", "kan", 98.9, ("Telu",), words=(46, 92)),
    Script("Mlym", "Malayalam", ((0xD00, 0xD7F),), ("mal",), "mlym", "mal", 99.1, words=(38, 89)),
    Script("Sinh", "Sinhala", ((0xD80, 0xDFF),), ("sin",), "sinh", "sin", 99.0, words=(37, 90)),
    Script("Thai", "Thai", ((0xE00, 0xE7F),), ("tha",), "thai", "tha", 99.2, ("Laoo",), words=(80, 93)),
    Script("Laoo", "Lao", ((0xE80, 0xEFF),), ("lao",), "laoo", "lao", 97.7, ("Thai",), words=(33, 40)),
    Script("Mymr", "Myanmar", ((0x1000, 0x109F), (0xAA60, 0xAA7F), (0xA9E0, 0xA9FF)), ("mya",), "mymr", "mya", 95.5,
           words=(37, 73)),
    Script("Khmr", "Khmer", ((0x1780, 0x17FF), (0x19E0, 0x19FF)), ("khm",), "khmr", "khm", 97.7, words=(36, 56)),
    Script("Arab", "Arabic", ((0x600, 0x6FF), (0x750, 0x77F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)),
           ("urd",), "arab", "urd", 99.0, words=(49, 90)),
)

# The languages (ISO 639-3) language identification may name for text in each script, most-read first: the
# label set is restricted to these, so a Devanagari page is never called Urdu. A language missing here for its
# script is never named for it (docs/schema.md lists them).
LANGUAGES_BY_SCRIPT: dict[str, tuple[str, ...]] = {
    "Latn": ("eng", "vie", "ind", "msa", "tgl", "jav", "sun", "ceb", "war", "ilo", "fra", "deu", "spa", "por",
             "ita", "nld", "lat", "afr", "cat", "ces", "dan", "est", "eus", "fin", "gle", "glg", "hrv", "hun",
             "isl", "lit", "lav", "mlt", "nor", "pol", "ron", "slk", "slv", "sqi", "swe", "swa", "tur", "uzb",
             "aze", "cym", "epo", "som", "yor", "que", "hat", "tuk"),
    "Deva": ("hin", "mar", "san", "nep", "mai", "bih", "new", "gom", "dty"),
    "Beng": ("ben", "asm", "bpy"),
    "Guru": ("pan",),
    "Gujr": ("guj",),
    "Orya": ("ori",),
    "Taml": ("tam",),
    "Telu": ("tel",),
    "Knda": ("kan",),
    "Mlym": ("mal",),
    "Sinh": ("sin",),
    "Thai": ("tha",),
    "Laoo": ("lao",),
    "Mymr": ("mya",),
    "Khmr": ("khm",),
    "Arab": ("urd", "ara", "fas", "pus", "snd", "uig", "ckb", "pnb"),
}

BY_CODE: dict[str, Script] = {s.code: s for s in SCRIPTS}
BY_NAME: dict[str, Script] = {s.name: s for s in SCRIPTS}
LANGUAGE_SCRIPT: dict[str, Script] = {lang: s for s in SCRIPTS for lang in s.languages}
# OSD reports a few labels that are not script-model names. Lontar routes no Cyrillic, and OSD calls Latin
# receipts Cyrillic (2 of 12 real ones): a proposal of Latin, which the page's reading must then prove.
OSD_ALIASES: dict[str, str] = {"Fraktur": "Latn", "Vietnamese": "Latn", "Cyrillic": "Latn"}


def script_for_osd_label(label: str) -> Script | None:
    """Map a Tesseract OSD script label to a Script, or None when Lontar does not route it."""
    if label in BY_NAME:
        return BY_NAME[label]
    code = OSD_ALIASES.get(label)
    return BY_CODE[code] if code else None


def apt_package_for_model(model: str) -> str:
    """The Debian package that installs a Tesseract model: a language ("hin") or a script ("Devanagari")."""
    if model in BY_NAME:
        return f"tesseract-ocr-script-{BY_NAME[model].apt_suffix}"
    return f"tesseract-ocr-{model}"


# Malayalam chillus: Tesseract writes the pre-Unicode 5.1 sequence consonant + virama + ZWJ; Unicode recommends
# the atomic letters, and NFC does not map one to the other. Text from any source is stored in one form.
CHILLUS = {"\u0d23": "\u0d7a", "\u0d28": "\u0d7b", "\u0d30": "\u0d7c", "\u0d32": "\u0d7d", "\u0d33": "\u0d7e",
           "\u0d15": "\u0d7f"}
_CHILLU_SEQUENCE = re.compile("([\u0d23\u0d28\u0d30\u0d32\u0d33\u0d15])\u0d4d\u200d")


def canonical_text(text: str) -> str:
    """Text in the one form Lontar stores: NFC, Malayalam chillus as atomic letters."""
    text = unicodedata.normalize("NFC", text)
    return _CHILLU_SEQUENCE.sub(lambda m: CHILLUS[m.group(1)], text) if "\u200d" in text else text


@cache  # texts draw on a few hundred distinct characters; this is on every character's path
def script_of_char(char: str) -> Script | None:
    for script in SCRIPTS:
        if script.contains(char):
            return script
    return None


# unicodedata.category, remembered: the text checks ask it of every character of every page, and a page has
# thousands of characters but a hundred distinct ones
char_category = cache(unicodedata.category)


@cache
def letter_script(char: str) -> str | None:
    """The script code of a letter or combining sign; None for any other character or an unknown script."""
    script = script_of_char(char) if char_category(char)[0] in "LM" else None
    return script.code if script is not None else None


def letter_counts(text: str) -> Counter[str]:
    """How many letters and combining signs of each script code the text holds (digits, punctuation skipped)."""
    counts: Counter[str] = Counter()
    for char, n in Counter(text).items():  # a page has thousands of characters but a hundred distinct ones
        code = letter_script(char)
        if code is not None:
            counts[code] += n
    return counts


def dominant_script(text: str) -> tuple[str | None, float]:
    """The script most of the text's letters belong to, and that share (its purity), or (None, 0.0)."""
    counts = letter_counts(text)
    total = sum(counts.values())
    if not total:
        return None, 0.0
    code, n = counts.most_common(1)[0]
    return code, n / total
