"""CPU seconds per page of the layout and OCR stages, without Ray: for A/B comparisons of two trees.

    .venv/bin/python benchmarks/ocr_stage.py [--pages 45] [--no-layout]
    git worktree add /tmp/old <rev> && PYTHONPATH=/tmp/old .venv/bin/python benchmarks/ocr_stage.py

The pages are the throughput benchmark's (flows/synth/layouts.py: A4 at 300 dpi in 9 scripts, one and two
columns, as JPEG), in the order `lontar run` meets them there: grouped by language, one file per language, and
read as `--langs` of the 9 languages asks. Process time, not wall time: machines here are shared and noisy.
One page is read first so that the engines' models are loaded before timing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"  # before tesserocr loads OpenMP

sys.path.append(str(Path(__file__).resolve().parent.parent))  # after PYTHONPATH: another tree may come first
import actors.stages.ocr
from actors.stages.layout import LayoutStage
from actors.stages.ocr import OcrStage
from configs.model import RunConfig
from flows.synth.archive import jpeg_bytes
from flows.synth.layouts import FIGURE_CAPTIONS, layout_page
from ocr_models.layout.rapid import RapidLayoutOptions
from ocr_models.tesseract.engine import TesseractOptions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=45)
    parser.add_argument("--no-layout", action="store_true", help="read whole pages (layout: {kind: none})")
    args = parser.parse_args()
    langs = list(FIGURE_CAPTIONS)
    config = RunConfig(langs=langs)
    order = sorted(range(args.pages), key=lambda i: (langs.index(langs[i % len(langs)]), i))
    rows = [{"page_id": str(i), "source_uri": f"{langs[i % len(langs)]}.pdf", "page_index": i, "status": "ok",
             "image_format": "jpeg", "dpi": 300,
             "image": jpeg_bytes(layout_page(langs[i % len(langs)], columns=1 + i % 2, seed=i).image)}
            for i in order]
    scripts = config.candidate_scripts()
    ocr = OcrStage(TesseractOptions(), scripts, {code: config.hinted_languages(code) for code in scripts})
    layout = None if args.no_layout else LayoutStage(RapidLayoutOptions())
    lay_out = layout.process if layout else (lambda batch: batch)
    ocr.process(lay_out([dict(rows[0], source_uri="warm-up")]))
    started = time.process_time()
    laid_out = lay_out(rows)
    layout_s = time.process_time() - started
    started = time.process_time()
    ocr.process(laid_out)
    ocr_s = time.process_time() - started
    print(f"{args.pages} pages: layout {layout_s / args.pages:.3f} s/page, OCR {ocr_s / args.pages:.3f} s/page "
          f"(process time; code from {Path(actors.stages.ocr.__file__).parent.parent})")


if __name__ == "__main__":
    main()
