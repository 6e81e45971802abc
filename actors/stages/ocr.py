"""OcrStage: detects each page's script once, reads the page once with that script's model, and hands the lines
to the page's layout regions.

Every page is read the same way whatever was read before it (no state across pages), with a bounded amount of
work: one script detection (OSD plus one round of trials on a few lines), one whole-page reading in Tesseract's
own page segmentation (what the CLI does, so the text is never worse ordered than the CLI's), a re-reading only
when the first is estimated mostly wrong, and a bounded search for lines the reading left out. The layout's
regions do not cut the page into crops to read: each line read goes to the region covering most of it, which
gives regions their text and captions their figures. What ran and its CPU seconds is the row's `ocr_steps`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import replace
from functools import reduce

import numpy as np
import pyarrow as pa
from PIL import Image

from actors.reading.page_image import ASSUMED_DPI, open_image
from actors.reading.page_limits import PageLimits
from actors.reading.page_text import assign_lines, letter_weighted, page_fields
from actors.reading.pairs import (
    REGION_PAD_IN,
    ReadRegion,
    cue_kind,
    label_spliced,
    label_words,
    make_pairs,
    relabelled,
    uncued_captions,
)
from actors.reading.script_policy import (
    DISPUTED_CONFIDENCE,
    FOREIGN_SCRIPT,
    decide_script,
    disputed,
    propose,
    region_scripts,
    sure,
)
from actors.stages.base import Row, Stage, error_fields, needs_ocr, pages_to_read
from configs.model import LimitOptions, PairOptions
from ocr_models import registry
from ocr_models.base import OcrEngine, ScriptIdentifying
from ocr_models.geometry.boxes import area, crop, intersection, pad, rotate, turn, union
from ocr_models.geometry.cleanup import page_regions
from ocr_models.geometry.reading_order import reading_order
from ocr_models.registry import NoScriptIdOptions, OcrEngineOptions, ScriptIdOptions
from ocr_models.scripts import BY_CODE, Script, letter_counts
from ocr_models.steps import FOREIGN, OTHER, SCRIPT_ID
from ocr_models.types import BBox, OcrLine, OcrPage, PageImage, Region, ScriptEstimate

log = logging.getLogger(__name__)
BODY_KINDS = ("text", "list")  # body text: the page's own script
FOREIGN_BELOW = 0.6  # a non-body region read less surely than this by the page's model is tried in another script
LINE_OWN_BELOW = 0.05  # a poor body line is read in another script when the identifier sees less of the page's script
LINE_MIN_LETTERS = 8  # a body line's reading in another script keeps fewer letters of it than this: refused
KEEP_SHARE = 0.8  # a caption read again with Latin's model too: the share of its script's letters after the label
LABEL_PAD_IN = 0.02  # around a caption label's words read by Latin's model (wider takes in the words beside it)
COLUMN_MIN_LINES = 3  # a column of prose is at least this many lines tall


class OcrStage(Stage):
    name = "ocr"

    def __init__(self, options: OcrEngineOptions, scripts: list[str], hints: dict[str, list[str]],
                 pairs: PairOptions | None = None, limits: LimitOptions | None = None,
                 engine_class: type[OcrEngine] | None = None,
                 script_id: ScriptIdOptions | NoScriptIdOptions | None = None) -> None:
        self.options = options
        self.scripts: list[Script] = [BY_CODE[code] for code in scripts]
        self.hints = hints  # script code -> hinted languages of that script
        self.pairs = pairs or PairOptions()
        self.limits = limits or LimitOptions()
        self.engine_class = engine_class  # instead of the registry's engine (the tests' fault-injecting ones)
        self.engines: PageLimits[OcrEngine] | None = None  # the engine, made again after a hang or a crash
        self.script_id = script_id if script_id is not None else ScriptIdOptions()  # `ocr.script_id`
        self.identifier: ScriptIdentifying | None = None

    def make_engine(self) -> OcrEngine:
        return self.engine_class(self.options) if self.engine_class else registry.make(self.options)

    def setup(self) -> None:
        self.engines = PageLimits(self.make_engine, self.limits, lambda engine: engine.close())
        self.engine_version = self.engines.current().version()
        self.identifier = None if registry.builds_nothing(self.script_id) else registry.make(self.script_id)

    def wants(self, batch: pa.Table) -> bool:
        return pages_to_read(batch)

    def process(self, rows: list[Row]) -> list[Row]:
        if self.engines is None:
            self.setup()
        return [self.read_page(row) if needs_ocr(row) else row for row in rows]

    def read_page(self, row: Row) -> Row:
        assert self.engines is not None
        started, cpu = time.perf_counter(), time.process_time()
        self.engines.current().steps.take()  # a fresh account for this page
        try:
            picture = open_image(row["image"])
            self.engines.check_memory(picture.width * picture.height)
            row = self.engines.run(lambda engine: self.read_picture(row, picture, engine),
                                 f"{row.get('source_uri')} page {row.get('page_index')}")
        except Exception as exc:  # one page's failure is that page's row, never the dataset's
            log.warning("OCR failed on %s page %s: %s", row.get("source_uri"), row.get("page_index"), exc)
            row = dict(row, **error_fields(exc))
        steps = self.engines.current().steps.take()
        rest = time.process_time() - cpu - sum(step["seconds"] for step in steps)
        steps.append({"step": OTHER, "calls": 1, "seconds": round(max(0.0, rest), 3)})
        return dict(row, ocr_seconds=time.perf_counter() - started, ocr_steps=steps)

    def read_picture(self, row: Row, picture: Image.Image, engine: OcrEngine) -> Row:
        """The page's row with its text, script, lines, regions and pairs, read by `engine`."""
        grey = PageImage(np.asarray(picture.convert("L")), row.get("dpi") or ASSUMED_DPI, bool(row.get("dpi")))
        detected = [Region(r["kind"], tuple(r["bbox"]), r["score"]) for r in row.get("regions") or ()]
        proposal, seen = propose(grey, self.identifier, engine, self.scripts)
        grey, picture, detected = turned(grey, picture, detected, proposal.rotation)
        regions = page_regions(grey, detected, engine.line_boxes)
        guess, page = decide_script(grey, engine, engine, proposal, self.scripts, self.hints, text_areas(regions),
                                    body_areas(regions))
        if guess.rotation:
            grey, picture, detected = turned(grey, picture, detected, guess.rotation)
            regions = page_regions(grey, detected, engine.line_boxes)
        script = BY_CODE[guess.script] if guess.script else None
        if page is not None and script is not None and runs_columns_together(page.lines, regions):
            page = self.read_by_region(grey, regions, script, engine, tuple(page.model.split("+")))
        read = assign_lines(regions, page.lines if page else [], script, page.model if page else None, engine.name)
        if page is not None and script is not None:
            page, settled = self.read_labelled_captions(grey, read, page, engine, row.get("dpi") or ASSUMED_DPI)
            page = self.read_foreign_regions(grey, read, page, script, engine, settled)
            page = self.read_foreign_lines(grey, read, page, script, engine, seen)
        row = dict(row, text_source="ocr", rotation=(proposal.rotation + guess.rotation) % 360,
                   script_method=guess.method, engine=engine.name,
                   engine_version=self.engine_version, layout_model=row.get("layout_model") or "none",
                   script_confidence=guess.confidence if script else 0.0)
        unordered = script is not None and not engine.orders_lines(script)
        row.update(page_fields(page, read, script, in_region_order=unordered))
        if disputed(seen, self.identifier, guess.script):
            row["ocr_confidence"] = min(row["ocr_confidence"], DISPUTED_CONFIDENCE)
        row["pairs"] = make_pairs(row, picture, read, self.pairs)
        return row

    def read_by_region(self, grey: PageImage, regions: list[Region], script: Script, engine: OcrEngine,
                       languages: tuple[str, ...]) -> OcrPage:
        """The page read text region by text region, in reading order, with the model (`languages`) that read
        it whole: for a page whose columns Tesseract ran together. One more reading of the page."""
        textual = [r for r in regions if r.kind != "figure"]
        parts = [part for index in reading_order(textual)
                 if (part := self.read_crop(grey, textual[index].bbox, script, engine, languages)).text]
        if not parts:
            return OcrPage("", 0.0, engine.model_for(script))
        lines = [line for part in parts for line in part.lines]
        chars = [len(part.text) for part in parts]
        evidence = sum(part.evidence * n for part, n in zip(parts, chars, strict=True)) / sum(chars)
        return OcrPage("\n".join(part.text for part in parts), letter_weighted(lines), parts[0].model,
                       lines, round(evidence, 2))

    def read_crop(self, grey: PageImage, box: BBox, script: Script, engine: OcrEngine,
                  languages: tuple[str, ...] | None = None, once: bool = False) -> OcrPage:
        """One region read on its own, with a margin (tight crops mangle vowel signs), its lines in page pixels;
        with `languages`, else the script's hinted languages; `once`: a single trial reading (`read_once`)."""
        margin = round(REGION_PAD_IN * grey.dpi)
        x0, y0, _, _ = pad(box, margin, grey.width, grey.height)
        chosen = languages if languages is not None else tuple(self.hints.get(script.code, ()))
        image = crop(grey, box, margin)
        part = engine.read_once(image, script, chosen) if once else engine.recognize(image, script, chosen)
        return replace(part, lines=[line.shifted(x0, y0) for line in part.lines])

    def read_foreign_regions(self, grey: PageImage, read: list[ReadRegion], page: OcrPage, script: Script,
                             engine: OcrEngine, settled: Collection[int] = ()) -> OcrPage:
        """The page with its captions, titles, tables, headers and footers that its script's model read poorly
        (estimated accuracy below FOREIGN_BELOW) read again in the script the identifier names on their lines,
        then in Latin (`region_scripts`), the first reading that proves its script kept: English captions,
        tables and running heads on pages in other scripts ("Figure 4:" read by Thai's model is garbage), a
        Devanagari caption under an English figure. Body text keeps the page's script. At most two more
        readings of those regions' area. The regions at the indices `settled` (captions whose label was read
        again) stay as they are."""
        replaced: dict[int, list[OcrLine]] = {}
        for index, region in enumerate(read):
            if index in settled or region.region.kind in BODY_KINDS or region.region.kind == "figure" \
                    or not region.lines or (region.confidence or 0.0) >= FOREIGN_BELOW:
                continue
            for other in region_scripts(grey, [line.bbox for line in region.lines], self.identifier, engine,
                                        script, self.scripts):
                again = self.read_crop(grey, region.region.bbox, other, engine, once=True)
                if engine.proves(again, other) and again.confidence > (region.confidence or 0.0):
                    break
            else:
                continue
            _take(region, again, other, replaced)
        return _with_lines_replaced(page, replaced)

    def read_foreign_lines(self, grey: PageImage, read: list[ReadRegion], page: OcrPage, script: Script,
                           engine: OcrEngine, seen: ScriptEstimate | None) -> OcrPage:
        """The page with the lines of its body text that its script's model read poorly (estimated accuracy
        below FOREIGN_BELOW) and in which the identifier sees almost nothing of the page's script (its share
        below LINE_OWN_BELOW), read again in the script it names, the reading kept when it proves the script and
        reads more surely and holds LINE_MIN_LETTERS of its letters (not the digits of a receipt's line read as
        Lao, or an ornament read as Bengali digits): an English sentence in a Tamil paragraph. On a single line
        the identifier is unsure of the script it names (0.30-0.66 on English lines) but not of the one it
        does not see: a Khmer line named Lao at 0.39 still shows 0.21 of Khmer. Only on a page whose script
        the identifier named surely (`seen`): on paper it cannot name, such as receipts' dot-matrix print, its
        word on one line is worth nothing. One more reading of each such line."""
        if self.identifier is None or seen is None or not sure(seen, self.identifier) or seen.script != script.code:
            return page
        poor = [line for region in read if region.region.kind in BODY_KINDS for line in region.lines
                if line.confidence < FOREIGN_BELOW or _mostly_not_letters(line.text, script)]
        if not poor:
            return page
        with engine.steps.timed(SCRIPT_ID):
            named = self.identifier.lines(grey, [line.bbox for line in poor])
        codes = {s.code for s in self.scripts}
        replaced: dict[int, list[OcrLine]] = {}
        for line, estimate in zip(poor, named, strict=True):
            if estimate.script == script.code or estimate.script not in codes or not estimate.upright \
                    or estimate.shares.get(script.code, 0.0) >= LINE_OWN_BELOW:
                continue
            other = BY_CODE[estimate.script]
            again = self.read_crop(grey, line.bbox, other, engine, once=True)
            if engine.proves(again, other) and again.confidence > line.confidence and again.lines \
                    and letter_counts(again.text)[other.code] >= LINE_MIN_LETTERS:
                replaced[id(line)] = again.lines
        for region in read:
            _relined(region, replaced)
        return _with_lines_replaced(page, replaced)

    def read_labelled_captions(self, grey: PageImage, read: list[ReadRegion], page: OcrPage, engine: OcrEngine,
                               dpi: int) -> tuple[OcrPage, set[int]]:
        """The page with each caption of another script than Latin whose label its script's model garbled read
        again with that model and Latin's together (Tesseract's `ben+eng`), and the indices of the captions so
        read: "Figure 3: বছর অনুযায়ী ..." is read by Bengali's model as "70012 3: বছর ...", which names no
        figure. One more reading of each such region (a line or two beside a figure or table). The new reading
        is kept when its label opens a caption and KEEP_SHARE of its letters after the label are in the
        region's script; when only its label is right (Khmer's model with Latin's reads Khmer words as Latin:
        "Figure 1: anjanainia"), its label goes before the first reading's words after the label, provided
        the identifier names the region's script on those words (an English caption stays for
        `read_foreign_regions` to read in Latin). Either way its label is read once more by Latin's model alone
        (`latin_label`)."""
        latin = BY_CODE[FOREIGN_SCRIPT]
        settled: set[int] = set()
        if latin not in self.scripts:
            return page, settled
        replaced: dict[int, list[OcrLine]] = {}
        for index in uncued_captions(read, dpi, self.pairs.caption_max_gap_in):
            region = read[index]
            if region.script is None or region.script == latin.code:
                continue
            script = BY_CODE[region.script]
            models = (region.model or engine.model_for(script)).split("+")
            again = self.read_crop(grey, region.region.bbox, script, engine, (*models, latin.model), once=True)
            if not cue_kind(again.text) or not again.lines:
                continue
            rest = letter_counts(" ".join(again.text.split()[2:]))
            if rest[script.code] >= KEEP_SHARE * sum(rest.values()):
                chosen = again
            elif (spliced := self.spliced_caption(grey, region, again, script, engine)) is not None:
                chosen = spliced
            else:
                continue
            _take(region, self.latin_label(grey, chosen, engine), script, replaced)
            settled.add(index)
        return _with_lines_replaced(page, replaced), settled

    def latin_label(self, grey: PageImage, reading: OcrPage, engine: OcrEngine) -> OcrPage:
        """`reading` with the label its first line opens with read once more by Latin's model alone (a line
        crop of its words): models read together take the label's letters from Latin's but may take its
        punctuation from the other's (Telugu's with Latin's: "Figure 1;")."""
        first = reading.lines[0]
        if not (words := label_words(first)):
            return reading
        box = reduce(union, (w.bbox for w in words))
        with engine.steps.timed(FOREIGN):
            label = engine.read_line(crop(grey, box, round(LABEL_PAD_IN * grey.dpi)), BY_CODE[FOREIGN_SCRIPT])
        if (relabelled_first := relabelled(first, label)) is first:
            return reading
        lines = [relabelled_first, *reading.lines[1:]]
        return replace(reading, text="\n".join(line.text for line in lines), lines=lines)

    def spliced_caption(self, grey: PageImage, region: ReadRegion, again: OcrPage, script: Script,
                        engine: OcrEngine) -> OcrPage | None:
        """`region`'s reading with the label of `again`'s first line (`pairs.label_spliced`), when the identifier
        names `script` on the words kept after it and on the region's other lines; else None."""
        found = label_spliced(again.lines[0], region.lines[0])
        if found is None or self.identifier is None:
            return None
        first, rest = found
        with engine.steps.timed(SCRIPT_ID):
            named = self.identifier.page(grey, [rest, *(line.bbox for line in region.lines[1:])])
        if named.script != script.code:
            return None
        lines = [first, *region.lines[1:]]
        return OcrPage("\n".join(line.text for line in lines), region.confidence or 0.0, again.model, lines,
                       again.evidence)

    def teardown(self) -> None:
        if self.engines is not None:
            self.engines.close()


