"""`lontar compact` on a dataset of 1,000 one-page units: shards and bytes before and after, query times before and
after (the ratio, measured in the same run), and every id once.

    .venv/bin/python benchmarks/compaction.py [--units 1000] [--scans DIR] [--work DIR]

The pages are real: each unit holds one page of DIR (default ../shared/realscans: Kannada and Sanskrit book
pages, English receipts and a eurotext page), its image bytes as scanned and its transcription as the text and
lines, with three line pairs cut from it; the scans are used in turn. Written by Lontar's own shard writer,
as a run with `output.pages_per_unit: 1` writes them (one page shard and three pair shards a unit, at most).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import fsspec
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from actors.store.records import batch_table  # noqa: E402
from actors.store.writer import ShardWriter  # noqa: E402
from flows.dataset import compaction, manifest, views  # noqa: E402

DEFAULT_SCANS = REPO.parent / "shared" / "realscans"
SCRIPTS = {"kannada": "Knda", "devanagari": "Deva", "latin": "Latn"}
QUERIES = {
    "count by script": "SELECT script, count(*), avg(text_chars) FROM pages GROUP BY 1",
    "text search": "SELECT page_id FROM pages WHERE text LIKE '%the%' OR text LIKE '%ರ%'",
    "line pairs": "SELECT count(*), sum(octet_length(image)) FROM pairs WHERE kind = 'line'",
}


def real_pages(scans: Path) -> list[dict]:
    pages = []
    with open(scans / "manifest.csv") as handle:
        for row in csv.DictReader(handle):
            image = (scans / row["path"]).read_bytes()
            text = (scans / row["truth_path"]).read_text()
            with Image.open(io.BytesIO(image)) as page:
                width, height = page.size
                crops = []
                for n in range(3):  # three strips as line crops
                    box = (0, height * (n + 1) // 5, width, height * (n + 1) // 5 + 60)
                    buffer = io.BytesIO()
                    page.crop(box).convert("L").save(buffer, "PNG")
                    crops.append((box, buffer.getvalue()))
            pages.append({"image": image, "text": text, "script": SCRIPTS[row["script"]], "width": width,
                          "height": height, "lines": [line for line in text.splitlines() if line.strip()],
                          "crops": crops, "format": row["path"].rsplit(".", 1)[1]})
    return pages


def write_units(root: Path, pages: list[dict], units: int) -> None:
    fs = fsspec.filesystem("file")
    for n in range(units):
        source = pages[n % len(pages)]
        sha = hashlib.sha256(f"unit {n}".encode()).hexdigest()
        page_id = sha[:32]
        lines = source["lines"]
        row = {"page_id": page_id, "source_uri": f"/archive/scan-{n:05d}.{source['format']}", "source_sha256": sha,
               "source_format": "png", "page_index": 0, "page_count": 1, "status": "ok", "image": source["image"],
               "image_format": "png", "width": source["width"], "height": source["height"], "text": source["text"],
               "text_source": "ocr", "text_source_reason": "no_text_layer", "script": source["script"],
               "ocr_confidence": 0.9, "engine": "tesseract", "engine_version": "5.3.0",
               "lines": [{"text": line, "bbox": [0, 0, 10, 10], "confidence": 0.9, "words": []} for line in lines],
               "pairs": [{"pair_id": f"{page_id}-{k}", "kind": "line", "bbox": list(box), "image": crop,
                          "image_format": "png", "width": box[2] - box[0], "height": box[3] - box[1],
                          "text": lines[k % len(lines)], "script": source["script"],
                          "alignment": {"method": "ocr", "score": 0.9}}
                         for k, (box, crop) in enumerate(source["crops"])]}
        writer = ShardWriter(fs, str(root), f"{n:05d}" + sha[:11],
                             {"run_id": "20261207T000000Z-bench0", "batch_id": "b-bench", "config_hash": "c1"})
        writer.write(batch_table([row]))
        writer.close()


def time_queries(root: Path, repeats: int = 5) -> dict[str, float]:
    """Median seconds of each query through `lontar query`'s views (connect included), and of plain DuckDB over
    the manifest's file list."""
    times = {}
    for name, sql in QUERIES.items():
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            views.connect(str(root)).execute(sql).fetchall()
            samples.append(time.perf_counter() - start)
        times[f"lontar: {name}"] = statistics.median(samples)
    body = json.loads((root / "_dataset.json").read_text())
    files = [str(root / s["path"]) for s in body["shards"] if s["table"] == "pages"]
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        duckdb.connect().execute(f"SELECT script, count(*), avg(text_chars) FROM read_parquet({files}, "
                                 "hive_partitioning = true, union_by_name = true) GROUP BY 1").fetchall()
        samples.append(time.perf_counter() - start)
    times["duckdb, manifest's files: count by script"] = statistics.median(samples)
    return times


def ids(root: Path) -> tuple[int, int, int, int]:
    con = views.connect(str(root))
    return (*con.execute("SELECT count(*), count(DISTINCT page_id) FROM pages").fetchone(),
            *con.execute("SELECT count(*), count(DISTINCT pair_id) FROM pairs").fetchone())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--scans", type=Path, default=DEFAULT_SCANS)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="lontar-compact-"))
    root = work / "dataset"
    pages = real_pages(args.scans)
    start = time.perf_counter()
    write_units(root, pages, args.units)
    manifest.refresh(str(root))
    print(f"{args.units} one-page units of {len(pages)} real scans written in {time.perf_counter() - start:.1f} s")
    before_body = json.loads((root / "_dataset.json").read_text())
    before_ids, before_times = ids(root), time_queries(root)
    start = time.perf_counter()
    result = compaction.compact(str(root))
    seconds = time.perf_counter() - start
    after_ids, after_times = ids(root), time_queries(root)
    after_body = json.loads((root / "_dataset.json").read_text())
    print(f"compaction: {seconds:.1f} s, {result.groups} groups, {result.rows} rows moved")
    print("| | before | after | after / before |\n|---|---|---|---|")
    for table in ("pages", "pairs"):
        b, a = before_body["tables"][table], after_body["tables"][table]
        print(f"| {table}: shards | {b['shards']} | {a['shards']} | {a['shards'] / b['shards']:.3f} |")
        print(f"| {table}: MB | {b['bytes'] / 1e6:.1f} | {a['bytes'] / 1e6:.1f} | {a['bytes'] / b['bytes']:.3f} |")
    for name in before_times:
        print(f"| {name}, s | {before_times[name]:.3f} | {after_times[name]:.3f} | "
              f"{after_times[name] / before_times[name]:.2f} |")
    print(f"| pages, distinct page ids, pairs, distinct pair ids | {before_ids} | {after_ids} | "
          f"{'same' if before_ids == after_ids else 'DIFFERENT'} |")
    assert before_ids == after_ids and after_ids[0] == after_ids[1] == args.units, "rows lost or doubled"


if __name__ == "__main__":
    main()
