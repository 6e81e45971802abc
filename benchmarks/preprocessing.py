"""Image clean-ups and model choices tried for degraded scans, each against reading the page as it is.

    OMP_THREAD_LIMIT=1 .venv/bin/python benchmarks/preprocessing.py ben,lao,tha blur,noise [--seeds 3]

For each language and degradation of flows/synth/eval_set.py, `--seeds` pages are rendered and read whole by the
engine with the page's script (language model, and script model where the two differ), after each clean-up:
none, unsharp mask, 1.5 x upscaling (resolution normalisation), autocontrast (contrast normalisation) and a
3 x 3 median filter. Prints the pooled CER of each. docs/accuracy.md records what was kept.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"  # before tesserocr loads OpenMP

import numpy as np
from PIL import Image, ImageFilter, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from flows.dataset.evaluate import score_page
from flows.synth.eval_set import degrade, render_text_page
from ocr_models.scripts import LANGUAGE_SCRIPT
from ocr_models.tesseract.engine import TesseractEngine
from ocr_models.types import PageImage

CLEAN_UPS = {
    "none": lambda image: image,
    "unsharp": lambda image: image.filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=0)),
    "upscale-1.5": lambda image: image.resize((image.width * 3 // 2, image.height * 3 // 2),
                                              Image.Resampling.LANCZOS),
    "autocontrast": lambda image: ImageOps.autocontrast(image, cutoff=1),
    "median-3": lambda image: image.filter(ImageFilter.MedianFilter(3)),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("langs")
    parser.add_argument("degradations")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    engine = TesseractEngine()
    pooled: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for lang in args.langs.split(","):
        script = LANGUAGE_SCRIPT[lang]
        models = [script.model] + ([script.name] if script.name != script.model and script.code != "Latn" else [])
        psm = engine.options.psm_by_script.get(script.code, engine.options.page_segmentation_mode)
        for degradation in args.degradations.split(","):
            for seed in range(900, 900 + args.seeds):
                clean, text = render_text_page(lang, 1 + seed % 2, seed)
                page, dpi = degrade(clean, degradation, seed, render_text_page(lang, 1, seed + 1)[0])
                for name, clean_up in CLEAN_UPS.items():
                    image = clean_up(page.convert("L"))
                    scaled = round(dpi * image.width / page.width)
                    for model in models:
                        read = engine._read(PageImage(np.asarray(image), scaled), model, psm)[0]
                        edits, chars, *_ = score_page(text, read)
                        total = pooled[(lang, degradation, name, model)]
                        total[0] += edits
                        total[1] += chars
    print(f"{'lang':5} {'degradation':13} {'clean-up':13} {'model':11} CER")
    for (lang, degradation, name, model), (edits, chars) in sorted(pooled.items()):
        print(f"{lang:5} {degradation:13} {name:13} {model:11} {edits / max(1, chars):.4f}")


if __name__ == "__main__":
    main()
