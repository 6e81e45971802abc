"""Accuracy per language and script: Lontar's automatic routing against Tesseract told the language by hand.

    make bench-accuracy                                    # 3 pages per language: 48 pages
    .venv/bin/python benchmarks/accuracy.py --per-language 1

In one run on one machine:
1. `lontar eval-set` writes the benchmark set (flows/synth/eval_set.py): 16 languages in 15 scripts, one and two
   columns, degradations rotating over the pages (clean, blur, skew, noise, JPEG, faded, show-through,
   150 dpi, upside down, sideways), the truth of every page beside it;
2. automatic: `lontar run` on the scans with no hint at all, then `lontar eval` against the truth;
3. by hand: the `tesseract` CLI on each scan with `-l <the page's language>` (what a user who knows the
   language types; default page segmentation), all cores, OMP_THREAD_LIMIT=1;
4. English only: the same with `-l eng`.
CER is pooled per group (flows/dataset/evaluate.py: the sum of edits over the sum of truth characters). Prints a
table per language, one per degradation, and the targets of docs/accuracy.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from flows.dataset.evaluate import score_page

BIN = Path(sys.executable).parent
ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}


def tesseract(path: Path, lang: str) -> str:
    out = subprocess.run(["tesseract", str(path), "-", "-l", lang], capture_output=True, text=True, env=ENV,
                         check=True)
    return out.stdout


def pooled(pairs: list[tuple[int, int]]) -> float:
    return sum(e for e, _ in pairs) / max(1, sum(n for _, n in pairs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-language", type=int, default=3)
    parser.add_argument("--langs", help="only these languages (default: all 16)")
    parser.add_argument("--work", help="keep the set, dataset and reports here (default: a temporary folder)")
    parser.add_argument("--per-page", action="store_true", help="also print each page's CERs")
    parser.add_argument("--json", help="also write every group's figures to this file")
    parser.add_argument("--config", help="run Lontar with this config file (e.g. another script_id)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        langs = ["--langs", args.langs] if args.langs else []
        subprocess.run([BIN / "lontar", "eval-set", work / "set", "--per-language", str(args.per_language),
                        *langs], check=True, env=ENV)
        config = ["--config", args.config] if args.config else []
        subprocess.run([BIN / "lontar", "run", work / "set" / "scans", "--out", work / "out", "--no-progress",
                        *config], check=True, env=ENV)
        subprocess.run([BIN / "lontar", "eval", work / "out", "--truth", work / "set" / "truth",
                        "--json", work / "eval.json"], check=True, env=ENV, stdout=subprocess.DEVNULL)
        pages = json.loads((work / "set" / "pages.json").read_text(encoding="utf-8"))
        auto = {Path(p["truth"]).stem: p for p in json.loads((work / "eval.json").read_text())["pages"]}
        scans = [(work / "set" / "scans" / p["name"], p) for p in pages]
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            by_hand = list(pool.map(lambda s: tesseract(s[0], s[1]["lang"]), scans))
            english = list(pool.map(lambda s: tesseract(s[0], "eng"), scans))
    rows: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for page, hand_text, eng_text in zip(pages, by_hand, english, strict=True):
        mine = auto[Path(page["name"]).stem]
        if args.per_page:
            hand = score_page(page["text"], hand_text)
            print(f"{page['name']:<36} read as {mine['read_script']}: auto {mine['cer']:.4f}, "
                  f"by hand {hand[0] / max(1, hand[1]):.4f}")
        for key in (f"lang:{page['lang']}", f"degradation:{page['degradation']}", "all",
                    "clean" if page["degradation"] == "clean" else "degraded"):
            group = rows[key]
            group["auto"].append((mine["char_edits"], mine["chars"]))
            group["hand"].append(score_page(page["text"], hand_text)[:2])
            group["eng"].append(score_page(page["text"], eng_text)[:2])
            group["script"].append(mine["read_script"] == page["script"])
    if args.json:
        Path(args.json).write_text(json.dumps({key: summary(group) for key, group in rows.items()}, indent=1))
    print_table("language", [k for k in rows if k.startswith("lang:")], rows, pages)
    print_table("degradation", [k for k in rows if k.startswith("degradation:")], rows, pages)
    print_table("pages", ["clean", "degraded", "all"], rows, pages)
    targets(rows)


def summary(group: dict) -> dict:
    return {"pages": len(group["auto"]), "detected": sum(group["script"]), "auto_cer": round(pooled(group["auto"]), 4),
            "by_hand_cer": round(pooled(group["hand"]), 4), "english_cer": round(pooled(group["eng"]), 4)}


def print_table(title: str, keys: list[str], rows: dict, pages: list[dict]) -> None:
    scripts = {p["lang"]: p["script"] for p in pages}
    print(f"\n{title:<13} {'script':>6} {'pages':>5} {'detected':>8} {'auto CER':>9} {'by hand':>8} {'eng only':>8}")
    for key in keys:
        group, name = rows[key], key.split(":")[-1]
        print(f"{name:<13} {scripts.get(name, ''):>6} {len(group['auto']):>5} "
              f"{sum(group['script']) / len(group['script']):>8.0%} {pooled(group['auto']):>9.4f} "
              f"{pooled(group['hand']):>8.4f} {pooled(group['eng']):>8.4f}")


def targets(rows: dict) -> None:
    detected = rows["all"]["script"]
    print(f"\nscript detection: {sum(detected)}/{len(detected)} pages ({sum(detected) / len(detected):.1%}; "
          "target >= 98%)")
    worse = [k.split(":")[1] for k in rows if k.startswith("lang:")
             and pooled(rows[k]["auto"]) > pooled(rows[k]["hand"])]
    print(f"languages where automatic CER > by hand: {', '.join(worse) or 'none'} (target: none)")
    degraded = rows["degraded"]
    print(f"degraded pages: automatic CER {pooled(degraded['auto']):.4f} vs by hand {pooled(degraded['hand']):.4f}"
          " (target: lower)")


if __name__ == "__main__":
    main()