def _take(region: ReadRegion, again: OcrPage, script: Script, replaced: dict[int, list[OcrLine]]) -> None:
    """`again` becomes `region`'s reading; `replaced` notes which of the page's lines it takes the place of."""
    replaced.update({id(line): [] for line in region.lines})
    replaced[id(region.lines[0])] = again.lines
    region.lines, region.text, region.script = again.lines, again.text, script.code
    region.lang, region.confidence, region.model = again.model, again.confidence, again.model


def _mostly_not_letters(text: str, script: Script) -> bool:
    """Whether under half of a line's characters are letters of `script`: what a model makes of another
    script's line ("0౧ 116 ౧106660060 66౧ఈ10౧/" for an English line read by Telugu's), which its confidence
    can rate well (0.66: the few letters are all Telugu)."""
    chars = len(text.replace(" ", ""))
    return chars > 0 and letter_counts(text)[script.code] < 0.5 * chars


def _swapped(lines: list[OcrLine], replaced: dict[int, list[OcrLine]]) -> list[OcrLine]:
    """`lines`, each that `replaced` names (by id) in the place of what replaced it."""
    return [new for line in lines for new in replaced.get(id(line), [line])]


def _relined(region: ReadRegion, replaced: dict[int, list[OcrLine]]) -> None:
    """`region`'s lines, text and confidence once some of its lines were read again (`replaced`)."""
    if any(id(line) in replaced for line in region.lines):
        region.lines = _swapped(region.lines, replaced)
        region.text = "\n".join(line.text for line in region.lines)
        region.confidence = letter_weighted(region.lines)


