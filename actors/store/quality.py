"""Quality signals of a row's text, for filtering a corpus: the `QUALITY_COLUMNS` of `actors/store/records.py`.

Each is cheap, needs no model and means the same in every script, so one threshold can be tried on all of
them (docs/schema.md lists what typical pages score).
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from itertools import pairwise

from ocr_models.scripts import char_category, letter_script

WINDOW = 10  # characters in a repetition window: longer than a repeated word, shorter than a repeated line
RUN = 4  # the same character this many times in a row marks a word as noise (no script doubles a letter 4x)
# A word is noise when it has no letter or digit and two or more different characters (",.'", "~|"; a lone
# "-" or "।" is punctuation), letters of two scripts, or a run of RUN identical characters.


def signals(text: str | None, script: str | None) -> dict[str, float | int | None]:
    """text_chars, script_purity, garbage_score and repetition_score of `text` read as `script`."""
    words = (text or "").split()
    chars = sum(len(word) for word in words)
    if not chars:
        return {"text_chars": 0, "script_purity": None, "garbage_score": None, "repetition_score": None}
    letters = in_script = garbage = 0
    for word, times in Counter(words).items():
        word_letters, word_in_script, noise = _word(word, script)
        letters += times * word_letters
        in_script += times * word_in_script
        garbage += times * len(word) * noise
    return {"text_chars": chars,
            "script_purity": in_script / letters if letters else None,
            "garbage_score": garbage / chars,
            "repetition_score": repetition(" ".join(words))}


@lru_cache(maxsize=1 << 16)  # a corpus's common words recur on every page
def _word(word: str, script: str | None) -> tuple[int, int, bool]:
    """A word's letters, how many of them are in `script`, and whether the word is noise."""
    scripts = set()
    letters = in_script = 0
    has_letter_or_digit = False
    for char in word:
        category = char_category(char)[0]
        if category in "LM":
            has_letter_or_digit = True
            code = letter_script(char)
            scripts.add(code)
            letters += 1
            in_script += code == script
        elif category == "N":
            has_letter_or_digit = True
    return letters, in_script, (not has_letter_or_digit and len(set(word)) > 1) or len(scripts) > 1 or _has_run(word)


def repetition(text: str) -> float:
    """Share of the text's WINDOW-character windows that are the same as an earlier window."""
    windows = len(text) - WINDOW + 1
    if windows <= 1:
        return 0.0
    distinct = {text[start:start + WINDOW] for start in range(windows)}
    return (windows - len(distinct)) / windows  # every window past the first of its kind repeats an earlier one


def _has_run(word: str) -> bool:
    count = 1
    for previous, char in pairwise(word):
        count = count + 1 if char == previous else 1
        if count >= RUN:
            return True
    return False
