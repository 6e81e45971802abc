"""Near-duplicate pages on real scans: is a second, differently scanned copy of a page found, and are different
pages left apart?

    .venv/bin/python benchmarks/near_duplicates.py [--scans DIR] [--work DIR]

Each page of DIR (default ../shared/realscans, 51 pages: Kannada and Sanskrit books, English receipts) gets a
second scan: 80 % of the resolution, turned 0.7 degrees, saved as JPEG at quality 60. Then:
1. across runs: `lontar run` on the originals, then a second batch of the copies into the same dataset;
2. in one run: originals and copies together, into another dataset.
3. other editions of each transcription: another header, typeset again.
Printed for each: copies in one cluster with their original (recall), originals in one cluster with another
original (false positives: pages of one book, receipts of one shop), and the
estimated Jaccard similarity of every copy to its original and of the closest two different originals.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from flows.dataset.views import read_table  # noqa: E402

BIN = Path(sys.executable).parent
DEFAULT_SCANS = REPO.parent / "shared" / "realscans"


def second_scan(image: Path, out: Path) -> None:
    with Image.open(image) as page:
        grey = page.convert("L")
        smaller = grey.resize((round(grey.width * 0.8), round(grey.height * 0.8)), Image.Resampling.LANCZOS)
        turned = smaller.rotate(0.7, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
        dpi = round(page.info.get("dpi", (300, 300))[0] * 0.8)
        turned.save(out, "JPEG", quality=60, dpi=(dpi, dpi))


def run(inputs: list[Path], out: Path, batch: str) -> None:
    subprocess.run([BIN / "lontar", "run", *map(str, inputs), "--out", out, "--no-progress", "--batch-id", batch],
                   check=True, stdout=subprocess.DEVNULL)


def measure(out: Path, names: list[str]) -> str:
    rows = read_table(str(out), "pages", ["source_uri", "page_id", "near_duplicate_of", "near_duplicate_cluster",
                                          "text_minhash"]).to_pylist()
    by_name = {Path(r["source_uri"]).name: r for r in rows}
    originals = [by_name[name] for name in names]
    copies = [by_name[f"copy-{Path(name).stem}.jpg"] for name in names]
    comparable = [(o, c) for o, c in zip(originals, copies, strict=True) if o["text_minhash"] and c["text_minhash"]]
    # in one run either copy may be written first: the pair is found when both are in one cluster
    found = sum(c["near_duplicate_cluster"] == o["near_duplicate_cluster"] for o, c in comparable)
    clusters = [o["near_duplicate_cluster"] for o in originals if o["near_duplicate_cluster"]]
    false = [o for o in originals if o["near_duplicate_cluster"] and clusters.count(o["near_duplicate_cluster"]) > 1]
    similarity = [float(np.mean(np.array(o["text_minhash"]) == np.array(c["text_minhash"]))) for o, c in comparable]
    signed = [o for o in originals if o["text_minhash"]]
    closest = max(float(np.mean(np.array(a["text_minhash"]) == np.array(b["text_minhash"])))
                  for i, a in enumerate(signed) for b in signed[i + 1:])
    return (f"copies found {found}/{len(comparable)} (pages with a signature on both sides); originals in one "
            f"cluster with another original {len(false)}/{len(originals)}"
            + (f" ({', '.join(Path(o['source_uri']).name for o in false)})" if false else "")
            + f"; copy-to-original similarity min {min(similarity):.2f}, median {np.median(similarity):.2f}; "
            f"closest two different pages {closest:.2f}")


def text_variants(scans: Path) -> str:
    """The transcriptions themselves, each against two other editions of its text: with another header (its
    first line replaced) and typeset again (lines broken at other places, words hyphenated across them)."""
    from actors.store.near_duplicates import NearDuplicates
    from configs.model import NearDuplicateOptions

    with (scans / "manifest.csv").open(encoding="utf-8") as handle:
        texts = [(scans / entry["truth_path"]).read_text(encoding="utf-8") for entry in csv.DictReader(handle)]
    index = NearDuplicates(NearDuplicateOptions())
    signed = {}
    for number, text in enumerate(texts):
        signature = index.signature(text)
        if signature is not None and index.match(signature) is None:
            index.add(str(number), str(number), signature)
            signed[number] = text
    found = {"another header": 0, "typeset again": 0}
    for number, text in signed.items():
        lines = text.splitlines()
        header = "\n".join([f"Circular no. {number * 37 % 1000}, reprinted", *lines[1:]])
        words = text.split()
        wrapped = "\n".join(" ".join(words[i:i + 7]) for i in range(0, len(words), 7))
        retypeset = "".join(f"{w[:len(w) // 2]}-\n{w[len(w) // 2:]} " if i % 9 == 4 and len(w) > 5 else f"{w} "
                            for i, w in enumerate(wrapped.split(" ")))
        for kind, variant in (("another header", header), ("typeset again", retypeset)):
            found[kind] += index.match(index.signature(variant)) == str(number)
    return (f"{len(signed)} transcriptions with a signature, {len(texts) - len(signed)} left out (too short, or "
            f"nearly another's); found: " + ", ".join(f"{kind} {n}/{len(signed)}" for kind, n in found.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=Path, default=DEFAULT_SCANS, help="folder with manifest.csv")
    parser.add_argument("--work", type=Path, help="keep the copies and datasets here (reused when present)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="lontar-neardup-"))
    with (args.scans / "manifest.csv").open(encoding="utf-8") as handle:
        images = [args.scans / entry["path"] for entry in csv.DictReader(handle)]
    originals, copies = work / "originals", work / "copies"
    originals.mkdir(parents=True, exist_ok=True)
    copies.mkdir(parents=True, exist_ok=True)
    for image in images:
        link = originals / image.name
        if not link.exists():
            link.symlink_to(image.resolve())
        copy = copies / f"copy-{image.stem}.jpg"
        if not copy.exists():
            second_scan(image, copy)
    names = [image.name for image in images]
    across = work / "across-runs"
    if not (across / "_dataset.json").exists():
        run([originals], across, "originals")
        run([copies], across, "second-scans")
    print(f"across runs: {measure(across, names)}")
    together = work / "one-run"
    if not (together / "_dataset.json").exists():
        run([originals, copies], together, "both")
    print(f"in one run:  {measure(together, names)}")
    print(f"other editions of the same text: {text_variants(args.scans)}")


if __name__ == "__main__":
    main()
