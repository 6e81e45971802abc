"""The regions to read, from a detector's boxes: overlaps cleaned up, text separated out of figures, the ink no
region covers found, clipped words absorbed, text regions split at column gutters.

Detectors return overlapping, incomplete boxes (a caption or a title is often missed); `page_regions` turns them
into a set of regions that covers every piece of ink on the page exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np

from ocr_models.geometry.boxes import area, crop, intersection, pad, stacked, union
from ocr_models.geometry.ink import LINE_MAX_IN, LINE_MIN_IN, ink_grid, xy_cut
from ocr_models.types import CAPTION_KINDS, FURNITURE_KINDS, PICTURE_KINDS, BBox, PageImage, Region

MERGE_OVERLAP = 0.5  # same-kind regions overlapping by this share of the smaller one become one region
DROP_COVERED = 0.6  # a region this much covered by regions of higher priority adds nothing
INK_GAP_IN = 0.2  # blank inches that separate two blocks of uncovered ink
INK_MIN_IN = 0.06  # smaller blocks of ink are specks, not text
INK_MIN_PICTURE_IN = 0.4  # a solid block of ink shorter than this is a line of text, not a picture
GUTTER_IN = 0.25  # a blank this wide running the full height of a text region separates two columns
INK_MARGIN_IN = 0.03  # ink this close to a region (a descender over its edge) belongs to it
COLUMN_KINDS = frozenset({"text", "list", "equation", "reference"})  # read as running text: split at gutters
LineFinder = Callable[[PageImage], list[BBox]]  # boxes of the text lines in an image


def _priority(region: Region) -> tuple[int, float]:
    if region.kind in PICTURE_KINDS:
        rank = 0
    elif region.kind in CAPTION_KINDS or region.kind in FURNITURE_KINDS or region.kind == "title":
        rank = 1
    else:
        rank = 2
    return rank, -(region.score or 0.0)


def page_regions(grey: PageImage, detected: list[Region], find_lines: LineFinder) -> list[Region]:
    """The regions to read: the detector's, with the text inside its figures separated out, cleaned of
    overlaps, grown over the words they clipped, plus the ink they missed (figures among it separated from
    text the same way); the whole page when there was no layout. Text regions are split at column gutters."""
    if not detected:
        return split_columns(grey, Region("text", (0, 0, grey.width, grey.height)))
    def separated(regions: list[Region]) -> list[Region]:
        return [part for region in regions for part in (
            separate_text(grey, region, find_lines) if region.kind == "figure" else [region])]

    regions = tidy(separated(detected), grey.width, grey.height)
    missed = separated(uncovered_ink(grey.pixels, regions, grey.dpi))
    regions, stray = absorb(regions, [r.bbox for r in missed if r.kind == "text"], grey.dpi)
    regions = [part for region in regions for part in split_columns(grey, region)]
    return regions + [Region("text", box) for box in stray] + [r for r in missed if r.kind != "text"]


def tidy(regions: list[Region], width: int, height: int) -> list[Region]:
    """Regions that cover each piece of the page once: clipped to the page, same-kind overlaps in one column
    merged, regions mostly covered by higher-priority ones dropped, partly covered ones cut back above or below
    them (figures and tables first, then captions, titles, headers and footers, then body text)."""
    kept: list[Region] = []
    for region in sorted(regions, key=_priority):
        box = pad(region.bbox, 0, width, height)
        if area(box) == 0:
            continue
        same = next((i for i, k in enumerate(kept) if _merges(k, Region(region.kind, box))), None)
        if same is not None:
            other = kept[same]
            kept[same] = Region(other.kind, union(other.bbox, box), max(other.score or 0, region.score or 0))
            continue
        if sum(intersection(k.bbox, box) for k in kept) >= DROP_COVERED * area(box):
            continue
        for k in kept:
            if intersection(k.bbox, box) and stacked(k.bbox, box):
                above = (k.bbox[1] + k.bbox[3]) < (box[1] + box[3])
                box = (box[0], k.bbox[3], box[2], box[3]) if above else (box[0], box[1], box[2], k.bbox[1])
        if area(box):
            kept.append(Region(region.kind, box, region.score))
    return kept


def _merges(kept: Region, new: Region) -> bool:
    """Two detections of one block: same kind, same column, overlapping (pictures: by half the smaller)."""
    if kept.kind != new.kind or not stacked(kept.bbox, new.bbox):
        return False
    shared = intersection(kept.bbox, new.bbox)
    if new.kind in PICTURE_KINDS:
        return shared >= MERGE_OVERLAP * min(area(kept.bbox), area(new.bbox))
    return shared > 0


def separate_text(grey: PageImage, figure: Region, find_lines: LineFinder) -> list[Region]:
    """A figure as the detector drew it may hold lines of text: a caption, the paragraph under it, or only
    text (the layout model calls dense scripts such as Khmer pictures). `find_lines` (Tesseract's line
    finder) locates them; they become text regions, grouped into blocks, and the ink left outside them
    becomes the figures. A figure with no line of text in it is returned as it was."""
    box = pad(figure.bbox, 0, grey.width, grey.height)
    if area(box) == 0:
        return [figure]
    low, high = LINE_MIN_IN * grey.dpi, LINE_MAX_IN * grey.dpi
    lines = [(box[0] + x0, box[1] + y0, box[0] + x1, box[1] + y1)
             for x0, y0, x1, y1 in find_lines(crop(grey, box)) if low <= y1 - y0 <= high]
    if not lines:
        return [figure]
    pixels = crop(grey, box).pixels.copy()  # the figure's own pixels, its lines of text blanked out
    for x0, y0, x1, y1 in lines:
        pixels[y0 - box[1]:y1 - box[1], x0 - box[0]:x1 - box[0]] = 255
    ink, step = ink_grid(pixels, grey.dpi)
    gap = max(1, round(INK_GAP_IN * grey.dpi / step))
    cells = xy_cut(ink, 0, ink.shape[0], 0, ink.shape[1], gap) if ink.size else []
    smallest = INK_MIN_PICTURE_IN * grey.dpi
    pictures = [Region("figure", (box[0] + x0 * step, box[1] + y0 * step, box[0] + x1 * step,
                                  box[1] + y1 * step), figure.score)
                for x0, y0, x1, y1 in cells if min(x1 - x0, y1 - y0) * step >= smallest]
    return pictures + [Region("text", block) for block in _blocks_of_lines(lines)]


def _blocks_of_lines(lines: list[BBox]) -> list[BBox]:
    """Lines grouped into blocks: a line joins the block above it in the same column when the gap between
    them is less than a line's height."""
    blocks: list[BBox] = []
    for line in sorted(lines, key=lambda b: (b[1], b[0])):
        height = line[3] - line[1]
        for i, block in enumerate(blocks):
            if stacked(block, line) and line[1] - block[3] < height:
                blocks[i] = union(block, line)
                break
        else:
            blocks.append(line)
    return blocks


