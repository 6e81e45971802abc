"""The script identifier on whole pages: real scans and drawn pages, script named right and CPU per page.

    .venv/bin/python benchmarks/script_id.py [--scans DIR] [--drawn N] [--model FILE] [--json FILE]

Real scans (default ../shared/realscans, laid out as benchmarks/real_scans.py reads them) are read where they
lie; drawn pages are the accuracy set's (`lontar eval-set`: every language of it, N pages each, every
degradation). Per page: the script the identifier names from the page alone (no hint, no Tesseract), its pooled
probability, and the process CPU time of the identification (line finding and crops included; decoding the
file is not, the pipeline has the page decoded already). Pages drawn upside down or sideways count as named
right only by the script: turning pages is not the identifier's job yet.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchmarks.real_scans import DEFAULT_SCANS, load  # noqa: E402
from ocr_models.script_id.identifier import MODEL, ScriptIdentifier, ScriptIdOptions  # noqa: E402
from ocr_models.types import PageImage  # noqa: E402


def page_image(path: Path) -> PageImage:
    with Image.open(path) as image:
        dpi = image.info.get("dpi", (0, 0))[0]
        grey = np.asarray(image.convert("L"))
    return PageImage(grey, round(dpi) if dpi and dpi >= 50 else 300, bool(dpi))


def identify(identifier: ScriptIdentifier, pages: list[tuple[str, Path, str]]) -> list[dict]:
    rows = []
    for name, path, truth in pages:
        image = page_image(path)
        identifier.page(image)  # the first call of a shape pays onnxruntime's set-up: not the page's cost
        started = time.process_time()
        guess = identifier.page(image)
        rows.append({"page": name, "truth": truth, "named": guess.script, "confidence": guess.confidence,
                     "upside_down": guess.upside_down, "windows": guess.windows,
                     "ms": round(1000 * (time.process_time() - started), 1)})
    return rows


def report(title: str, rows: list[dict]) -> dict:
    by_script = defaultdict(list)
    for row in rows:
        by_script[row["truth"]].append(row)
    print(f"\n{title}: {sum(r['named'] == r['truth'] for r in rows)}/{len(rows)} pages named right; "
          f"CPU per page median {np.median([r['ms'] for r in rows]):.1f} ms, max {max(r['ms'] for r in rows):.1f} ms")
    print(f"{'script':8} {'pages':>5} {'right':>5}  wrong (named as)")
    summary = {}
    for script, group in sorted(by_script.items()):
        wrong = Counter(str(r["named"]) for r in group if r["named"] != script)
        print(f"{script:8} {len(group):>5} {sum(r['named'] == script for r in group):>5}  {dict(wrong) or ''}")
        summary[script] = {"pages": len(group), "right": sum(r["named"] == script for r in group),
                           "wrong": dict(wrong)}
    for row in rows:
        if row["named"] != row["truth"]:
            print(f"  wrong: {row['page']} named {row['named']} ({row['confidence']})")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=Path, default=DEFAULT_SCANS)
    parser.add_argument("--drawn", type=int, default=1, help="drawn pages per language (0: none)")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    identifier = ScriptIdentifier(ScriptIdOptions(model=str(args.model)))
    results = {}
    if args.scans:
        real = [(p.name, p.image, p.script) for p in load(args.scans, set())]
        rows = identify(identifier, real)
        results["real"] = {"pages": rows, "summary": report(f"real scans ({args.scans})", rows)}
    if args.drawn:
        from flows.synth.eval_set import write_eval_set

        with tempfile.TemporaryDirectory() as folder:
            drawn = write_eval_set(Path(folder), args.drawn, seed=7)
            rows = identify(identifier, [(p.name, Path(folder) / "scans" / p.name, p.script) for p in drawn])
        results["drawn"] = {"pages": rows, "summary": report("drawn pages (lontar eval-set, seed 7)", rows)}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
