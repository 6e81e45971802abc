"""Reading order of a page's regions: column by column within bands cut by full-width regions."""

from __future__ import annotations

from ocr_models.types import BBox, Region

SPANNING_WIDTH = 0.6  # of the content width: a region this wide is not part of a column


def reading_order(regions: list[Region]) -> list[int]:
    """Indices of `regions` in reading order: column by column within each band between full-width regions,
    bands top to bottom."""
    if not regions:
        return []
    left = min(r.bbox[0] for r in regions)
    content = max(r.bbox[2] for r in regions) - left
    narrow = [i for i, r in enumerate(regions) if r.bbox[2] - r.bbox[0] < SPANNING_WIDTH * content]
    columns = _columns([regions[i].bbox for i in narrow])
    if len(columns) < 2:
        return sorted(range(len(regions)), key=lambda i: (regions[i].bbox[1], regions[i].bbox[0]))

    def column_of(box: BBox) -> int | None:
        hits = [c for c, (c0, c1) in enumerate(columns) if box[0] < c1 and box[2] > c0]
        return hits[0] if len(hits) == 1 else None  # a region across columns spans them

    spanning = sorted((i for i, r in enumerate(regions) if column_of(r.bbox) is None),
                      key=lambda i: regions[i].bbox[1])
    cuts = [(regions[i].bbox[1] + regions[i].bbox[3]) / 2 for i in spanning]

    def key(i: int) -> tuple:
        box = regions[i].bbox
        middle = (box[1] + box[3]) / 2
        band = sum(1 for cut in cuts if cut <= middle)
        if i in spanning:
            return band - 1, 1, 0, box[1]  # after the columns of the band above it
        return band, 0, column_of(box), box[1]

    return sorted(range(len(regions)), key=key)


def _columns(boxes: list[BBox]) -> list[tuple[int, int]]:
    """Horizontal extents of the columns: overlapping x-ranges of the boxes, merged, left to right."""
    merged: list[list[int]] = []
    for x0, _, x1, _ in sorted(boxes):
        if merged and x0 < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], x1)
        else:
            merged.append([x0, x1])
    return [(a, b) for a, b in merged]
