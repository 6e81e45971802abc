"""What one born-digital (text-layer) page costs, step by step, in one process (no Ray):

    .venv/bin/python benchmarks/text_layer_page.py              # a generated 50-page PDF
    .venv/bin/python benchmarks/text_layer_page.py --pdf FILE

Taking the text layer, judging it (text_layer.judge: the letter checks, fonts, language), its lines and words,
the stored page image at several resolutions (ingest.text_layer_image_dpi),
the row, its Arrow conversion, the quality signals and the shard writer; milliseconds a page (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# before tesserocr loads OpenMP, as in every Ray worker (configs/environment.py): without it the glyph trial's
# Tesseract spins threads, and a 14 ms line reading counts 120-200 ms of process CPU
os.environ["OMP_THREAD_LIMIT"] = "1"

import fsspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors.sources.documents import PdfDocument, _render
from actors.sources.text_layer import judge, layer_lines
from actors.stages.ingest import page_row
from actors.store import quality
from actors.store.records import batch_table
from actors.store.writer import ShardWriter
from configs.model import IngestOptions
from flows.synth.archive import born_digital_pdf
from flows.synth.text import SAMPLE_TEXT

WRITE_BATCH = 64  # rows the writer gets at a time: a read task's pages


def per_page(label: str, step: Callable[[int], object], pages: int) -> None:
    step(0)  # the first call of some steps builds caches: not a page's cost
    started = time.perf_counter()
    for index in range(pages):
        step(index)
    print(f"{label:<34} {(time.perf_counter() - started) / pages * 1000:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdf", type=Path, help="a born-digital PDF (default: 50 generated pages)")
    args = parser.parse_args()
    data = args.pdf.read_bytes() if args.pdf else born_digital_pdf(
        [tuple(f"{line} (page {i})" for line in SAMPLE_TEXT["eng"]) for i in range(50)])
    options = IngestOptions()
    doc = PdfDocument(data, options)
    count = doc.page_count
    pages = [doc._doc.load_page(i) for i in range(count)]
    texts = [doc._text_layer(page)[0] for page in pages]
    if None in texts:
        raise SystemExit("every page must have a usable text layer")
    print(f"{count} pages; milliseconds a page")
    per_page("text layer (blocks, sorted)", lambda i: pages[i].get_text("blocks", sort=True), count)
    trusted: set[str] = set()  # as a run judges: a font that passed the glyph trial is not tried again
    per_page("judged (text_layer.judge)", lambda i: judge(pages[i], texts[i], options, None, trusted), count)
    per_page("lines and words", lambda i: layer_lines(pages[i], options.text_layer_image_dpi), count)
    for dpi in (96, 72, 48):
        per_page(f"page image, JPEG at {dpi} dpi", lambda i, dpi=dpi: _render(
            pages[i], dpi, "jpeg", options.max_image_pixels, text_layer=texts[i]), count)
    per_page("the whole page (default options)", doc.page, count)
    contents = [doc.page(i) for i in range(count)]
    base = {"source_uri": "x.pdf", "source_sha256": "s", "source_format": "pdf", "page_count": count}
    rows = [page_row(base, i, contents[i]) for i in range(count)]
    per_page("row", lambda i: page_row(base, i, contents[i]), count)
    per_page("Arrow batch of one row", lambda i: batch_table([rows[i]]), count)
    per_page("quality signals", lambda i: quality.signals(rows[i]["text"], "Latn"), count)
    with tempfile.TemporaryDirectory() as folder:
        writer = ShardWriter(fsspec.filesystem("file"), folder, "u", {"run_id": "r", "batch_id": "b",
                                                                       "config_hash": "c"})
        tables = {i: batch_table(rows[i:i + WRITE_BATCH]) for i in range(0, count, WRITE_BATCH)}
        per_page(f"shard writer ({WRITE_BATCH} rows a write)",
                 lambda i: writer.write(tables[i]) if i in tables else None, count)
        writer.close()
    print(f"stored page image: {sum(len(c.image) for c in contents) // count:,} bytes a page (96-dpi JPEG)")


if __name__ == "__main__":
    main()
