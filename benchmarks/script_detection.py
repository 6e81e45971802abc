"""Script detection accuracy on generated pages, along each path the engine can take.

    OMP_THREAD_LIMIT=1 .venv/bin/python benchmarks/script_detection.py [--mode fresh|sequence|shuffled]

- fresh:    a new engine for each language, 6 seeds each: OSD proposals and full trials (96 pages);
- sequence: one engine, languages in table order, 3 seeds each: the recent-script proposals hit (48 pages);
- shuffled: one engine, the same pages in a shuffled order: recent scripts are mostly rivals (48 pages).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"  # before tesserocr loads OpenMP

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from flows.samples import SAMPLE_TEXT, render_page
from ocr_models.scripts import SCRIPTS
from ocr_models.tesseract import TesseractEngine
from ocr_models.types import PageImage


def pages(mode: str) -> list[tuple[str, int]]:
    if mode == "fresh":
        return [(lang, seed) for lang in SAMPLE_TEXT for seed in (1, 2, 3, 21, 22, 23)]
    jobs = [(lang, seed) for lang in SAMPLE_TEXT for seed in (101, 102, 103)]
    if mode == "shuffled":
        random.Random(5).shuffle(jobs)
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["fresh", "sequence", "shuffled"], default="fresh")
    args = parser.parse_args()
    engine, current, right, seconds, wrong = None, None, 0, 0.0, []
    jobs = pages(args.mode)
    for lang, seed in jobs:
        if engine is None or (args.mode == "fresh" and lang != current):
            engine, current = TesseractEngine(), lang
        page = render_page(lang, seed=seed, skew_degrees=0.8, point_size=(10, 12, 14)[seed % 3])
        started = time.perf_counter()
        guess = engine.detect_script(PageImage(np.asarray(page.image), 300), SCRIPTS)
        seconds += time.perf_counter() - started
        if guess.script == page.script:
            right += 1
        else:
            wrong.append(f"{lang}/{seed} -> {guess.script} ({guess.method})")
    print(f"{args.mode}: {right}/{len(jobs)} detected right, {seconds / len(jobs):.2f} s per page")
    for line in wrong:
        print("  wrong:", line)


if __name__ == "__main__":
    main()
