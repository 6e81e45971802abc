"""Where `ACCURACY_KNOTS` come from: a reading's word evidence against the share of characters it got right, on
real scans (development data, read where they lie).

    .venv/bin/python benchmarks/confidence.py [--scans DIR] [--jobs 2]

Each page of DIR (laid out like ../shared/realscans, see benchmarks/real_scans.py) is read whole by the Tesseract
engine four ways: as scanned with its script's model; at 45 % and at 33 % of its resolution with blur and
noise (a poorer scan of the same paper); and with a wrong script's model. For each reading: its evidence level
(`evidence_level`: 0 at the model's floor, 1 at its typical level) and 1 - CER against the transcription
(case-insensitive where the transcription has capitals only, as real_scans.py scores it). Printed:
- the knots fitted to these points (the mean accuracy of the readings around each knot's evidence level, made
  non-decreasing), and the same fit leaving each source out in turn, with the calibration it gives the left-out
  pages (a knot's value is the figure the code carries, rounded);
- the calibration of the knots in the code: readings binned by the confidence they give, mean 1 - CER per bin,
  and every reading with CER > 0.5 that gets 0.6 or more.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"  # before tesserocr loads OpenMP

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from real_scans import BINS, DEFAULT_SCANS, Page, load

from ocr_models.scripts import BY_CODE
from ocr_models.tesseract.engine import TesseractEngine, TesseractOptions
from ocr_models.tesseract.evidence import ACCURACY_KNOTS, evidence_level, on_knots
from ocr_models.types import PageImage

WRONG = {"Knda": "Telu", "Deva": "Beng", "Latn": "Mymr", "Taml": "Mlym", "Telu": "Knda", "Beng": "Deva"}
POORER = ((0.45, 0.0, 0.0), (0.33, 0.8, 25.0))  # (scale, blur radius in pixels, noise sd in grey levels)
LEVELS = (0.25, 0.4, 0.6, 0.8, 0.9, 1.0)  # the knots' evidence levels between the fixed ends
EDGES = (0.15, 0.325, 0.5, 0.7, 0.85, 0.95, float("inf"))  # readings around each level
ENDS = ((-1.0, 0.0), (0.05, 0.05)), ((1.5, 0.99),)

_engine: TesseractEngine | None = None


def readings(page: Page) -> list[tuple[float, float, str]]:
    """(evidence level, 1 - CER, kind) of the page's four readings."""
    global _engine
    _engine = _engine or TesseractEngine(TesseractOptions(try_first={}))
    scan = Image.open(page.image).convert("L")
    rng = np.random.default_rng(0)
    images = [("as scanned", scan, 1.0, page.script)]
    for scale, blur, noise in POORER:
        small = scan.resize((round(scan.width * scale), round(scan.height * scale)), Image.BILINEAR)
        pixels = np.asarray(small.filter(ImageFilter.GaussianBlur(blur)) if blur else small).astype(np.float32)
        pixels = np.clip(pixels + rng.normal(0, noise, pixels.shape), 0, 255) if noise else pixels
        images.append((f"at {scale:.0%}", Image.fromarray(pixels.astype(np.uint8)), scale, page.script))
    if page.script in WRONG:
        images.append(("wrong script", scan, 1.0, WRONG[page.script]))
    out = []
    for kind, image, scale, code in images:
        script = BY_CODE[code]
        read = _engine.recognize(PageImage(np.asarray(image), 300 * scale, scale != 1.0), script)
        out.append((evidence_level(read.evidence, script), 1 - page.scores(read.text)[0], kind))
    return out


def fit(points: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Mean accuracy of the readings around each of LEVELS, pooled where it falls (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, levels]
    for lo, hi in itertools.pairwise(EDGES):
        inside = [a for x, a in points if lo <= x < hi]
        blocks.append([sum(inside) / len(inside) if inside else 0.0, len(inside), 1])
    for i in range(len(blocks)):  # a level with no reading takes its left neighbour's value, weightless
        if not blocks[i][1]:
            blocks[i][0] = blocks[i - 1][0] if i else next((b[0] for b in blocks if b[1]), 0.0)
            blocks[i][1] = 1e-9
    i = 0
    while i < len(blocks) - 1:
        (a, wa, na), (b, wb, nb) = blocks[i], blocks[i + 1]
        if a > b:
            blocks[i:i + 2] = [[(a * wa + b * wb) / (wa + wb), wa + wb, na + nb]]
            i = max(0, i - 1)
        else:
            i += 1
    values = [min(0.99, mean) for mean, _, n in blocks for _ in range(int(n))]
    return (*ENDS[0], *((x, round(y, 2)) for x, y in zip(LEVELS, values, strict=True)), *ENDS[1])


def calibration(pairs: list[tuple[float, float]], title: str) -> None:
    print(f"\n{title}\n{'confidence':<10} {'readings':>8} {'mean conf':>9} {'mean 1-CER':>10} {'off':>6}")
    for lo, hi in itertools.pairwise(BINS):
        inside = [(c, a) for c, a in pairs if lo <= c < hi]
        if inside:
            conf, acc = (sum(v) / len(inside) for v in zip(*inside, strict=True))
            print(f"{lo:.1f}-{min(hi, 1.0):.1f}    {len(inside):>8} {conf:>9.3f} {acc:>10.3f} {acc - conf:>+6.3f}")
    bad = [c for c, a in pairs if a < 0.5 and c >= 0.6]
    print(f"readings with CER > 0.5 at confidence >= 0.6: {len(bad)} of {sum(a < 0.5 for _, a in pairs)}")


def source(page: Page) -> str:
    return page.name.split("_")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=Path, default=DEFAULT_SCANS, help="folder with manifest.csv")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    pages = load(args.scans, set())
    print(f"{len(pages)} real pages from {args.scans}, read 4 ways each on {args.jobs} processes")
    with ProcessPoolExecutor(args.jobs) as pool:
        read = dict(zip((p.name for p in pages), pool.map(readings, pages), strict=True))
    points = [(x, a) for p in pages for x, a, _ in read[p.name]]
    print(f"\nfitted to all {len(points)} readings: {fit(points)}")
    left_out = []
    for held in sorted({source(p) for p in pages}):
        knots = fit([(x, a) for p in pages if source(p) != held for x, a, _ in read[p.name]])
        print(f"without {held:<10} {knots}")
        left_out += [(on_knots(knots, x), a) for p in pages if source(p) == held for x, a, _ in read[p.name]]
    calibration(left_out, "each source's readings, by knots fitted without that source")
    print(f"\nthe knots in the code: {ACCURACY_KNOTS}")
    for kind in ("as scanned", "at 45%", "at 33%", "wrong script"):
        pairs = [(on_knots(ACCURACY_KNOTS, x), a) for p in pages for x, a, k in read[p.name] if k == kind]
        calibration(pairs, f"{kind}, by the knots in the code")
    calibration([(on_knots(ACCURACY_KNOTS, x), a) for x, a in points], "all readings, by the knots in the code")


if __name__ == "__main__":
    main()
