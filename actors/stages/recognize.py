"""RecognizeStage: reads again, with a transformers model, the text regions of the scripts `ocr.routes` sends to
one, in its own actor pool (a GPU each where the cluster has them), many pages' crops to a forward pass.

The OCR stage has already decided each page's script and read it with Tesseract; that reading gives the
regions their script, the line boxes a line model reads, and the fallback: a model's reading that fails a guard
(actors/reading/model_guards.py) is refused and Tesseract's stands, the region's `guard` saying why. Pages with no
routed region pass through without being decoded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from PIL import Image

from actors.reading.model_guards import refusal
from actors.reading.page_image import ASSUMED_DPI, open_image
from actors.reading.page_text import letter_weighted, read_by, read_regions, region_fields
from actors.reading.pairs import REGION_PAD_IN, ReadRegion, crops_of, line_crop, make_pairs
from actors.stages.base import Row, Stage
from actors.store.records import line_fields
from configs.model import OcrOptions, PairOptions
from ocr_models import registry
from ocr_models.base import CropRecognizer
from ocr_models.geometry.boxes import pad
from ocr_models.lontar_errors import EngineError
from ocr_models.scripts import BY_CODE
from ocr_models.types import OcrLine, OcrPage, PageImage

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One routed region of one page: its crops (the region, or each of its lines) and what they read."""

    region: ReadRegion
    route: str  # the route's options as JSON: which recognizer
    crops: list[PageImage]
    readings: list[OcrPage] = field(default_factory=list)
    old_lines: list[OcrLine] = field(default_factory=list)  # Tesseract's, which a kept reading replaces
    accepted: bool = False
    positioned: bool = True  # whether the kept lines have their own boxes (else no line pairs)


