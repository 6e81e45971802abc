"""Throughput in one run: Lontar against the physical limit (the `tesseract` CLI on every core) and OCRmyPDF.

    make bench                                     # 100 scanned pages in 9 scripts, and the rest below
    .venv/bin/python benchmarks/throughput.py --pages 20 --skip ocrmypdf

One deterministic archive (flows/synth/layouts.py: A4 pages at 300 dpi, one and two columns, each with a
figure and its printed caption, blurred like a scan; one multi-page scanned PDF per script, the scanner's
JPEG inside) is measured five ways on this machine, one after the other:
- limit:      `tesseract page.jpg - -l LANG --psm P` over the same JPEGs, as many processes as cores,
              OMP_THREAD_LIMIT=1, each page with its script's language and Lontar's page segmentation mode;
- lontar:     `lontar run` with `--langs` of the archive (scripts still detected per page), layout on; and
              again with `layout: {kind: none}`: start-up (preflight, planning, Ray) apart from steady-state
              pages/s, and the OCR stage's seconds per page;
- ocrmypdf:   `ocrmypdf --jobs CORES --sidecar` on each PDF with its own language (its best case);
- scaling:    cost as work grows: born-digital archives of 100, 1,000 and 5,000 pages (text-layer path),
              one born-digital PDF of 2,000 pages, scanned archives of 50 and 200 pages, a folder of 2,000
              small images; pages/s once the first pages are out and end to end, and the peak resident
              memory of the whole process tree (driver, Ray, workers) of each.
Prints one table with the ratios the targets are stated in (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import contextlib

from flows.synth.archive import born_digital_pdf, jpeg_bytes
from flows.synth.layouts import FIGURE_CAPTIONS, layout_page
from flows.synth.text import SAMPLE_TEXT
from ocr_models.scripts import LANGUAGE_SCRIPT
from ocr_models.tesseract.engine import TesseractOptions

BIN = Path(sys.executable).parent
ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}


def make_archive(folder: Path, pages: int, langs: list[str]) -> list[tuple[Path, str]]:
    """Scanned PDFs (one per language) under folder/scans, their page JPEGs under folder/pages."""
    import pymupdf

    (folder / "scans").mkdir(parents=True)
    (folder / "pages").mkdir()
    per_lang: dict[str, list[bytes]] = {lang: [] for lang in langs}
    jpegs = []
    for i in range(pages):
        lang = langs[i % len(langs)]
        image = layout_page(lang, columns=1 + i % 2, seed=i).image
        data = jpeg_bytes(image)
        per_lang[lang].append(data)
        path = folder / "pages" / f"{i:04d}-{lang}.jpg"
        path.write_bytes(data)
        jpegs.append((path, lang))
    for lang, datas in per_lang.items():
        if not datas:
            continue
        doc = pymupdf.open()
        for data in datas:
            page = doc.new_page(width=595.3, height=841.7)
            page.insert_image(page.rect, stream=data)
        doc.save(folder / "scans" / f"{lang}.pdf")
    return jpegs


def make_small_images(folder: Path, count: int) -> None:
    """`count` small PNGs (a few words each): many files, little OCR, for memory as files grow."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True)
    for i in range(count):
        image = Image.new("L", (400, 80), 255)
        ImageDraw.Draw(image).text((10, 30), f"Minutes of meeting {i}", fill=0)
        image.save(folder / f"{i:05d}.png")


def make_born_digital(folder: Path, pages: int, per_file: int = 50) -> None:
    folder.mkdir(parents=True)
    lines = SAMPLE_TEXT["eng"]
    for start in range(0, pages, per_file):
        count = min(per_file, pages - start)
        paragraphs = [tuple(f"{line} (page {start + i})" for line in lines) for i in range(count)]
        (folder / f"minutes-{start // per_file:04d}.pdf").write_bytes(born_digital_pdf(paragraphs))


