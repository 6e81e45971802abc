"""Pages/s of the layout detectors on the device at hand: the per-page cost docs/scale-out.md plans with.

    .venv/bin/python benchmarks/model_stages.py                       # rapid-layout (ONNX, one CPU thread)
    .venv/bin/python benchmarks/model_stages.py --transformers DIR    # also a transformers detector (GPU if any)

The pages are the throughput benchmark's: A4 at 300 dpi in six scripts, one and two columns. Each detector is
loaded once and warmed on one page first, as an actor would be.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from flows.synth.layouts import layout_page
from ocr_models.layout.rapid import RapidLayoutDetector
from ocr_models.types import PageImage

LANGS = ["eng", "hin", "tha", "tam", "ben", "khm"]


def pages(count: int) -> list[PageImage]:
    made = [layout_page(LANGS[i % len(LANGS)], columns=1 + i % 2) for i in range(count)]
    return [PageImage(np.asarray(page.image), 300) for page in made]


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
    args = parser.parse_args()
    images = pages(args.pages)
    measure("rapid-layout, CPU, 1 thread", RapidLayoutDetector(), images)
    if args.transformers:
        from ocr_models.layout.transformers import TransformersLayoutDetector, TransformersLayoutOptions

        detector = TransformersLayoutDetector(TransformersLayoutOptions(model=args.transformers))
        measure(f"transformers {args.transformers} ({detector.device})", detector, images)


if __name__ == "__main__":
    main()
