"""Real scans: Lontar with no hints against the `tesseract` CLI told each page's language, in one run.

    make bench-real                                         # ../shared/realscans
    .venv/bin/python benchmarks/real_scans.py --scans DIR [--only kannada] [--work DIR] [--json FILE]

DIR is laid out like ../shared/realscans: `manifest.csv` with the columns `path`, `truth_path` (relative to
DIR), `script` (kannada, devanagari, latin, ... or an ISO 15924 code) and `lang` (the Tesseract language of the
page). Those pages are development data: this script reads them where they lie and copies nothing into the
repository.

In one run on one machine:
1. the limit and the accuracy oracle: `tesseract PAGE - -l <lang>` per page, OMP_THREAD_LIMIT=1, one process
   per core (the CPU seconds of each process are its own, from wait4);
2. `lontar run` on the same pages with no hint (symlinks in a work folder), all cores;
3. per page and per script: CER and order-free word error of both (flows/dataset/evaluate.py's normalisation;
   without case where the transcription is in capitals only, a convention: SROIE's receipts),
   whether Lontar named the script right, OCR CPU seconds of both, and the steps Lontar ran on the page with
   their seconds (the `ocr_steps` column);
4. the calibration of `ocr_confidence`: pages binned by it, the mean of (1 - CER) in each bin;
5. the targets of issue 19, each with its figure.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from flows.dataset.evaluate import score_page  # noqa: E402
from flows.dataset.views import read_table  # noqa: E402
from ocr_models.scripts import BY_CODE, BY_NAME  # noqa: E402

BIN = Path(sys.executable).parent
ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}
DEFAULT_SCANS = REPO.parent / "shared" / "realscans"
BINS = (0.0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 1.01)


@dataclass
class Page:
    name: str  # the image's file name
    image: Path
    truth: str
    script: str  # ISO 15924 code of the truth
    lang: str
    cli_text: str = ""
    cli_cpu: float = 0.0
    row: dict = field(default_factory=dict)

    @property
    def capitals_only(self) -> bool:
        """A transcription in capitals only (SROIE's receipts: the paper is in mixed case) is a convention,
        not what the paper says: readings are compared with it without case."""
        return any(c.isupper() for c in self.truth) and not any(c.islower() for c in self.truth)

    def compared(self, text: str) -> tuple[str, str]:
        """(transcription, reading) as they are compared."""
        return (self.truth.casefold(), text.casefold()) if self.capitals_only else (self.truth, text)

    def scores(self, text: str) -> tuple[float, float, int]:
        edits, chars, _, _, matched, read = score_page(*self.compared(text))
        words = len(self.truth.split())
        f1 = 2 * matched / max(1, words + read)
        return edits / max(1, chars), 1 - f1, chars


def script_code(name: str) -> str:
    if name in BY_CODE:
        return name
    script = BY_NAME.get(name.capitalize()) or BY_NAME.get(name.title())
    if script is None:
        raise SystemExit(f"manifest names a script Lontar does not know: {name!r}")
    return script.code


def load(folder: Path, only: set[str]) -> list[Page]:
    manifest = folder / "manifest.csv"
    if not manifest.is_file():
        raise SystemExit(f"no real scans at {folder} (expected {manifest}); pass --scans DIR with a manifest.csv "
                         "laid out like ../shared/realscans (see its README.md)")
    pages = []
    with manifest.open(encoding="utf-8") as handle:
        for entry in csv.DictReader(handle):
            if only and entry["script"] not in only:
                continue
            image = folder / entry["path"]
            pages.append(Page(image.name, image, (folder / entry["truth_path"]).read_text(encoding="utf-8"),
                              script_code(entry["script"]), entry["lang"]))
    if not pages:
        raise SystemExit(f"{manifest} lists no page{' of ' + ', '.join(sorted(only)) if only else ''}")
    return pages


def tesseract(page: Page) -> None:
    """The CLI on one page, with the CPU seconds of its own process."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(["tesseract", str(page.image), "-", "-l", page.lang], stdout=out,
                                stderr=subprocess.DEVNULL, env=ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise SystemExit(f"tesseract failed on {page.image} (exit {proc.returncode})")
        out.seek(0)
        page.cli_text = out.read().decode("utf-8")
    page.cli_cpu = usage.ru_utime + usage.ru_stime


def lontar(pages: list[Page], work: Path, config: Path | None = None) -> tuple[float, dict]:
    """`lontar run` on the pages with no hint (with `config`, if any): (wall seconds, run report)."""
    inputs = work / "in"
    for page in pages:  # pages keep their file names: the dataset's rows are matched back by them
        link = inputs / page.image.parent.name / page.name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(page.image.resolve())
    started = time.monotonic()
    options = ["--config", str(config)] if config else []
    subprocess.run([BIN / "lontar", "run", inputs, "--out", work / "out", "--no-progress", *options], check=True,
                   env=ENV)
    wall = time.monotonic() - started
    table = read_table(str(work / "out"), "pages")
    rows = table.select([c for c in ("source_uri", "text", "script", "ocr_confidence", "ocr_seconds", "ocr_steps",
                                     "status", "error") if c in table.column_names]).to_pylist()
    by_name = {Path(r["source_uri"]).name: r for r in rows}
    for page in pages:
        page.row = by_name.get(page.name) or {"status": "missing", "text": ""}
    reports = sorted((work / "out" / "_runs").rglob("*.json"))
    return wall, json.loads(reports[-1].read_text()) if reports else {}


def cpu(page: Page) -> float:
    """The OCR stage's CPU seconds on the page (wall seconds for a dataset written before `ocr_steps`)."""
    steps = page.row.get("ocr_steps")
    return sum(step["seconds"] for step in steps) if steps is not None else page.row.get("ocr_seconds") or 0.0


def print_pages(pages: list[Page]) -> None:
    print(f"\n{'page':<30} {'script':>6} {'read as':>7} {'CER':>6} {'cli':>6} {'bow':>5} {'cli':>5} {'conf':>5} "
          f"{'cpu s':>6} {'cli s':>6}  steps (calls, CPU s)")
    for p in pages:
        mine, cli = p.scores(p.row.get("text") or ""), p.scores(p.cli_text)
        steps = ", ".join(f"{s['step']} {s['calls']}x {s['seconds']:.2f}" for s in p.row.get("ocr_steps") or ())
        print(f"{p.name[:30]:<30} {p.script:>6} {p.row.get('script') or '-':>7} {mine[0]:>6.3f} {cli[0]:>6.3f} "
              f"{mine[1]:>5.2f} {cli[1]:>5.2f} {p.row.get('ocr_confidence') or 0:>5.2f} {cpu(p):>6.2f} "
              f"{p.cli_cpu:>6.2f}  {steps or p.row.get('error') or ''}")


def pooled(pages: list[Page], text: str) -> tuple[float, float]:
    """(pooled CER, pooled order-free word error) of `pages` read as `text` ('lontar' or 'cli')."""
    edits = chars = matched = both = 0
    for p in pages:
        e, n, _, words, m, read = score_page(*p.compared(p.row.get("text") or "" if text == "lontar" else p.cli_text))
        edits, chars, matched, both = edits + e, chars + n, matched + m, both + words + read
    return edits / max(1, chars), 1 - 2 * matched / max(1, both)


def summary(pages: list[Page]) -> dict[str, dict]:
    groups: dict[str, list[Page]] = defaultdict(list)
    for p in pages:
        groups[p.script].append(p)
        groups["all"].append(p)
    table = {}
    for key, group in groups.items():
        (cer, bow), (cli_cer, cli_bow) = pooled(group, "lontar"), pooled(group, "cli")
        worst = max(p.scores(p.row.get("text") or "")[0] - p.scores(p.cli_text)[0] for p in group)
        table[key] = {"pages": len(group), "script_right": sum(p.row.get("script") == p.script for p in group),
                      "cer": round(cer, 4), "cli_cer": round(cli_cer, 4), "bow": round(bow, 4),
                      "cli_bow": round(cli_bow, 4), "worst_page_cer_minus_cli": round(worst, 4),
                      "cpu_s": round(sum(cpu(p) for p in group), 1),
                      "cli_cpu_s": round(sum(p.cli_cpu for p in group), 1)}
    return table


def calibration(pages: list[Page]) -> list[dict]:
    rows = []
    for lo, hi in itertools.pairwise(BINS):
        inside = [p for p in pages if lo <= (p.row.get("ocr_confidence") or 0.0) < hi]
        if inside:
            accuracy = [1 - p.scores(p.row.get("text") or "")[0] for p in inside]
            confidence = [p.row.get("ocr_confidence") or 0.0 for p in inside]
            rows.append({"bin": f"{lo:.1f}-{min(hi, 1.0):.1f}", "pages": len(inside),
                         "mean_confidence": round(sum(confidence) / len(inside), 3),
                         "mean_accuracy": round(sum(accuracy) / len(inside), 3)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=Path, default=DEFAULT_SCANS, help="folder with manifest.csv")
    parser.add_argument("--only", help="only these manifest scripts, comma-separated (e.g. kannada,latin)")
    parser.add_argument("--work", type=Path, help="keep the dataset here (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--config", type=Path, help="run Lontar with this config file (e.g. another script_id)")
    args = parser.parse_args()
    pages = load(args.scans, set(args.only.split(",")) if args.only else set())
    cores = os.cpu_count() or 1
    print(f"{len(pages)} real pages from {args.scans}, {cores} cores; "
          f"{sum(p.capitals_only for p in pages)} transcribed in capitals only are compared without case")
    started = time.monotonic()
    with ThreadPoolExecutor(cores) as pool:
        list(pool.map(tesseract, pages))
    cli_wall = time.monotonic() - started
    with tempfile.TemporaryDirectory() as tmp:
        wall, report = lontar(pages, args.work or Path(tmp), args.config)
    print_pages(pages)
    table = summary(pages)
    print(f"\n{'script':<6} {'pages':>5} {'named':>5} {'CER':>7} {'cli':>7} {'bow':>6} {'cli':>6} {'worst-cli':>9} "
          f"{'cpu s':>7} {'cli s':>7} {'ratio':>5}")
    for key, t in table.items():
        print(f"{key:<6} {t['pages']:>5} {t['script_right']:>5} {t['cer']:>7.4f} {t['cli_cer']:>7.4f} "
              f"{t['bow']:>6.3f} {t['cli_bow']:>6.3f} {t['worst_page_cer_minus_cli']:>9.3f} {t['cpu_s']:>7.1f} "
              f"{t['cli_cpu_s']:>7.1f} {t['cpu_s'] / max(0.01, t['cli_cpu_s']):>5.2f}")
    bins = calibration(pages)
    print(f"\n{'confidence':<10} {'pages':>5} {'mean conf':>9} {'mean 1-CER':>10}")
    for b in bins:
        print(f"{b['bin']:<10} {b['pages']:>5} {b['mean_confidence']:>9.3f} {b['mean_accuracy']:>10.3f}")
    steps: Counter[str] = Counter()
    for p in pages:
        for s in p.row.get("ocr_steps") or ():
            steps[s["step"]] += s["seconds"]
    print("\nLontar's OCR CPU seconds by step: " + ", ".join(f"{k} {v:.1f}" for k, v in steps.most_common()))
    n = len(pages)
    timings = report.get("timings") or {}
    # launch (interpreter, imports, Prefect's server) to the stream's first pages (actors up, models loaded)
    startup = sum(timings.get(k, 0.0) for k in ("launch_s", "preflight_s", "plan_s", "ray_start_s", "first_batch_s"))
    every = table["all"]
    bad = [p for p in pages if p.scores(p.row.get("text") or "")[0] > 0.5]
    failures = {
        "per script, CER <= the CLI's": all(t["cer"] <= t["cli_cer"] for t in table.values()),
        "script named right on >= 98 % of pages": every["script_right"] >= 0.98 * n,
        "no page over 0.10 CER worse than the CLI": every["worst_page_cer_minus_cli"] <= 0.10,
        "OCR CPU <= 1.5 x the CLI's": every["cpu_s"] <= 1.5 * every["cli_cpu_s"],
        "end to end >= 0.6 x the CLI's pages/s": n / wall >= 0.6 * n / cli_wall,
        "calibration: each bin's mean 1-CER within 0.10 of its confidence":
            all(abs(b["mean_accuracy"] - b["mean_confidence"]) <= 0.10 for b in bins),
        "calibration: every page read at CER > 0.5 below 0.6":
            all((p.row.get("ocr_confidence") or 0) < 0.6 for p in bad),
    }
    print(f"\nend to end: lontar {n / wall:.3f} pages/s ({wall:.0f} s, of which start-up to the first pages "
          f"{startup:.0f} s), CLI on {cores} cores {n / cli_wall:.3f} pages/s ({cli_wall:.0f} s): "
          f"{cli_wall / wall:.2f} x")
    for target, met in failures.items():
        print(f"{'met ' if met else 'MISS'} {target}")
    if args.json:
        per_page = [{"page": p.name, "script": p.script, "read_as": p.row.get("script"),
                     "cer": round(p.scores(p.row.get("text") or "")[0], 4),
                     "cli_cer": round(p.scores(p.cli_text)[0], 4),
                     "confidence": p.row.get("ocr_confidence"), "cpu_s": round(cpu(p), 2),
                     "cli_cpu_s": round(p.cli_cpu, 2)} for p in pages]
        args.json.write_text(json.dumps({"scripts": table, "calibration": bins, "wall_s": round(wall, 1),
                                         "cli_wall_s": round(cli_wall, 1), "targets": failures, "pages": per_page},
                                        indent=1))


if __name__ == "__main__":
    main()
