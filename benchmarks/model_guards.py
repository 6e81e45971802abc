"""The guards on a routed model's readings (actors/reading/model_guards.py), judged on real scans: they must let a right
reading through and refuse the failures transformer recognizers are known for.

    .venv/bin/python benchmarks/model_guards.py                  # ../shared/realscans
    .venv/bin/python benchmarks/model_guards.py --scans DIR      # another folder laid out the same way

Tesseract reads each page with its script's model (what the OCR stage gives a routed region: its lines and
text); then the guards judge, as if a model had read the whole page as one region:
- `truth`: the page's transcription, a perfect reading: must pass;
- `loop`: the first half of the truth, then three of its words over and over (how a generation loop ends);
- `other script`: the transcription of a page in another script;
- `empty`: nothing; `blank`: the truth, on a white crop of the page's size.
It prints, per script, what the guards said of each, and how many times the truth's length a reading must
reach to be refused as `too_long` (the room Tesseract's lines leave at `ocr.guard_chars_per_line_height`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from actors.reading.model_guards import refusal  # noqa: E402
from benchmarks.real_scans import DEFAULT_SCANS, load  # noqa: E402
from configs.model import OcrOptions  # noqa: E402
from ocr_models import registry  # noqa: E402
from ocr_models.scripts import BY_CODE  # noqa: E402
from ocr_models.tesseract.engine import TesseractOptions  # noqa: E402
from ocr_models.types import PageImage  # noqa: E402

OTHER = {"Knda": "Deva", "Deva": "Knda", "Latn": "Deva"}  # whose transcription stands in for another script


def page_image(path: Path) -> PageImage:
    with Image.open(path) as image:
        dpi = image.info.get("dpi")
        grey = image.convert("L")
    return PageImage(np.asarray(grey), round(dpi[0]) if dpi else 300, bool(dpi))


def loop(truth: str) -> str:
    words = truth.split()
    middle = len(words) // 2
    return " ".join(words[:middle] + words[middle:middle + 3] * 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=Path, default=DEFAULT_SCANS)
    args = parser.parse_args()
    pages = load(args.scans, set())
    truths = defaultdict(list)
    for page in pages:
        truths[page.script].append(page.truth)
    options, engine = OcrOptions(), registry.make(TesseractOptions())
    said: dict[tuple[str, str], Counter] = defaultdict(Counter)
    room_ratio: dict[str, list[float]] = defaultdict(list)
    for page in pages:
        image = page_image(page.image)
        reading = engine.recognize(image, BY_CODE[page.script], [page.lang])
        boxes = [line.bbox for line in reading.lines]
        blank = PageImage(np.full_like(image.pixels, 255), image.dpi)
        other = truths.get(OTHER.get(page.script, "Latn"), [""])[0]
        for name, text, crop in (("truth", page.truth, image), ("loop", loop(page.truth), image),
                                 ("other script", other, image), ("empty", "", image),
                                 ("blank", page.truth, blank)):
            verdict = refusal(text, reading.text, [crop], boxes, page.script, options)
            said[(page.script, name)][verdict or "passed"] += 1
        room = sum((x1 - x0) / max(1, y1 - y0) for x0, y0, x1, y1 in boxes) * options.guard_chars_per_line_height
        room_ratio[page.script].append(room / max(1, len("".join(page.truth.split()))))
        print(f"{page.name:<32} {page.script}  truth: {said[(page.script, 'truth')].most_common(1)[0][0]:<12} "
              f"room {room_ratio[page.script][-1]:.1f} x the truth", flush=True)
    print(f"\n{'script':<6} {'reading':<13} verdicts")
    for (script, name), verdicts in sorted(said.items()):
        print(f"{script:<6} {name:<13} " + ", ".join(f"{v} {n}" for v, n in verdicts.most_common()))
    print("\ntoo_long refuses a reading longer than this many times the truth (min / median / max):")
    for script, ratios in sorted(room_ratio.items()):
        print(f"{script:<6} {min(ratios):.1f} / {statistics.median(ratios):.1f} / {max(ratios):.1f}")


if __name__ == "__main__":
    main()
