"""Box maths on page pixels: areas, overlaps, padding, turning with the page, cropping."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ocr_models.types import BBox, PageImage


def area(box: BBox) -> int:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def intersection(a: BBox, b: BBox) -> int:
    return area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def iou(a: BBox, b: BBox) -> float:
    """Intersection over union of two boxes, 0-1."""
    shared = intersection(a, b)
    return shared / (area(a) + area(b) - shared) if shared else 0.0


def union(a: BBox, b: BBox) -> BBox:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def pad(box: BBox, margin: int, width: int, height: int) -> BBox:
    return max(0, box[0] - margin), max(0, box[1] - margin), min(width, box[2] + margin), min(height, box[3] + margin)


def turn(box: BBox, degrees: int, width: int, height: int) -> BBox:
    """Where `box` of a `width` x `height` page lies once the page is turned `degrees` clockwise (a multiple of 90,
    as tesseract.rotate turns pages)."""
    x0, y0, x1, y1 = box
    turns = (degrees // 90) % 4
    if turns == 1:
        return height - y1, x0, height - y0, x1
    if turns == 2:
        return width - x1, height - y1, width - x0, height - y0
    if turns == 3:
        return y0, width - x1, y1, width - x0
    return box


def crop(image: PageImage, box: BBox, margin: int = 0) -> PageImage:
    """The pixels of `box` (grown by `margin`, within the page), as a page image at the same resolution."""
    x0, y0, x1, y1 = pad(box, margin, image.width, image.height)
    return replace(image, pixels=np.ascontiguousarray(image.pixels[y0:y1, x0:x1]))


def stacked(a: BBox, b: BBox) -> bool:
    """Whether two boxes share a column: they overlap by half the narrower one's width or more."""
    return min(a[2], b[2]) - max(a[0], b[0]) >= 0.5 * min(a[2] - a[0], b[2] - b[0])


def rotate(image: PageImage, degrees: int) -> PageImage:
    """Turn the page `degrees` clockwise (OSD reports the clockwise rotation that makes it upright)."""
    if degrees % 360 == 0:
        return image
    turns = (degrees // 90) % 4
    return replace(image, pixels=np.ascontiguousarray(np.rot90(image.pixels, k=-turns)))
