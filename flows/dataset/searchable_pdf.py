"""Searchable PDFs from page rows, as OCRmyPDF makes them: each page shows its stored image, with the text the
dataset holds laid over it invisibly (render mode 3) on its words, so that a viewer finds, selects and copies it.

Text is written with the Noto fonts (Debian's fonts-noto-core, the fonts Lontar draws its test pages with),
each character in the first of Noto Sans and its script's Noto font that has it; no shaping is needed for text
nobody sees, and text extracted from the page is the dataset's text, line by line in reading order. A word
is stretched across its box; a line whose words do not spell it with single spaces (Thai, Lao, Khmer and
Myanmar words are syllables) is written whole across the line's box. Born-digital pages keep their original
page when the source file is at hand with the same bytes.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pymupdf

from actors.reading.page_image import ASSUMED_DPI
from flows.dataset.page_xml import page_size, spaced, upright_image, words
from flows.synth.text import FONT_DIR
from ocr_models.scripts import script_of_char

Row = dict[str, Any]
BASE_FONT = "NotoSans-Regular.ttf"
FONT_SHARE = 0.85  # of a word box's height taken by the font size (ascenders and descenders fill the rest)


class SearchablePdf:
    """One output PDF, page by page."""

    def __init__(self) -> None:
        self.doc = pymupdf.open()

    def add_original(self, source: pymupdf.Document, page_index: int) -> None:
        """A born-digital page as it is in its source: its own text layer and drawing."""
        self.doc.insert_pdf(source, from_page=page_index, to_page=page_index)

    def add_scan(self, row: Row) -> None:
        """The row's stored image, turned upright, with its lines as invisible text."""
        dpi = row.get("dpi") or ASSUMED_DPI
        width, height = page_size(row)
        page = self.doc.new_page(width=width * 72 / dpi, height=height * 72 / dpi)
        page.insert_image(page.rect, stream=upright_image(row)[0])
        scale, fonts = 72 / dpi, set[str]()
        for line in row.get("lines") or ():  # in the order of the page's text (blocks may hold them otherwise)
            self._write_line(page, line, scale, fonts)

    def _write_line(self, page: pymupdf.Page, line: Row, scale: float, fonts: set[str]) -> None:
        parts = words(line) if spaced(line) else [{"text": line["text"], "bbox": line["bbox"]}]
        for i, word in enumerate(parts):
            # a space after every word but the last, so that the extracted line has its spaces whatever gap
            self._write(page, word["text"] + (" " if i < len(parts) - 1 else ""), word["bbox"], scale, fonts)

    def _write(self, page: pymupdf.Page, text: str, bbox: list[int], scale: float, fonts: set[str]) -> None:
        """`text` stretched across `bbox` (image pixels; `scale` makes them points); `fonts`: the fonts the page
        has been given (PyMuPDF embeds each font file once a document)."""
        x0, y0, x1, y1 = (v * scale for v in bbox)
        size = max(1.0, (y1 - y0) * FONT_SHARE)
        runs = font_runs(text)
        length = sum(_font(name).text_length(part, size) for name, part in runs)
        if length <= 0:
            return
        stretch = (x1 - x0) / length
        x = x0
        for name, part in runs:
            if name not in fonts:
                page.insert_font(fontname=_alias(name), fontfile=str(FONT_DIR / name))
                fonts.add(name)
            origin = pymupdf.Point(x, y1 - (y1 - y0) * (1 - FONT_SHARE) / 2)
            page.insert_text(origin, part, fontname=_alias(name), fontsize=size, render_mode=3,
                             morph=(origin, pymupdf.Matrix(stretch, 1)))
            x += _font(name).text_length(part, size) * stretch

    def tobytes(self) -> bytes:
        self.doc.subset_fonts()
        return self.doc.tobytes(garbage=3, deflate=True)

    def close(self) -> None:
        self.doc.close()


def font_runs(text: str) -> list[tuple[str, str]]:
    """`text` cut into (font file, characters) runs: each character in Noto Sans when it has it, else in its
    script's Noto font; spaces and marks stay in the run they are in."""
    runs: list[tuple[str, str]] = []
    for char in text:
        name = runs[-1][0] if runs and _font(runs[-1][0]).has_glyph(ord(char)) else _font_for(char)
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1] + char)
        else:
            runs.append((name, char))
    return runs


@cache
def _font_for(char: str) -> str:
    script = script_of_char(char)
    if script is not None and script.code != "Latn":
        own = f"NotoSans{script.name}-Regular.ttf"
        if (FONT_DIR / own).exists() and _font(own).has_glyph(ord(char)):
            return own
    return BASE_FONT


@cache
def _font(name: str) -> pymupdf.Font:
    return pymupdf.Font(fontfile=str(FONT_DIR / name))


def _alias(name: str) -> str:
    return "F" + "".join(c for c in name.removesuffix("-Regular.ttf") if c.isalnum())
