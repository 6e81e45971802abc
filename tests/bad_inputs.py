"""Awkward but legitimate inputs, made on the spot: every image mode and codec a scanner or a PDF producer
emits, damaged PDFs a repair can save, and a PDF with no pages. Each name says what it is."""

from __future__ import annotations

import io

import pymupdf
from PIL import Image, ImageDraw


def _page(mode: str, size: tuple[int, int] = (900, 300)) -> Image.Image:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((30, 120), "Minutes of the archive committee, 1942", fill="black",
                               font_size=40)
    return image.convert(mode)


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _pdf_around(image: bytes) -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=432, height=144)
    page.insert_image(page.rect, stream=image)
    return doc.tobytes()


def _born_digital() -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "A page of minutes, typed and never printed, long enough to trust.")
    return doc.tobytes()


def awkward_inputs() -> dict[str, bytes]:
    """File name -> bytes; every one should come through as readable pages."""
    jp2 = _encode(_page("RGB"), "JPEG2000")
    ccitt = _encode(_page("1"), "TIFF", compression="group4")
    cmyk = _encode(_page("CMYK"), "JPEG")
    pdf = _born_digital()
    return {
        "cmyk scan.jpg": cmyk,
        "16-bit grey.png": _encode(_page("L").convert("I;16"), "PNG"),
        "palette.png": _encode(_page("RGB").convert("P"), "PNG"),
        "grey with alpha.png": _encode(_page("LA"), "PNG"),
        "one pixel.png": _encode(Image.new("L", (1, 1), 255), "PNG"),
        "one pixel.jpg": _encode(Image.new("RGB", (1, 1), "white"), "JPEG"),
        "ccitt-g4.tif": ccitt,
        "jpeg2000.jp2": jp2,
        "jpx image.pdf": _pdf_around(jp2),
        "ccitt image.pdf": _pdf_around(ccitt),
        "cmyk image.pdf": _pdf_around(cmyk),
        "no xref table.pdf": pdf[: pdf.rfind(b"xref")] + b"%%EOF\n",  # repaired on opening
        "विवरण पत्र.png": _encode(_page("L"), "PNG"),  # a non-ASCII name
    }


ZERO_PAGE_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>"
                 b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