def _with_lines_replaced(page: OcrPage, replaced: dict[int, list[OcrLine]]) -> OcrPage:
    if not replaced:
        return page
    lines = _swapped(page.lines, replaced)
    return replace(page, text="\n".join(line.text for line in lines), lines=lines)


def turned(grey: PageImage, picture: Image.Image, regions: list[Region], degrees: int
           ) -> tuple[PageImage, Image.Image, list[Region]]:
    """The page turned `degrees` clockwise, with its layout (found on the page as scanned) turned with it;
    on a quarter turn there is none: a layout model run on sideways lines finds no columns (a two-column
    Bengali page fed sideways read at CER 0.63 with its turned layout, 0.003 with the gutters in its ink)."""
    if not degrees:
        return grey, picture, regions
    regions = [] if degrees % 180 else [Region(r.kind, turn(r.bbox, degrees, grey.width, grey.height), r.score)
                                        for r in regions]
    return rotate(grey, degrees), picture.rotate(-degrees, expand=True), regions


def text_areas(regions: list[Region]) -> list[BBox]:
    """Where to look for lines a reading left out: the text regions (a column's line hides behind the next
    column's in bands of ink taken across the whole page)."""
    return [r.bbox for r in regions if r.kind != "figure"]


def body_areas(regions: list[Region]) -> list[BBox]:
    """Where a page's own script is judged: its body text (captions, tables and titles are where another
    script shows up), as the detector found it or as ink no region covered; none on a page of only those."""
    return [r.bbox for r in regions if r.kind in BODY_KINDS]


