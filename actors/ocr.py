"""OcrStage: reads each page region by region, in reading order, each region with its own script's model.

The page's script is detected once; every region is read with it and the reading checked: a region the page's
model reads badly (an English table on a Hindi page, a Latin caption on a Thai page) has its own script
detected and is read again. Figures are not read; the page's pairs are built from what was read.
"""

from __future__ import annotations

import io
import logging
import time
from collections import Counter

import numpy as np
from PIL import Image

from actors.base import Row, Stage, error_fields
from actors.guard import PageGuard, PageLimits
from actors.pairs import PairOptions, ReadRegion, line_pairs, picture_pairs
from ocr_models.regions import area, crop, intersection, lines_run_vertically, pad, page_regions, reading_order, turn
from ocr_models.scripts import BY_CODE, Script, letter_counts
from ocr_models.tesseract import TesseractEngine, TesseractOptions, rotate
from ocr_models.types import BBox, OcrLine, OcrPage, PageImage, Region, ScriptGuess

log = logging.getLogger(__name__)

REGION_PAD_IN = 0.08  # tight crops mangle vowel signs above and below the line: read regions with a margin
VERIFY_MIN_SCORE = 0.75  # a reading scoring below this (calibrated, ~1 when right) gets its script re-detected
BODY_KINDS = ("text", "list")  # detected body text: the page's own script, as a rule
VERIFY_MIN_LETTERS = 4  # fewer letters than this (a page number) are not worth a second opinion