class PeakMemory:
    """Samples the summed resident memory of a process and all its descendants."""

    def __init__(self, pid: int, every_s: float = 0.2) -> None:
        self.root, self.every_s, self.peak = psutil.Process(pid), every_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            try:
                for proc in [self.root, *self.root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += proc.memory_info().rss
            except psutil.Error:
                return
            self.peak = max(self.peak, total)
            self._stop.wait(self.every_s)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def limit(jpegs: list[tuple[Path, str]], cores: int) -> float:
    """Pages/s of the bare `tesseract` CLI over the pages, `cores` processes at once."""
    options = TesseractOptions()

    def one(item: tuple[Path, str]) -> None:
        path, lang = item
        psm = options.psm_by_script.get(LANGUAGE_SCRIPT[lang].code, options.page_segmentation_mode)
        subprocess.run(["tesseract", str(path), "-", "-l", lang, "--psm", str(psm)], env=ENV, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    started = time.perf_counter()
    with ThreadPoolExecutor(cores) as pool:
        list(pool.map(one, jpegs))
    return len(jpegs) / (time.perf_counter() - started)


def lontar(inputs: Path, out: Path, langs: list[str], config: str = "") -> dict:
    """One `lontar run`: its report, wall time and peak memory of its process tree."""
    args = [str(BIN / "lontar"), "run", str(inputs), "--out", str(out), "--no-progress", "--langs", ",".join(langs)]
    if config:
        (out.parent / f"{out.name}.yaml").write_text(config)
        args += ["--config", str(out.parent / f"{out.name}.yaml")]
    started = time.perf_counter()
    process = subprocess.Popen(args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)
    memory = PeakMemory(process.pid)
    _stdout, stderr = process.communicate()
    wall, peak = time.perf_counter() - started, memory.stop()
    if process.returncode != 0:
        raise SystemExit(f"lontar run failed ({process.returncode}):\n{stderr[-3000:]}")
    (report_path,) = out.glob("_runs/*/*.json")
    report = json.loads(report_path.read_text())
    timings = report["timings"]
    pages = report["pages"]["total"]
    return {"pages": pages, "errors": report["pages"]["error"], "wall_s": wall, "peak_mb": peak / 2**20,
            "end_to_end": pages / wall, "steady": timings["pages_per_s"],
            "flowing": timings.get("steady_pages_per_s", timings["pages_per_s"]),
            "first_batch_s": timings.get("first_batch_s", 0.0), "launch_s": timings.get("launch_s", 0.0),
            "startup_s": timings["preflight_s"] + timings["plan_s"] + timings.get("ray_start_s", 0.0),
            "ocr_s_per_page": report["ocr_seconds"] / max(1, pages)}


def ocrmypdf(scans: Path, work: Path, cores: int) -> tuple[float, int]:
    """Pages/s of OCRmyPDF over every PDF (each with its own language), and the pages it read."""
    import pymupdf

    work.mkdir()
    pages = 0
    started = time.perf_counter()
    for pdf in sorted(scans.glob("*.pdf")):
        lang = pdf.stem
        pages += pymupdf.open(pdf).page_count
        subprocess.run([str(BIN / "ocrmypdf"), "--jobs", str(cores), "-l", lang, "--sidecar",
                        str(work / f"{lang}.txt"), "--output-type", "pdf", "--optimize", "0", "--quiet",
                        str(pdf), str(work / pdf.name)], env=ENV, check=True, stdin=subprocess.DEVNULL)
    return pages / (time.perf_counter() - started), pages


def scaling(work: Path, cores: int, born: str, scanned: str, langs: list[str], images: int,
            big_pdf: int) -> list[tuple[str, str, str]]:
    """Cost as work grows: born-digital and scanned archives of growing size, a single big PDF and a folder
    of many small images; pages/s (once the first pages are out, and end to end) and peak memory of each."""
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    rows: list[tuple[str, str, str]] = []
    runs: dict[str, dict] = {}
    cases: list[tuple[str, Path, list[str], str]] = []
    for count in map(int, filter(None, born.split(","))):
        make_born_digital(work / f"born-{count}", count)
        cases.append((f"born-digital {count}", work / f"born-{count}", ["eng"], ""))
    if big_pdf:
        make_born_digital(work / "big-pdf", big_pdf, per_file=big_pdf)
        cases.append((f"born-digital, one PDF of {big_pdf}", work / "big-pdf", ["eng"], ""))
    for count in map(int, filter(None, scanned.split(","))):
        make_archive(work / f"scanned-{count}", count, langs)
        cases.append((f"scanned {count}, layout on", work / f"scanned-{count}" / "scans", langs, ""))
    if images:
        make_small_images(work / "images", images)
        cases.append((f"{images} small images, layout off", work / "images", ["eng"], "layout: {kind: none}\n"))
    for label, folder, case_langs, config in cases:
        say(f"scaling: {label}")
        run = runs[label] = lontar(folder, work / f"out-{label.replace(' ', '-').replace(',', '')}", case_langs,
                                   config)
        rows.append((f"scaling: {label}", f"{run['flowing']:.2f}",
                     f"{run['flowing'] / cores:.1f}/core once flowing; {run['end_to_end']:.2f} end to end; first "
                     f"pages after {run['first_batch_s']:.1f} s; peak {run['peak_mb']:.0f} MiB"))
    counts = sorted(int(c) for c in filter(None, born.split(",")))
    if len(counts) >= 2:
        small, large = runs[f"born-digital {counts[-2]}"], runs[f"born-digital {counts[-1]}"]
        rows.append((f"scaling: born-digital {counts[-1]} against {counts[-2]}",
                     f"{large['flowing'] / small['flowing']:.2f} x",
                     f"pages/s ratio; peak memory {large['peak_mb'] / small['peak_mb']:.2f} x"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100, help="scanned pages in the archive (default 100)")
    parser.add_argument("--born-digital", default="100,1000,5000",
                        help="born-digital page counts of the scaling table, in PDFs of 50 pages")
    parser.add_argument("--scanned", default="50,200", help="scanned page counts of the scaling table")
    parser.add_argument("--big-pdf", type=int, default=2000, help="pages of the one-file born-digital PDF")
    parser.add_argument("--images", type=int, default=2000, help="small images in one folder (layout off)")
    parser.add_argument("--langs", default=",".join(FIGURE_CAPTIONS), help="languages of the scanned pages")
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: limit, lontar, "
                                                   "nolayout, ocrmypdf, born-digital (the scaling table)")
    parser.add_argument("--keep", type=Path, help="keep the archive and outputs in this folder")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    langs = args.langs.split(",")
    cores = os.cpu_count() or 1
    work = args.keep or Path(tempfile.mkdtemp(prefix="lontar-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731

    say(f"generating {args.pages} scanned pages ({', '.join(langs)}) in {work}")
    jpegs = make_archive(work / "archive", args.pages, langs)
    rows: list[tuple[str, str, str]] = []
    results: dict[str, float] = {}
    try:
        if "limit" not in skip:
            say(f"limit: tesseract CLI, {cores} processes")
            results["limit"] = limit(jpegs, cores)
            rows.append(("limit: tesseract CLI, all cores", f"{results['limit']:.3f}", ""))
        for name, config in (("lontar", ""), ("nolayout", "layout: {kind: none}\n")):
            if name in skip:
                continue
            say(f"lontar run, {'layout off' if config else 'layout on'}")
            run = lontar(work / "archive" / "scans", work / f"out-{name}", langs, config)
            results[name] = run["steady"]
            label = "lontar, layout " + ("off" if config else "on")
            ratio = f"{run['steady'] / results['limit']:.2f} x limit" if "limit" in results else ""
            rows.append((f"{label}: after start-up", f"{run['steady']:.3f}", ratio))
            rows.append((f"{label}: end to end ({run['startup_s']:.0f} s start-up)", f"{run['end_to_end']:.3f}",
                         f"OCR stage {run['ocr_s_per_page']:.2f} s/page, peak {run['peak_mb']:.0f} MiB, "
                         f"{run['errors']} error pages"))
            results[f"{name}_e2e"] = run["end_to_end"]
        if "ocrmypdf" not in skip:
            say(f"ocrmypdf --jobs {cores}")
            results["ocrmypdf"], _ = ocrmypdf(work / "archive" / "scans", work / "ocrmypdf", cores)
            ratio = (f"lontar end to end = {results['lontar_e2e'] / results['ocrmypdf']:.2f} x this"
                     if "lontar_e2e" in results else "")
            rows.append((f"ocrmypdf --jobs {cores} --sidecar", f"{results['ocrmypdf']:.3f}", ratio))
        if "born-digital" not in skip:
            rows += scaling(work, cores, args.born_digital, args.scanned, langs, args.images, args.big_pdf)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.pages} scanned pages ({len(langs)} scripts); {cores} cores; "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB")
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'pages/s':>12}  ratio / notes")
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:>12}  {note}")


if __name__ == "__main__":
    main()
