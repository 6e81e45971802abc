"""A page row's stored image, decoded for the stages that look at it (layout, OCR)."""

from __future__ import annotations

import io

from PIL import Image

ASSUMED_DPI = 300  # page geometry of an image that states no resolution


def open_image(data: bytes) -> Image.Image:
    """The page image, decoded in its own colour mode (figure crops keep colour; OCR reads it in grey, which
    Tesseract binarises itself and reads a third faster than RGB)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image if image.mode in ("L", "RGB") else image.convert("RGB")
