"""What the script identifier sees: a line of text as fixed-size windows of normalised ink.

One definition, used by training (training/script_id) and by the identifier alike: a crop's grey levels are
stretched between its paper and its ink (ink 1, paper 0, so that faded and dark print look alike), the crop is
scaled to HEIGHT pixels tall, and cut into windows WIDTH pixels wide (the last one padded with paper). A window
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
    """A crop (uint8, dark ink on light paper) as float32 ink HEIGHT tall, paper 0 and ink 1; None when the crop
    has no contrast (blank or a speck) or is degenerate."""
    if grey.ndim == 3:
        grey = grey.mean(axis=2)
    if grey.shape[0] < 4 or grey.shape[1] < 4:
        return None
    paper, ink = np.percentile(grey, (98, 2))
    if paper - ink < MIN_CONTRAST:
        return None
    width = max(1, round(grey.shape[1] * HEIGHT / grey.shape[0]))
    scaled = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).resize((width, HEIGHT), Image.BILINEAR)
    return np.clip((paper - np.asarray(scaled, dtype=np.float32)) / (paper - ink), 0.0, 1.0).astype(np.float32)


def windows(ink: np.ndarray, limit: int | None = None) -> list[np.ndarray]:
    """A normalised line cut into WIDTH-wide windows from its left (the last padded with paper); at most
    `limit`, spread evenly along the line."""
    count = max(1, -(-ink.shape[1] // WIDTH))
    starts = [i * WIDTH for i in range(count)]
    if limit is not None and count > limit:
        starts = [starts[round(i * (count - 1) / max(1, limit - 1))] for i in range(limit)]
    out = []
    for x in starts:
        window = np.zeros((HEIGHT, WIDTH), dtype=np.float32)
        piece = ink[:, x:x + WIDTH]
        window[:, :piece.shape[1]] = piece
        out.append(window)
    return out