def runs_columns_together(lines: list[OcrLine], regions: list[Region]) -> bool:
    """Whether the whole-page reading ran columns of prose together: Tesseract took a column gutter for a
    space between words (as it does on Thai, Bengali and Myanmar pages set in two columns) and the columns'
    lines interleave. Evidence: at least two lines read each cover two body-text regions that sit side by
    side, both at least COLUMN_MIN_LINES of those lines tall and overlapping over half the shorter one's
    height. Rows of a table or a receipt (an item and its price in two short blocks) are not columns: there
    Tesseract's own rows are right, and the CLI reads them so."""
    body = [r.bbox for r in regions if r.kind in BODY_KINDS]
    crossing = 0
    for line in lines:
        tall = COLUMN_MIN_LINES * (line.bbox[3] - line.bbox[1])
        covered = [box for box in body if intersection(line.bbox, box) >= 0.15 * area(line.bbox)
                   and box[3] - box[1] >= tall]
        crossing += any(a[2] <= b[0] and _overlap_rows(a, b) for a in covered for b in covered)
    return crossing >= 2


def _overlap_rows(a: BBox, b: BBox) -> bool:
    return min(a[3], b[3]) - max(a[1], b[1]) >= 0.5 * min(a[3] - a[1], b[3] - b[1])
