"""Ink on a page: where it is (a coarse grid, blocks cut at blank runs), and the lines of text it makes (which way
they run, their bands, a band split between words)."""

from __future__ import annotations

import numpy as np

from ocr_models.types import BBox, PageImage

INK_GRID_DPI = 50  # resolution at which uncovered ink is looked for
INK_LEVEL = 128  # grey level below which a pixel is ink
MIN_INK_CONTRAST = 40  # grey levels between paper and the darkest ink below which a crop is taken as blank
LINE_MIN_IN, LINE_MAX_IN = 0.04, 0.5  # heights of what counts as a line of text (6 to 36 points)
VERTICAL_BLANK_COLUMNS = 0.2  # share of blank columns from which a page's lines may run top to bottom
VERTICAL_MIN_INK_IN = 0.5  # inches of inked rows (and columns) below which ink is a line or two, not a page
GROUND_ROWS = 0.8  # share of its rows from which an inked column is the ground under the paper or a rule, not text


def ink_grid(grey: np.ndarray, dpi: int) -> tuple[np.ndarray, int]:
    """Ink as a boolean grid of cells about 1/50 inch wide (the darkest pixel of each cell, so that thin
    strokes survive), and the cell size in pixels."""
    step = max(1, round(dpi / INK_GRID_DPI))
    h, w = (grey.shape[0] // step) * step, (grey.shape[1] // step) * step
    # the minimum of strided views: 9 times faster than min(axis=(1, 3)) of a 4-d reshape (7 ms an A4 page)
    columns = np.minimum.reduce([grey[:h, i:w:step] for i in range(step)])
    return np.minimum.reduce([columns[j:h:step] for j in range(step)]) < INK_LEVEL, step


def xy_cut(ink: np.ndarray, y0: int, y1: int, x0: int, x1: int, gap: int) -> list[BBox]:
    """Split the ink of a window at blank runs of at least `gap` cells, rows first, recursively."""
    window = ink[y0:y1, x0:x1]
    rows, cols = np.flatnonzero(window.any(axis=1)), np.flatnonzero(window.any(axis=0))
    if rows.size == 0:
        return []
    y0, y1, x0, x1 = y0 + rows[0], y0 + rows[-1] + 1, x0 + cols[0], x0 + cols[-1] + 1
    for axis in (0, 1):
        used = np.flatnonzero(ink[y0:y1, x0:x1].any(axis=1 - axis))
        breaks = np.flatnonzero(np.diff(used) > gap)
        if breaks.size:
            start = used[0]
            pieces = []
            for b in [*breaks, used.size - 1]:
                end = used[b] + 1
                if axis == 0:
                    pieces += xy_cut(ink, y0 + start, y0 + end, x0, x1, gap)
                else:
                    pieces += xy_cut(ink, y0, y1, x0 + start, x0 + end, gap)
                if b + 1 < used.size:
                    start = used[b + 1]
            return pieces
    return [(int(x0), int(y0), int(x1), int(y1))]


def ink_mask(image: PageImage) -> np.ndarray | None:
    """The image's ink: pixels darker than halfway between the paper (the median grey) and the darkest ink;
    None when there is no contrast (blank or faint). Unlike INK_LEVEL (uncovered ink on a printed page), the
    level follows the image, so faded ink counts. The levels come from every 4th pixel each way: the same
    levels for a sixteenth of the work."""
    grey = image.pixels if image.pixels.ndim == 2 else image.pixels.mean(axis=2)
    if grey.size == 0:
        return None
    sample = grey[::4, ::4]
    paper, darkest = np.percentile(sample, 50), np.percentile(sample, 0.5)
    if paper - darkest < MIN_INK_CONTRAST:
        return None
    return grey < (paper + darkest) / 2


def lines_run_vertically(image: PageImage) -> bool:
    """Whether the page's lines of text run top to bottom (a page fed sideways): within its ink, blank columns
    (the gaps between lines, turned) are common and blank rows rare. Measured on the benchmark set: sideways
    pages 22-34 % blank columns and 3-8 % blank rows; upright pages at most 21 % blank columns and twice as many
    blank rows; skewed pages few of either."""
    dark = ink_mask(image)
    if dark is None:
        return False
    rows, cols = dark.sum(axis=1), dark.sum(axis=0)
    inked_rows, inked_cols = np.flatnonzero(rows >= 3), np.flatnonzero(cols >= 3)
    if min(inked_rows.size, inked_cols.size) < VERTICAL_MIN_INK_IN * image.dpi:
        return False  # a line or two (a caption, a title): the gaps between letters are not lines
    blank_rows = (rows[inked_rows[0]:inked_rows[-1] + 1] < 3).mean()
    blank_cols = (cols[inked_cols[0]:inked_cols[-1] + 1] < 3).mean()
    return bool(blank_cols >= VERTICAL_BLANK_COLUMNS and blank_cols > 2 * blank_rows)


def ink_bands(image: PageImage) -> list[BBox]:
    """Lines of text as ink sees them: runs of inked rows of a line's height, each with its ink's width.
    (Skewed text runs its lines together into one tall run, which is not a line and is left out.)"""
    dark = ink_mask(image)
    if dark is None:
        return []
    # a column dark nearly from top to bottom is the ground the paper lies on, or a rule: no line's ink
    dark = dark & (dark.mean(axis=0) < GROUND_ROWS)[None, :]
    inked = np.concatenate([[False], dark.sum(axis=1) >= max(3, 0.002 * dark.shape[1]), [False]]).astype(np.int8)
    starts, ends = np.flatnonzero(np.diff(inked) == 1), np.flatnonzero(np.diff(inked) == -1)
    low, high = LINE_MIN_IN * image.dpi, LINE_MAX_IN * image.dpi
    margin = round(0.02 * image.dpi)
    bands = []
    for y0, y1 in zip(starts, ends, strict=True):
        if low <= y1 - y0 <= high:
            columns = np.flatnonzero(dark[y0:y1].any(axis=0))
            bands.append((max(0, int(columns[0]) - margin), max(0, int(y0) - margin),
                          min(dark.shape[1], int(columns[-1]) + 1 + margin), min(dark.shape[0], int(y1) + margin)))
    return bands


def halves(image: PageImage, band: BBox) -> list[BBox]:
    """A band split in two at the blank column (a space between words) nearest its middle."""
    x0, y0, x1, y1 = band
    grey = image.pixels if image.pixels.ndim == 2 else image.pixels.mean(axis=2)
    strip = grey[y0:y1, x0:x1]
    blank = np.flatnonzero(strip.min(axis=0) > (np.percentile(strip, 50) + strip.min()) / 2)
    middle = (x1 - x0) // 2
    cut = x0 + (int(blank[np.abs(blank - middle).argmin()]) if blank.size else middle)
    return [(x0, y0, cut, y1), (cut, y0, x1, y1)]
