"""`lontar eval`: a dataset's text against ground truth, page by page, per script and per language.

Truth is one UTF-8 `.txt` file per page, anywhere under the truth folder, named after the source file without
its extension: `<stem>.txt` for a one-page file (an image) or page 1, `<stem>.<N>.txt` for page N (from 1) of a
multi-page file (`letters.pdf` page 3: `letters.3.txt`). When the truth folder has subfolders, the first one
under it names the page's language (`truth/hin/scan-7.txt`: hin); otherwise pages are grouped by the model that
read them (the `lang` column).

Measures, after normalisation (flows/dataset/metrics.py: NFC, zero-width characters removed, whitespace collapsed):
- CER: character edits (Levenshtein) over the truth's characters, pooled: a group's CER is the sum of its
  pages' edits over the sum of their characters, so long pages weigh more than short ones.
- WER: the same over words, split at whitespace. Thai, Lao, Khmer and Myanmar put no spaces between words,
  so there a "word" is a phrase and WER says little: read CER.
- Order-free word error: 1 - F1 of the words taken as multisets. Columns, tables and captions are often
  ordered differently in truth and output; this measure does not count order.
- Script: the page's `script` column against the truth's script (that of most of its letters).
A page with truth but no row in the dataset, or whose row is an error, counts as read as nothing (CER 1).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from rapidfuzz.distance import Levenshtein

from flows.dataset.metrics import normalize
from flows.dataset.views import read_table
from ocr_models.lontar_errors import UsageError
from ocr_models.scripts import dominant_script

ROW_COLUMNS = ["source_uri", "page_index", "status", "error", "text", "script", "lang", "created_at"]


@dataclass
class PageScore:
    """One page of truth against what the dataset holds for it."""

    truth: str  # the truth file, relative to the truth folder
    source: str | None  # source_uri of the page read; None when the dataset has no such page
    page: int  # from 1
    language: str
    truth_script: str
    read_script: str | None
    status: str  # ok, error (the dataset holds the page as failed), missing (no row at all)
    char_edits: int
    chars: int
    word_edits: int
    words: int
    words_matched: int  # of the multiset intersection of truth words and read words
    words_read: int

    @property
    def cer(self) -> float:
        return self.char_edits / max(1, self.chars)


@dataclass
class Score:
    """Pooled measures over a group of pages."""

    pages: int = 0
    failed: int = 0
    script_right: int = 0
    char_edits: int = 0
    chars: int = 0
    word_edits: int = 0
    words: int = 0
    words_matched: int = 0
    words_both: int = 0  # truth words + read words

    def add(self, page: PageScore) -> None:
        self.pages += 1
        self.failed += page.status != "ok"
        self.script_right += page.read_script == page.truth_script
        self.char_edits += page.char_edits
        self.chars += page.chars
        self.word_edits += page.word_edits
        self.words += page.words
        self.words_matched += page.words_matched
        self.words_both += page.words + page.words_read

    def summary(self) -> dict[str, float | int]:
        return {"pages": self.pages, "failed": self.failed,
                "script_accuracy": round(self.script_right / max(1, self.pages), 4),
                "cer": round(self.char_edits / max(1, self.chars), 4),
                "wer": round(self.word_edits / max(1, self.words), 4),
                "order_free_word_error": round(1 - 2 * self.words_matched / max(1, self.words_both), 4)}


@dataclass
class EvalReport:
    dataset: str
    truth: str
    pages: list[PageScore]
    pages_without_truth: int  # dataset pages no truth file names
    overall: Score = field(default_factory=Score)
    by_script: dict[str, Score] = field(default_factory=dict)
    by_language: dict[str, Score] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"dataset": self.dataset, "truth": self.truth, "pages_without_truth": self.pages_without_truth,
                "overall": self.overall.summary(),
                "by_script": {k: v.summary() for k, v in sorted(self.by_script.items())},
                "by_language": {k: v.summary() for k, v in sorted(self.by_language.items())},
                "pages": [dict(asdict(p), cer=round(p.cer, 4)) for p in self.pages]}


def score_page(truth: str, read: str) -> tuple[int, int, int, int, int, int]:
    """(char edits, truth chars, word edits, truth words, words matched in any order, words read)."""
    ref, hyp = normalize(truth), normalize(read)
    ref_words, hyp_words = ref.split(), hyp.split()
    matched = sum((Counter(ref_words) & Counter(hyp_words)).values())
    return (Levenshtein.distance(ref, hyp), len(ref), Levenshtein.distance(ref_words, hyp_words),
            len(ref_words), matched, len(hyp_words))


def truth_files(folder: Path) -> dict[str, Path]:
    """Truth files by file name; a name found twice is an error (pages are matched by name alone)."""
    if not folder.is_dir():
        raise UsageError(f"truth folder {folder} does not exist")
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.txt")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.name in found:
            raise UsageError(f"two truth files are named {path.name} ({found[path.name].relative_to(folder)} and "
                             f"{relative}); pages are matched by file name, so names must be unique")
        found[path.name] = path
    if not found:
        raise UsageError(f"no .txt truth file under {folder}")
    return found


def truth_names(source_uri: str, page: int) -> list[str]:
    """The truth file names that can hold page `page` (from 1) of a source file."""
    stem = PurePosixPath(source_uri).stem
    return [f"{stem}.{page}.txt", f"{stem}.txt"] if page == 1 else [f"{stem}.{page}.txt"]


def latest_rows(dataset: str) -> list[dict]:
    """The dataset's newest row for each page of each source (a file read again in a later batch counts once)."""
    rows: dict[tuple[str, int], dict] = {}
    for row in read_table(dataset, "pages", ROW_COLUMNS).to_pylist():
        key = (row["source_uri"], row["page_index"])
        if key not in rows or row["created_at"] > rows[key]["created_at"]:
            rows[key] = row
    return list(rows.values())