class OcrStage(Stage):
    name = "ocr"
    num_cpus = 0.8  # one engine thread per core: the parallelism belongs to Ray, never to the engine

    def __init__(self, options: TesseractOptions, scripts: list[str], hints: dict[str, list[str]],
                 pairs: PairOptions | None = None, limits: PageLimits | None = None,
                 engine_class: type[TesseractEngine] = TesseractEngine) -> None:
        self.options = options
        self.scripts: list[Script] = [BY_CODE[code] for code in scripts]
        self.hints = hints  # script code -> hinted languages of that script
        self.pairs = pairs or PairOptions()
        self.limits = limits or PageLimits()
        self.engine_class = engine_class
        self.guard: PageGuard[TesseractEngine] | None = None
        self.last_source: str | None = None  # the file of the last page read

    def setup(self) -> None:
        self.guard = PageGuard(lambda: self.engine_class(self.options), self.limits, TesseractEngine.close)
        self.engine_version = self.guard.current().version()

    def process(self, rows: list[Row]) -> list[Row]:
        if self.guard is None:
            self.setup()
        return [self.read_page(row) if needs_ocr(row) else row for row in rows]

    def read_page(self, row: Row) -> Row:
        assert self.guard is not None
        started = time.perf_counter()
        try:
            picture = open_image(row["image"])
            self.guard.check_memory(picture.width * picture.height)
            row = self.guard.run(lambda engine: self.read_picture(row, picture, engine),
                                 f"{row.get('source_uri')} page {row.get('page_index')}")
        except Exception as exc:  # one page's failure is that page's row, never the dataset's
            log.warning("OCR failed on %s page %s: %s", row.get("source_uri"), row.get("page_index"), exc)
            return dict(row, **error_fields(exc), ocr_seconds=time.perf_counter() - started)
        return dict(row, ocr_seconds=time.perf_counter() - started)

    def read_picture(self, row: Row, picture: Image.Image, engine: TesseractEngine) -> Row:
        """The page's row with its text, script, lines, regions and pairs, read by `engine`."""
        grey = PageImage(np.asarray(picture.convert("L")), row.get("dpi") or 300)
        detected = [Region(r["kind"], tuple(r["bbox"]), r["score"]) for r in row.get("regions") or ()]
        regions = page_regions(grey, detected, engine.line_boxes)
        margin = round(REGION_PAD_IN * grey.dpi)
        # a page fed sideways: the layout found on it is no guide to its main text, so the whole page is judged
        main = None if lines_run_vertically(grey) else main_region(regions)
        main_image = crop(grey, main.bbox, margin) if main else grey
        # a new file is where the script may change: a trial of two lines costs less than a wasted reading
        same_file, self.last_source = row.get("source_uri") == self.last_source, row.get("source_uri")
        known = self.read_as_last(main_image, engine) if main and same_file else None
        guess = known[0] if known else engine.detect_script(main_image, self.scripts)
        row = dict(row, text_source="ocr", script_method=guess.method, engine=engine.name,
                   engine_version=self.engine_version, layout_model=row.get("layout_model") or "none")
        if guess.rotation:  # the layout was found on the page as scanned: turn its regions with the page
            turned = [Region(r.kind, turn(r.bbox, guess.rotation, grey.width, grey.height), r.score)
                      for r in detected]
            grey, picture = rotate(grey, guess.rotation), picture.rotate(-guess.rotation, expand=True)
            regions = page_regions(grey, turned, engine.line_boxes)
        done = {main: (BY_CODE[guess.script], known[1])} if known else {}
        read = self.read_regions(grey, regions, BY_CODE[guess.script] if guess.script else None, engine, done)
        row = dict(row, **page_fields(read), script_confidence=guess.confidence if guess.script else 0.0)
        row["pairs"] = self.make_pairs(row, picture, read)
        return row

    def read_as_last(self, image: PageImage, engine: TesseractEngine) -> tuple[ScriptGuess, OcrPage] | None:
        """`image` read with the script of the engine's last page, when that reading proves the script (a run
        in one script); None when there is no last page, one candidate only (detection costs nothing then),
        or the reading fails."""
        last = engine.recent_script(self.scripts) if len(self.scripts) > 1 else None
        if last is None:
            return None
        return engine.read_as(image, last, self.scripts, self.hints.get(last.code, ()))

    def read_regions(self, grey: PageImage, regions: list[Region], script: Script | None,
                     engine: TesseractEngine, done: dict[Region, tuple[Script, OcrPage]] | None = None
                     ) -> list[ReadRegion]:
        """Every region of the page, text regions read in reading order (figures are not read). `done`: regions
        already read (while detecting the page's script), with the script they were read in."""
        read = [ReadRegion(region) for region in regions]
        textual = [r for r in read if r.region.kind != "figure"]
        for order, index in enumerate(reading_order([r.region for r in textual])):
            textual[index].order = order
        if script is None:  # no text line found on the page: a blank or picture-only page
            return read
        margin = round(REGION_PAD_IN * grey.dpi)
        for region in sorted(textual, key=lambda r: r.order):
            box = pad(region.region.bbox, margin, grey.width, grey.height)
            # detected body text, or the whole page (whose script was just detected)
            body = region.region.kind in BODY_KINDS and (region.region.score is not None or len(regions) == 1)
            used, page = (done or {}).get(region.region) or self.read_region(
                crop(grey, region.region.bbox, margin), script, body, engine)
            region.text, region.script, region.lang = page.text, used.code, page.model
            region.confidence = page.confidence
            region.lines = [OcrLine(ln.text, (ln.bbox[0] + box[0], ln.bbox[1] + box[1], ln.bbox[2] + box[0],
                                              ln.bbox[3] + box[1]), ln.confidence) for ln in page.lines]
            others = [r.region.bbox for r in textual if r is not region]
            kept = [ln for ln in region.lines if not belongs_elsewhere(ln.bbox, region.region.bbox, others)]
            if len(kept) < len(region.lines):
                region.lines, region.text = kept, "\n".join(ln.text for ln in kept)
        return read

    def read_region(self, image: PageImage, script: Script, body: bool, engine: TesseractEngine
                    ) -> tuple[Script, OcrPage]:
        """Read one region. Body text is read with the page's script, and only when that reading is poor is
        the region's own script detected. Anything else (titles, captions, tables, headers, stray lines) is
        where another script shows up, and a wrong model can read it with high confidence (Thai's model reads
        an English caption as Thai at 0.97): its reading with the page's script is kept only when it proves
        that script by the stricter score of an accepted trial (`TesseractEngine.read_as`), else the region's
        own script is detected and it is read again."""
        if not body:
            known = engine.read_as(image, script, self.scripts, self.hints.get(script.code, ()))
            if known is not None:  # the page's model reads it well enough to prove the script
                return script, known[1]
            guess = engine.detect_script(image, self.scripts, page=False)
            script = BY_CODE[guess.script] if guess.script else script
        page = engine.recognize(image, script, self.hints.get(script.code, ()))
        if not body:
            return script, page
        score = engine.reading_score(page, script)
        if score >= VERIFY_MIN_SCORE or sum(letter_counts(page.text).values()) < VERIFY_MIN_LETTERS:
            return script, page
        guess = engine.detect_script(image, self.scripts, page=False)
        if guess.script is None or guess.script == script.code:
            return script, page
        other = BY_CODE[guess.script]
        again = engine.recognize(image, other, self.hints.get(other.code, ()))
        if engine.reading_score(again, other) > score:
            return other, again
        return script, page

    def make_pairs(self, row: Row, picture: Image.Image, read: list[ReadRegion]) -> list[Row]:
        pairs = []
        if self.pairs.figures:
            pairs += picture_pairs(row, picture, read, self.pairs)
        if self.pairs.lines:
            pairs += line_pairs(row, picture.convert("L"), read, self.pairs)
        return pairs

    def teardown(self) -> None:
        if self.guard is not None:
            self.guard.close()