def uncovered_ink(grey: np.ndarray, regions: list[Region], dpi: int) -> list[Region]:
    """The ink no region covers (what a detector missed), in blocks: solid runs of ink rows taller than a line
    of text are figures, the rest text."""
    ink, step = ink_grid(grey, dpi)
    if ink.size == 0:
        return []
    free = ink.copy()
    margin = round(INK_MARGIN_IN * dpi)
    for region in regions:
        x0, y0, x1, y1 = pad(region.bbox, margin, grey.shape[1], grey.shape[0])
        free[y0 // step:-(-y1 // step), x0 // step:-(-x1 // step)] = False
    cells_per_inch = dpi / step
    gap = max(1, round(INK_GAP_IN * cells_per_inch))
    smallest = max(1, round(INK_MIN_IN * cells_per_inch))
    tall = round(INK_MIN_PICTURE_IN * cells_per_inch)
    blocks = [b for b in xy_cut(free, 0, free.shape[0], 0, free.shape[1], gap)
              if b[3] - b[1] >= smallest and b[2] - b[0] >= smallest]
    parts = [part for block in blocks for part in _pictures_and_lines(ink, block, step, tall, None)]
    # a narrow solid strip is a rule or a scanner's edge shadow, not a figure: let OCR find it empty
    return [part if part.bbox[2] - part.bbox[0] >= INK_MIN_PICTURE_IN * dpi else Region("text", part.bbox)
            for part in parts]


def _pictures_and_lines(ink: np.ndarray, block: BBox, step: int, tall: int, score: float | None) -> list[Region]:
    """Split a block of ink at its blank rows: runs of ink at least `tall` cells high are pictures, the runs
    between them (lines of text) are text regions."""
    x0, y0, x1, y1 = block
    inked = np.concatenate([[False], ink[y0:y1, x0:x1].any(axis=1), [False]]).astype(np.int8)
    starts, ends = np.flatnonzero(np.diff(inked) == 1), np.flatnonzero(np.diff(inked) == -1)
    regions: list[Region] = []
    text_from: int | None = None
    for start, end in [*zip(starts, ends, strict=True), (y1 - y0, y1 - y0)]:
        if end - start >= tall or start == y1 - y0:  # a picture, or the end of the block
            if text_from is not None:
                regions.append(Region("text", _cells_to_px(ink, (x0, y0 + text_from, x1, y0 + start), step)))
                text_from = None
            if start < y1 - y0:
                regions.append(Region("figure", _cells_to_px(ink, (x0, y0 + start, x1, y0 + end), step), score))
        elif text_from is None:
            text_from = start
    return regions


def _cells_to_px(ink: np.ndarray, box: BBox, step: int) -> BBox:
    """The ink's own extent within `box` (in cells), in page pixels."""
    x0, y0, x1, y1 = box
    cols = np.flatnonzero(ink[y0:y1, x0:x1].any(axis=0))
    if cols.size:
        x0, x1 = x0 + int(cols[0]), x0 + int(cols[-1]) + 1
    return int(x0) * step, int(y0) * step, int(x1) * step, int(y1) * step


def absorb(regions: list[Region], blocks: list[BBox], dpi: int) -> tuple[list[Region], list[BBox]]:
    """Grow text regions over the uncovered ink on their own lines (a detector often clips a caption's first
    or last word); returns the regions and the blocks that belong to none of them."""
    reach = INK_GAP_IN * dpi
    regions, left = list(regions), []
    for block in blocks:
        height = block[3] - block[1]
        for i, region in enumerate(regions):
            box = region.bbox
            same_lines = min(box[3], block[3]) - max(box[1], block[1]) >= 0.5 * height
            near = max(box[0] - block[2], block[0] - box[2]) <= reach
            if region.kind not in PICTURE_KINDS and same_lines and near:
                regions[i] = Region(region.kind, union(box, block), region.score)
                break
        else:
            left.append(block)
    return regions, left


def split_columns(grey: PageImage, region: Region) -> list[Region]:
    """A text region the detector drew across columns (a whole two-column page called one block, or an
    "equation"), split at the blank gutters that run its full height: read whole, its columns' lines
    interleave. Tables, figures and regions without such a gutter are returned as they are."""
    if region.kind not in COLUMN_KINDS:
        return [region]
    x0, y0, x1, y1 = region.bbox
    ink, step = ink_grid(grey.pixels[y0:y1, x0:x1], grey.dpi)
    if ink.size == 0:
        return [region]
    used = np.flatnonzero(ink.any(axis=0))
    if used.size == 0:
        return [region]
    gutter = max(1, round(GUTTER_IN * grey.dpi / step))
    breaks = np.flatnonzero(np.diff(used) > gutter)
    if not breaks.size:
        return [region]
    edges = [x0, *(x0 + int(used[b] + 1 + used[b + 1]) * step // 2 for b in breaks), x1]
    return [Region(region.kind, (left, y0, right, y1), region.score) for left, right in pairwise(edges)]
