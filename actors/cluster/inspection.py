"""Planning's one per-page question, asked on the cluster: which pages of each PDF take their text from its
text layer (actors/sources/documents.Document.text_layers). The judgement reads every page (and may read a
doubtful one with Tesseract), so it runs as Ray tasks, a range of pages each, never in the driver; ingest is
handed the answers and does not judge again."""

from __future__ import annotations

import ray

from actors.sources.documents import USABLE, read_text_layers
from configs.model import IngestOptions
from ocr_models.registry import TesseractOptions

PAGES_PER_JUDGEMENT = 64  # pages one task judges: a 2,000-page PDF is judged on 32 cores at once


def judge_text_layers(files: list[tuple[str, str, int, str | None]], options: IngestOptions,
                      tesseract: TesseractOptions | None) -> list[list[str]]:
    """For each file (url, format, pages, password): its pages' text-layer judgements, in order, up to and
    including the first page not taken from its text layer."""
    judge = ray.remote(num_cpus=1)(read_text_layers)
    refs = [[judge.remote(url, fmt, start, stop, options, password, tesseract) for start, stop in ranges(pages)]
            for url, fmt, pages, password in files]
    return [joined(ray.get(file_refs)) for file_refs in refs]


def ranges(pages: int) -> list[tuple[int, int]]:
    """The page ranges a file of `pages` pages is judged in, one task each."""
    return [(start, min(start + PAGES_PER_JUDGEMENT, pages)) for start in range(0, pages, PAGES_PER_JUDGEMENT)]


def joined(parts: list[list[str]]) -> list[str]:
    """One file's judgements from its ranges' (each stops at its first page not taken from its text layer):
    in order, up to and including the file's first such page."""
    reasons: list[str] = []
    for part in parts:
        reasons += part
        if not all(reason in USABLE for reason in part):
            break
    return reasons