def evaluate(dataset: str, truth_folder: Path) -> EvalReport:
    files = truth_files(truth_folder)
    claimed: dict[str, dict] = {}  # truth file name -> the row matched to it
    unmatched = 0
    for row in latest_rows(dataset):
        if row["page_index"] < 0:  # a file that could not be opened: its pages count as missing below
            continue
        name = next((n for n in truth_names(row["source_uri"], row["page_index"] + 1) if n in files), None)
        if name is None:
            unmatched += 1
            continue
        if name in claimed and claimed[name]["source_uri"] != row["source_uri"]:
            raise UsageError(f"{claimed[name]['source_uri']} and {row['source_uri']} both match truth file "
                             f"{name}; rename one of the sources or run eval on a dataset holding one of them")
        claimed[name] = row
    if not claimed:
        raise UsageError(f"no page of {dataset} has a truth file in {truth_folder} (truth files are named "
                         "<source file name without extension>.txt, or .<page>.txt for page 2 onwards)")
    grouped = any(len(path.relative_to(truth_folder).parts) > 1 for path in files.values())
    report = EvalReport(dataset, str(truth_folder), [], unmatched)
    for name, path in files.items():
        relative = path.relative_to(truth_folder)
        report.pages.append(page_score(path.read_text(encoding="utf-8"), claimed.get(name), relative, grouped))
    for page in report.pages:
        report.overall.add(page)
        report.by_script.setdefault(page.truth_script, Score()).add(page)
        report.by_language.setdefault(page.language, Score()).add(page)
    return report


def page_score(truth: str, row: dict | None, relative: Path, grouped: bool) -> PageScore:
    status = "missing" if row is None else row["status"]
    read = (row["text"] or "") if row is not None and status == "ok" else ""
    edits, chars, word_edits, words, matched, read_words = score_page(truth, read)
    language = relative.parts[0] if grouped and len(relative.parts) > 1 else (row or {}).get("lang") or "-"
    return PageScore(str(relative), row and row["source_uri"], _page_number(relative.name, row), language,
                     dominant_script(truth)[0] or "Zzzz", row and row["script"], status, edits, chars,
                     word_edits, words, matched, read_words)


def _page_number(name: str, row: dict | None) -> int:
    if row is not None:
        return row["page_index"] + 1
    parts = name.rsplit(".", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 1


def table_lines(title: str, scores: dict[str, Score]) -> Iterable[str]:
    """A terminal table of `scores`, one row per group."""
    yield f"{title:<12} {'pages':>6} {'failed':>6} {'script':>7} {'CER':>7} {'WER':>7} {'order-free':>10}"
    for key, score in sorted(scores.items()):
        s = score.summary()
        yield (f"{key:<12} {s['pages']:>6} {s['failed']:>6} {s['script_accuracy']:>7.1%} {s['cer']:>7.4f} "
               f"{s['wer']:>7.4f} {s['order_free_word_error']:>10.4f}")


def report_lines(report: EvalReport) -> Iterable[str]:
    yield from table_lines("script", report.by_script)
    yield ""
    yield from table_lines("language", report.by_language)
    yield ""
    yield from table_lines("all", {"all": report.overall})
    missing = [p.truth for p in report.pages if p.status == "missing"]
    if missing:
        yield f"{len(missing)} truth page(s) not in the dataset (counted as read as nothing): {', '.join(missing[:5])}"
    if report.pages_without_truth:
        yield f"{report.pages_without_truth} dataset page(s) have no truth file and were not scored"


def write_json(report: EvalReport, path: str) -> None:
    Path(path).write_text(json.dumps(report.as_json(), ensure_ascii=False, indent=1), encoding="utf-8")
