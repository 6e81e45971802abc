"""What the script identifier sees: a line of text as fixed-size windows of normalised ink.

One definition, used by training (training/script_id) and by the identifier alike: a crop's grey levels are
stretched between its paper and its ink (ink 1, paper 0, so that faded and dark print look alike), the crop is
scaled to HEIGHT pixels tall, trimmed to its text's extent, and cut into windows WIDTH pixels wide. A window
holds 6-12 letters of a line set at the usual proportions: enough to tell scripts apart, few enough that a page
needs a dozen windows at most.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

HEIGHT = 32
WIDTH = 192
MIN_CONTRAST = 40  # grey levels between paper and ink under which a crop holds no ink worth reading


def normalised(grey: np.ndarray) -> np.ndarray | None:
    """A crop (uint8, dark ink on light paper) as float32 ink HEIGHT tall, paper 0 and ink 1, trimmed to its
    text (`_text_extent`); None when the crop has no contrast (blank or a speck) or is degenerate."""
    if grey.ndim == 3:
        grey = grey.mean(axis=2)
    if grey.shape[0] < 4 or grey.shape[1] < 4:
        return None
    paper, ink = np.percentile(grey, (98, 2))
    if paper - ink < MIN_CONTRAST:
        return None
    width = max(1, round(grey.shape[1] * HEIGHT / grey.shape[0]))
    scaled = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).resize((width, HEIGHT), Image.BILINEAR)
    line = np.clip((paper - np.asarray(scaled, dtype=np.float32)) / (paper - ink), 0.0, 1.0).astype(np.float32)
    start, end = _text_extent(line)
    return line[:, start:end]


def _text_extent(line: np.ndarray) -> tuple[int, int]:
    """The columns of a normalised line from its text's first ink to its last: a band of ink found across a
    page runs from edge to edge, and a page's edge, a rule or a speck beyond a wide gap (over HEIGHT) is
    left out when it is narrower than HEIGHT / 3 (a receipt's edges, a table's frame)."""
    inked = (line > 0.5).sum(axis=0) >= 2
    columns = np.flatnonzero(inked)
    if columns.size == 0:
        return 0, line.shape[1]
    breaks = np.flatnonzero(np.diff(columns) > HEIGHT)
    runs = [(int(columns[a]), int(columns[b]) + 1) for a, b in
            zip([0, *(breaks + 1)], [*breaks, columns.size - 1], strict=True)]
    while len(runs) > 1 and runs[0][1] - runs[0][0] < HEIGHT // 3:
        runs.pop(0)
    while len(runs) > 1 and runs[-1][1] - runs[-1][0] < HEIGHT // 3:
        runs.pop()
    return runs[0][0], runs[-1][1]


def windows(ink: np.ndarray, limit: int | None = None) -> list[np.ndarray]:
    """A normalised line cut into WIDTH-wide windows from its left, the last ending where the line ends (it
    overlaps the one before: every window full of the line, as training's are; a line shorter than a window
    is padded with paper); at most `limit`, spread evenly along the line."""
    count = max(1, -(-ink.shape[1] // WIDTH))
    starts = [min(i * WIDTH, max(0, ink.shape[1] - WIDTH)) for i in range(count)]
    if limit is not None and count > limit:
        starts = [starts[round(i * (count - 1) / max(1, limit - 1))] for i in range(limit)]
    out = []
    for x in starts:
        window = np.zeros((HEIGHT, WIDTH), dtype=np.float32)
        piece = ink[:, x:x + WIDTH]
        window[:, :piece.shape[1]] = piece
        out.append(window)
    return out
