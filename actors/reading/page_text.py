"""A read page as rows hold it: its regions given the lines they cover, its text, lines and regions columns,
and which engines read it. The OCR stage builds these from a reading; the recognize stage rebuilds them from
a row, re-reads some regions, and writes them back the same way."""

from __future__ import annotations

from collections import Counter

from actors.reading.pairs import ReadRegion
from actors.store.records import Row, line_fields
from ocr_models.geometry.boxes import intersection
from ocr_models.geometry.reading_order import reading_order
from ocr_models.scripts import Script
from ocr_models.types import OcrLine, OcrPage, OcrWord, Region


def assign_lines(regions: list[Region], lines: list[OcrLine], script: Script | None, model: str | None,
                 engine: str) -> list[ReadRegion]:
    """The page's regions, each text region (all but figures) numbered in reading order and given the lines
    it covers most of, in the order they were read (by `engine`, with `model`); a line no text region overlaps
    (inside a figure) is in no region's text, though it stays in the page's."""
    read = [ReadRegion(region) for region in regions]
    textual = [r for r in read if r.region.kind != "figure"]
    for order, index in enumerate(reading_order([r.region for r in textual])):
        textual[index].order = order
    give_lines(read, lines)
    for region in textual:
        if region.lines and script is not None:
            region.text = "\n".join(line.text for line in region.lines)
            region.script, region.lang, region.engine, region.model = script.code, model, engine, model
            region.confidence = letter_weighted(region.lines)
    return read


def give_lines(read: list[ReadRegion], lines: list[OcrLine]) -> None:
    """Each line to the text region it overlaps most (none when it overlaps none)."""
    textual = [r for r in read if r.region.kind != "figure"]
    for line in lines:
        owner = max(textual, key=lambda r: intersection(line.bbox, r.region.bbox), default=None)
        if owner is not None and intersection(line.bbox, owner.region.bbox) > 0:
            owner.lines.append(line)


def read_regions(row: Row) -> tuple[list[ReadRegion], list[OcrLine]]:
    """A read page's regions, as its row holds them, with their lines given back to them; and the page's lines."""
    lines = [OcrLine(ln["text"], tuple(ln["bbox"]), ln["confidence"],
                     tuple(OcrWord(w["text"], tuple(w["bbox"]), w["confidence"]) for w in ln.get("words") or ()))
             for ln in row.get("lines") or ()]
    read = [ReadRegion(Region(r["kind"], tuple(r["bbox"]), r["score"]), r["reading_order"], r["text"], r["script"],
                       r["lang"], r["confidence"], engine=r.get("engine"), model=r.get("model"),
                       guard=r.get("guard"))
            for r in row.get("regions") or ()]
    give_lines(read, lines)
    return read, lines


def page_fields(page: OcrPage | None, read: list[ReadRegion], script: Script | None,
                in_region_order: bool = False) -> Row:
    """The page columns from its reading: text and lines in Tesseract's reading order (or, for a script read
    in sparse-text mode, which has no order of its own, in the regions' reading order), the script, and the
    confidence: the estimated share of characters read right. Headers and footers stay in the text: the
    layout model calls some titles headers, and dropping them would lose text; `regions` marks them."""
    lines = page.lines if page else []
    if in_region_order:
        rank = {id(line): (r.order, i) for r in read if r.order is not None for i, line in enumerate(r.lines)}
        lines = sorted(lines, key=lambda ln: rank.get(id(ln), (len(read), ln.bbox[1])))
    text = "\n".join(line.text for line in lines) if in_region_order else (page.text if page else "")
    return {
        "text": text, "script": script.code if script and text else None,
        "lang": page.model if page and text else None,
        "ocr_confidence": page.confidence if page and text else 0.0,
        "lines": [line_fields(ln) for ln in lines],
        "regions": region_fields(read),
        "read_by": read_by(read),
    }


def region_fields(read: list[ReadRegion]) -> list[Row]:
    return [{"kind": r.region.kind, "bbox": list(r.region.bbox), "score": r.region.score,
             "reading_order": r.order, "text": r.text, "script": r.script, "lang": r.lang,
             "confidence": r.confidence, "engine": r.engine, "model": r.model, "guard": r.guard} for r in read]


def read_by(read: list[ReadRegion]) -> list[Row]:
    """Each engine and model that read some of the page's regions, with how many, most regions first."""
    counts = Counter((r.engine, r.model) for r in read if r.text is not None and r.engine)
    return [{"engine": engine, "model": model, "regions": n} for (engine, model), n in counts.most_common()]


def letter_weighted(lines: list[OcrLine]) -> float:
    """The lines' confidences weighted by their letters: the share of characters estimated right."""
    sizes = [max(1, len(line.text.replace(" ", ""))) for line in lines]
    return round(sum(size * line.confidence for size, line in zip(sizes, lines, strict=True)) / sum(sizes), 4) \
        if lines else 0.0
