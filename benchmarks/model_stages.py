"""Pages/s of the layout detectors and of the recognizers `ocr.routes` sends scripts to, on the device at hand:
the per-page costs docs/scale-out.md and docs/model-routes.md plan with.

    .venv/bin/python benchmarks/model_stages.py                       # rapid-layout (ONNX, one CPU thread)
    .venv/bin/python benchmarks/model_stages.py --transformers DIR    # also a transformers detector (GPU if any)
    .venv/bin/python benchmarks/model_stages.py --recognizer DIR --kind page   # a page VLM reading text regions
    .venv/bin/python benchmarks/model_stages.py --recognizer DIR --kind line   # a line model reading text lines
    .venv/bin/python benchmarks/model_stages.py --recognizer tiny --kind line  # a tiny model built on the spot

A recognizer reads every text block of the pages (`page`) or every ink band of them (`line`), `--batch`
crops a forward pass, as the recognize stage feeds it; `tiny` measures the stage's own overhead (crop, batch,
decode) with a model of random weights, not a real model's speed.

The pages are the throughput benchmark's: A4 at 300 dpi in six scripts, one and two columns. Each detector is
loaded once and warmed on one page first, as an actor would be.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from flows.synth.layouts import LayoutPage, layout_page
from ocr_models.geometry.boxes import crop
from ocr_models.geometry.ink import ink_bands
from ocr_models.layout.rapid import RapidLayoutDetector
from ocr_models.scripts import BY_CODE
from ocr_models.types import PageImage

LANGS = ["eng", "hin", "tha", "tam", "ben", "khm"]


def drawn(count: int) -> list[LayoutPage]:
    return [layout_page(LANGS[i % len(LANGS)], columns=1 + i % 2) for i in range(count)]


def pages(made: list[LayoutPage]) -> list[PageImage]:
    return [PageImage(np.asarray(page.image), 300) for page in made]


def crops(made: list[LayoutPage], kind: str) -> list[list[PageImage]]:
    """Each page's text blocks (kind page) or the ink bands inside them (kind line), as the stage cuts them."""
    out = []
    for page in made:
        image = PageImage(np.asarray(page.image), 300)
        blocks = [crop(image, block.bbox, 24) for block in page.of_kind("title", "text", "figure_caption")]
        out.append(blocks if kind == "page" else [crop(block, band, 6) for block in blocks
                                                  for band in ink_bands(block)])
    return out


def measure_recognizer(name: str, recognizer, per_page: list[list[PageImage]], batch: int) -> None:
    flat = [c for page in per_page for c in page]
    script = BY_CODE["Latn"]
    recognizer.read(flat[:batch], script)  # warm: the first forward pass allocates
    started = time.perf_counter()
    recognizer.read(flat, script)
    seconds = time.perf_counter() - started
    print(f"{name:<44} {len(flat) / seconds:8.2f} crops/s {len(per_page) / seconds:8.2f} pages/s "
          f"({len(flat)} crops, {batch} a batch)")


def recognizer_for(model: str, kind: str, batch: int, max_new_tokens: int):
    from ocr_models.recognition.transformers import TransformersRecognizer, TransformersRecognizerOptions

    if model == "tiny":  # the tests' tiny models (random weights): the stage's overhead, not a model's speed
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.support.tiny_models import tiny_captioner, tiny_line_reader

        folder = Path(tempfile.mkdtemp()) / "tiny"
        model = str(tiny_captioner(folder, "lontar") if kind == "page" else tiny_line_reader(folder, "lontar"))
    return TransformersRecognizer(TransformersRecognizerOptions(kind=kind, model=model, batch_size=batch,
                                                                max_new_tokens=max_new_tokens))


def measure(name: str, detector, images: list[PageImage]) -> None:
    detector.detect(images[0])
    started = time.perf_counter()
    for image in images:
        detector.detect(image)
    seconds = (time.perf_counter() - started) / len(images)
    print(f"{name:<44} {seconds * 1000:8.0f} ms/page {1 / seconds:8.2f} pages/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=12, help="pages measured per detector")
    parser.add_argument("--transformers", metavar="DIR", help="a transformers object-detection model folder")
    parser.add_argument("--recognizer", metavar="DIR", help="a recognizer model folder (or `tiny`)")
    parser.add_argument("--kind", choices=("page", "line"), default="page", help="what the recognizer reads")
    parser.add_argument("--batch", type=int, default=8, help="crops a forward pass")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="longest reading of one crop")
    parser.add_argument("--no-layout", action="store_true", help="skip the layout detectors")
    args = parser.parse_args()
    made = drawn(args.pages)
    images = pages(made)
    if args.recognizer:
        recognizer = recognizer_for(args.recognizer, args.kind, args.batch, args.max_new_tokens)
        measure_recognizer(f"{args.kind} recognizer {args.recognizer} ({recognizer.device})", recognizer,
                           crops(made, args.kind), args.batch)
    if args.no_layout:
        return
    measure("rapid-layout, CPU, 1 thread", RapidLayoutDetector(), images)
    if args.transformers:
        from ocr_models.layout.transformers import TransformersLayoutDetector, TransformersLayoutOptions

        detector = TransformersLayoutDetector(TransformersLayoutOptions(model=args.transformers))
        measure(f"transformers {args.transformers} ({detector.device})", detector, images)


if __name__ == "__main__":
    main()