class RecognizeStage(Stage):
    name = "recognize"
    batch_size = 8  # pages a batch: their crops go through the model together

    def __init__(self, routing: OcrOptions, pairs: PairOptions | None = None) -> None:
        self.routing = routing
        self.uses_gpu = any(registry.uses_gpu(route) for route in routing.model_routes().values())
        self.pairs = pairs or PairOptions()
        self.recognizers: dict[str, CropRecognizer] = {}  # by the route's options as JSON: one per model

    def setup(self) -> None:
        """Load every routed model once (a route's failure to load shows when the actor starts)."""
        for route in self.routing.model_routes().values():
            key = route.model_dump_json()
            if key not in self.recognizers:
                self.recognizers[key] = registry.make(route)

    def route(self, script: str | None) -> str | None:
        """Which recognizer reads `script`'s regions again (its options as JSON); None: Tesseract's stand."""
        route = self.routing.model_route(script)
        return route.model_dump_json() if route is not None else None

    def wants(self, batch: pa.Table) -> bool:
        """Whether a page of the batch has a text region in a routed script (asked of the Arrow columns)."""
        if "regions" not in batch.column_names or not batch.num_rows:
            return False
        read = pc.equal(batch.column("text_source"), "ocr")
        regions = pc.list_flatten(pc.filter(batch.column("regions"), read))
        scripts = {code for code in pc.unique(pc.struct_field(regions, "script")).to_pylist() if code}
        return any(self.route(code) for code in scripts)

    def process(self, rows: list[Row]) -> list[Row]:
        if not self.recognizers:
            self.setup()
        pages: dict[int, tuple[list[ReadRegion], list[OcrLine], Image.Image, list[Job]]] = {}
        jobs: list[Job] = []
        for index, row in enumerate(rows):
            if row.get("status") != "ok" or row.get("text_source") != "ocr":
                continue
            try:
                read, lines = read_regions(row)
                routed = [(region, key) for region in read if region.lines and region.text is not None
                          and (key := self.route(region.script))]
                if not routed:
                    continue
                picture = upright(open_image(row["image"]), row.get("rotation") or 0)
                dpi = row.get("dpi") or ASSUMED_DPI
                page_jobs = [Job(region, key, self.crops(picture, dpi, region, key), old_lines=region.lines)
                             for region, key in routed]
            except Exception as exc:  # the page keeps Tesseract's reading, and says so
                rows[index] = self.unread(row, exc)
                continue
            pages[index] = (read, lines, picture, page_jobs)
            jobs += page_jobs
        self.read(jobs)
        for job in jobs:
            self.settle(job)
        for index, (read, lines, picture, page_jobs) in pages.items():
            try:
                rows[index] = self.rebuilt(rows[index], read, lines, picture, page_jobs)
            except Exception as exc:
                rows[index] = self.unread(rows[index], exc)
        return rows

    def unread(self, row: Row, exc: Exception) -> Row:
        """The row as Tesseract read it, its routed regions marked `model_error`: this stage failed on it."""
        log.warning("the recognize stage failed on %s page %s: %s", row.get("source_uri"), row.get("page_index"),
                    exc)
        regions = [dict(r, guard="model_error") if r.get("text") is not None and self.route(r.get("script"))
                   else r for r in row.get("regions") or ()]
        return dict(row, regions=regions)

    def crops(self, picture: Image.Image, dpi: int, region: ReadRegion, key: str) -> list[PageImage]:
        """The region's crop with a margin (a page model), or each of its lines' (a line model)."""
        if self.recognizers[key].unit == "region":
            boxes = [pad(region.region.bbox, round(REGION_PAD_IN * dpi), picture.width, picture.height)]
        else:
            boxes = [line_crop(line.bbox, picture.width, picture.height) for line in region.lines]
        return [PageImage(np.asarray(picture.crop(box)), dpi) for box in boxes]

    def read(self, jobs: list[Job]) -> None:
        """Every job's crops read, those of one recognizer and script together (in its batch size)."""
        groups: dict[tuple[str, str], list[Job]] = {}
        for job in jobs:
            groups.setdefault((job.route, job.region.script or ""), []).append(job)
        for (key, script), group in groups.items():
            recognizer = self.recognizers[key]
            crops = [crop for job in group for crop in job.crops]
            try:
                readings = recognizer.read(crops, BY_CODE[script])
            except EngineError as exc:
                log.warning("%s could not read %d crops: %s", recognizer.model_id, len(crops), exc)
                continue  # readings stay empty: the regions keep Tesseract's, guard model_error
            for job in group:
                job.readings, readings = readings[:len(job.crops)], readings[len(job.crops):]

    def settle(self, job: Job) -> None:
        """The region takes the model's reading, or keeps Tesseract's with the guard that refused it."""
        region = job.region
        if not job.readings:
            region.guard = "model_error"
            return
        recognizer = self.recognizers[job.route]
        lines, positioned = placed(region, job.readings, recognizer.unit)
        text = "\n".join(line.text for line in lines)
        region.guard = refusal(text, region.text or "", job.crops, [line.bbox for line in region.lines],
                               region.script or "", self.routing)
        if region.guard is not None:
            return
        region.lines, region.text, region.confidence = lines, text or None, letter_weighted(lines)
        region.engine, region.model, region.lang = recognizer.name, recognizer.model_id, None
        job.accepted, job.positioned = True, positioned

    def rebuilt(self, row: Row, read: list[ReadRegion], lines: list[OcrLine], picture: Image.Image,
                jobs: list[Job]) -> Row:
        """The page's text, lines, confidence, regions, engines and pairs after its regions' new readings."""
        row = dict(row, regions=region_fields(read), read_by=read_by(read))
        kept = [job for job in jobs if job.accepted]
        if not kept:
            return row
        lines = _replace_lines(lines, kept)
        row.update(text="\n".join(line.text for line in lines), ocr_confidence=letter_weighted(lines),
                   lines=[line_fields(line) for line in lines])
        unplaced = {id(job.region) for job in kept if not job.positioned}
        paired = [ReadRegion(r.region, r.order, r.text, r.script, r.lang, r.confidence) if id(r) in unplaced else r
                  for r in read]
        row["pairs"] = make_pairs(row, picture, paired, self.pairs, crops_of(row.get("pairs")))
        return row

    def teardown(self) -> None:
        for recognizer in self.recognizers.values():
            recognizer.close()


def upright(picture: Image.Image, degrees: int) -> Image.Image:
    """The page image as the OCR stage read it (its boxes are in these pixels): turned `degrees` clockwise."""
    return picture.rotate(-degrees, expand=True) if degrees else picture


def placed(region: ReadRegion, readings: list[OcrPage], unit: str) -> tuple[list[OcrLine], bool]:
    """The model's lines in page pixels, and whether they have boxes of their own: a line model's lines are on
    the boxes of the lines it read; a page model's on Tesseract's line boxes when it read as many lines, else
    each on the region's box (it gives no positions, and those lines make no line pairs)."""
    if unit == "line":  # one reading per line
        read = [OcrLine(" ".join(r.text.split()), line.bbox, r.confidence)
                for r, line in zip(readings, region.lines, strict=True)]
        return [line for line in read if line.text], True
    lines = readings[0].lines
    if len(lines) == len(region.lines):
        return [OcrLine(new.text, old.bbox, new.confidence)
                for new, old in zip(lines, region.lines, strict=True)], True
    return [OcrLine(new.text, region.region.bbox, new.confidence) for new in lines], False


def _replace_lines(lines: list[OcrLine], kept: list[Job]) -> list[OcrLine]:
    """The page's lines with each kept region's old lines swapped for its new ones, where its first one was."""
    dropped = {id(line) for job in kept for line in job.old_lines}
    firsts = {id(job.old_lines[0]): job.region.lines for job in kept if job.old_lines}
    return [new for line in lines
            for new in firsts.get(id(line), [] if id(line) in dropped else [line])]
