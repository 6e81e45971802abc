"""Automatic script routing against Tesseract told the right language by hand, on generated scan-like pages.

    .venv/bin/python benchmarks/routing_accuracy.py [--seeds 3] [--langs hin,tam,...]

For each language and seed: render a page (Noto fonts, skew, blur, grain), then
- auto:    Lontar's engine detects the script among all routed scripts and reads the page (no hints);
- by hand: the `tesseract` CLI with `-l <lang>` on the same page saved as PNG (what pytesseract runs);
- english: the loaded engine reading the page with `eng`.
Prints CER (normalised as in flows/metrics.py), detection correctness, and the seconds per page of the loaded
engine's recognition against the CLI's (both single-threaded, OMP_THREAD_LIMIT=1).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"  # before tesserocr loads OpenMP

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from flows.metrics import cer
from flows.samples import SAMPLE_TEXT, render_page
from ocr_models.scripts import BY_CODE, SCRIPTS
from ocr_models.tesseract import TesseractEngine
from ocr_models.types import PageImage


def cli_read(path: Path, lang: str) -> tuple[str, float]:
    started = time.perf_counter()
    out = subprocess.run(["tesseract", str(path), "-", "-l", lang], capture_output=True, text=True, check=True)
    return out.stdout, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--langs", default=",".join(SAMPLE_TEXT))
    args = parser.parse_args()
    engine = TesseractEngine()
    rows, detected, total = [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for lang in args.langs.split(","):
            auto, by_hand, english, t_engine, t_cli = [], [], [], [], []
            for seed in range(1000, 1000 + args.seeds):
                page = render_page(lang, seed=seed, point_size=(10, 12, 14)[seed % 3], skew_degrees=0.8)
                image = PageImage(np.asarray(page.image), 300)
                path = Path(tmp) / f"{lang}-{seed}.png"
                page.image.save(path, dpi=(300, 300))
                guess = engine.detect_script(image, SCRIPTS)
                total += 1
                detected += guess.script == page.script
                script = BY_CODE[guess.script] if guess.script else BY_CODE["Latn"]
                engine.recognize(image, BY_CODE[page.script])  # warm: models load once per worker
                started = time.perf_counter()
                engine.recognize(image, BY_CODE[page.script])
                t_engine.append(time.perf_counter() - started)
                auto.append(cer(page.text, engine.recognize(image, script).text))
                text, seconds = cli_read(path, lang)
                by_hand.append(cer(page.text, text))
                t_cli.append(seconds)
                english.append(cer(page.text, engine.recognize(image, BY_CODE["Latn"]).text))
            rows.append((lang, statistics.mean(auto), statistics.mean(by_hand), statistics.mean(english),
                         statistics.median(t_engine), statistics.median(t_cli)))
    print(f"{'lang':6} {'auto CER':>9} {'by hand':>9} {'eng only':>9} {'engine s':>9} {'CLI s':>7}")
    for lang, a, h, e, te, tc in rows:
        print(f"{lang:6} {a:9.3f} {h:9.3f} {e:9.3f} {te:9.3f} {tc:7.3f}")
    print(f"script detected right: {detected}/{total}")
    means = [statistics.mean(r[i] for r in rows) for i in (1, 2, 3)]
    print(f"mean CER: auto {means[0]:.3f}, by hand {means[1]:.3f}, "
          f"english only {means[2]:.3f}; median s/page engine "
          f"{statistics.median(r[4] for r in rows):.3f} vs CLI {statistics.median(r[5] for r in rows):.3f}")


if __name__ == "__main__":
    main()