def belongs_elsewhere(line: BBox, region: BBox, others: list[BBox]) -> bool:
    """Whether a line read in `region` is another region's: another covers more of it. Detected boxes can cut
    through a line (a title box holding most of the next line), and ink a detector missed can border a region
    it overlaps: the region whose padded crop caught the line's edge reads it again, badly, and the line would
    be in the text twice. A line no other region covers stays where it was read."""
    own = intersection(line, region)
    return any(intersection(line, box) > own for box in others)


def main_region(regions: list[Region]) -> Region | None:
    """Where the page's script is detected: its largest body-text region (one script, unlike the widest lines
    of a page with captions or a table in another); None when it has none (the whole page is judged)."""
    body = [r for r in regions if r.kind in BODY_KINDS]
    if not body:
        return None
    detected = [r for r in body if r.score is not None] or body  # found by the detector: surely paragraphs
    return max(detected, key=lambda r: area(r.bbox))


def page_fields(read: list[ReadRegion]) -> Row:
    """The page columns from its read regions: text and lines in reading order, the main script (that of most
    letters) and the letter-weighted confidence. Headers and footers stay in the text: the layout model calls
    some titles headers, and dropping them would lose text; `regions` marks them for consumers to drop."""
    in_order = sorted((r for r in read if r.order is not None), key=lambda r: r.order)
    body = [r for r in in_order if r.text]
    letters: Counter[str] = Counter()
    weighted, total = 0.0, 0
    for r in body:
        n = sum(letter_counts(r.text).values())
        letters[r.script] += n
        weighted, total = weighted + n * (r.confidence or 0.0), total + n
    script = letters.most_common(1)[0][0] if letters else None
    lang = next((r.lang for r in body if r.script == script), None)
    return {
        "text": "\n\n".join(r.text for r in body), "script": script, "lang": lang,
        "ocr_confidence": round(weighted / total, 4) if total else 0.0,
        "lines": [{"text": ln.text, "bbox": list(ln.bbox), "confidence": ln.confidence}
                  for r in in_order for ln in r.lines],
        "regions": [{"kind": r.region.kind, "bbox": list(r.region.bbox), "score": r.region.score,
                     "reading_order": r.order, "text": r.text, "script": r.script, "lang": r.lang,
                     "confidence": r.confidence} for r in read],
    }


def needs_ocr(row: Row) -> bool:
    return row.get("status") == "ok" and row.get("text_source") is None


def open_image(data: bytes) -> Image.Image:
    """The page image, decoded in its own colour mode (figure crops keep colour; OCR reads it in grey, which
    Tesseract binarises itself and reads a third faster than RGB)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image if image.mode in ("L", "RGB") else image.convert("RGB")
