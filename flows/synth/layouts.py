"""Synthetic scanned pages with a layout: title, columns of text, figures with printed captions, tables.

The truth of each page (where each figure and table is, its caption, every block's language and text) comes
with it, for the tests, the demo archive and benchmarks/figure_pairs.py. Nothing is downloaded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from flows.synth.text import SAMPLE_TEXT, font_path

FIGURE_CAPTIONS = {
    "eng": "Figure {n}. A palm-leaf manuscript from the archive",
    "hin": "चित्र {n}: पुरानी पांडुलिपि का एक पृष्ठ",
    "ben": "চিত্র {n}: একটি পুরনো পুঁথির পাতা",
    "tam": "படம் {n}: பழைய ஓலைச்சுவடி",
    "tel": "చిత్రం {n}: పాత తాళపత్ర గ్రంథం",
    "kan": "ಚಿತ್ರ {n}: ಹಳೆಯ ತಾಳೆಗರಿ",
    "mal": "ചിത്രം {n}: പഴയ താളിയോല",
    "tha": "รูปที่ {n} เอกสารโบราณจากห้องสมุด",
    "khm": "រូបភាព {n} សាស្ត្រាស្លឹករឹត",
}
MIXED_LABEL = "Figure {n}: "  # an English label before a caption in the page's script ("Figure 3: বছর ...")
TABLE_CAPTIONS = {"eng": "Table {n}. Pages copied each year", "hin": "तालिका {n}: प्रति वर्ष प्रतिलिपि पृष्ठ"}
TABLE_ROWS = (("Year", "Pages", "Scripts"), ("1931", "412", "3"), ("1932", "527", "4"), ("1933", "688", "6"))


@dataclass
class Block:
    kind: str  # title, text, figure, figure_caption, table, table_caption
    bbox: tuple[int, int, int, int]
    lang: str | None = None
    text: str | None = None
    caption: str | None = None  # for figures and tables: the caption printed with them


@dataclass
class LayoutPage:
    image: Image.Image  # greyscale, dpi set
    blocks: list[Block] = field(default_factory=list)  # in reading order

    def of_kind(self, *kinds: str) -> list[Block]:
        return [b for b in self.blocks if b.kind in kinds]


class _Pen:
    def __init__(self, page: Image.Image, dpi: int, rng: random.Random) -> None:
        self.draw, self.dpi, self.rng = ImageDraw.Draw(page), dpi, rng

    def font(self, lang: str, points: float) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(str(font_path(lang)), round(points * self.dpi / 72),
                                  layout_engine=ImageFont.Layout.RAQM)

    def fit(self, text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
        while self.draw.textlength(text, font=font) > width and " " in text:
            text = text.rsplit(" ", 1)[0]
        return text

    def lines(self, x: int, y: int, width: int, lines: list[str], lang: str, points: float = 11,
              centre: bool = False) -> tuple[int, list[str]]:
        font = self.font(lang, points)
        step = round(points * self.dpi / 72 * 1.6)
        written = []
        for line in lines:
            line = self.fit(line, font, width)
            offset = (width - self.draw.textlength(line, font=font)) / 2 if centre else 0
            self.draw.text((x + offset, y), line, font=font, fill=self.rng.randint(0, 40))
            written.append(line)
            y += step
        return y, written

    def mixed_line(self, x: int, y: int, width: int, label: str, rest: str, lang: str, points: float = 11,
                   centre: bool = False) -> tuple[int, str]:
        """One line of an English `label` and then `rest` in `lang`, each in its own script's face."""
        latin, native = self.font("eng", points), self.font(lang, points)
        rest = self.fit(rest, native, width - round(self.draw.textlength(label, font=latin)))
        length = self.draw.textlength(label, font=latin) + self.draw.textlength(rest, font=native)
        x += (width - length) / 2 if centre else 0
        fill = self.rng.randint(0, 40)
        self.draw.text((x, y), label, font=latin, fill=fill)
        self.draw.text((x + self.draw.textlength(label, font=latin), y), rest, font=native, fill=fill)
        return y + round(points * self.dpi / 72 * 1.6), label + rest

    def figure(self, box: tuple[int, int, int, int]) -> None:
        """A chart or a picture-like patch of shapes in a frame."""
        x0, y0, x1, y1 = box
        self.draw.rectangle(box, outline=0, width=4)
        if self.rng.random() < 0.5:
            bars = 6
            width = (x1 - x0 - 80) // bars
            for i in range(bars):
                h = self.rng.randint(int((y1 - y0) * 0.2), int((y1 - y0) * 0.85))
                self.draw.rectangle((x0 + 40 + i * width + 10, y1 - 20 - h, x0 + 40 + (i + 1) * width - 10, y1 - 20),
                                    fill=self.rng.randint(60, 200))
        else:
            for _ in range(14):
                cx, cy, r = self.rng.randint(x0, x1), self.rng.randint(y0, y1), self.rng.randint(40, 220)
                self.draw.ellipse((max(x0, cx - r), max(y0, cy - r), min(x1, cx + r), min(y1, cy + r)),
                                  fill=self.rng.randint(40, 220))

    def table(self, x: int, y: int, width: int) -> tuple[int, int, int, int]:
        font = self.font("eng", 11)
        row_h = round(11 * self.dpi / 72 * 2.0)
        col_w = width // len(TABLE_ROWS[0])
        for r, row in enumerate(TABLE_ROWS):
            for c, cell in enumerate(row):
                self.draw.text((x + c * col_w + 20, y + r * row_h + row_h // 5), cell, font=font, fill=0)
        box = (x, y, x + col_w * len(TABLE_ROWS[0]), y + row_h * len(TABLE_ROWS))
        self.draw.rectangle(box, outline=0, width=3)
        for r in range(1, len(TABLE_ROWS)):
            self.draw.line((x, y + r * row_h, box[2], y + r * row_h), fill=0, width=2)
        return box


def layout_page(lang: str, *, columns: int = 1, caption_lang: str | None = None, table: bool = False,
                mixed_captions: bool = False, english_lines: bool = False, seed: int = 0,
                dpi: int = 300) -> LayoutPage:
    """An A4 page in `lang`: a title, then per column two paragraphs, a figure with its caption (in
    `caption_lang`, default `lang`; with `mixed_captions`, an English label then `lang`: "Figure 1: ...") and a
    paragraph; with `english_lines`, the second paragraph's third line is an English sentence in a Latin face;
    with `table`, a full-width English table and its caption at the foot. Reading order of `blocks`: title,
    then column by column, then the table."""
    rng = random.Random(seed)
    width, height = round(8.27 * dpi), round(11.69 * dpi)
    image = Image.new("L", (width, height), 255)
    pen = _Pen(image, dpi, rng)
    page = LayoutPage(image)
    margin, gutter = round(0.8 * dpi), round(0.3 * dpi)
    sentences = SAMPLE_TEXT[lang]
    y, title = pen.lines(margin, margin, width - 2 * margin, [sentences[0]], lang, points=18)
    page.blocks.append(Block("title", (margin, margin, width - margin, y), lang, title[0]))
    top = y + round(0.2 * dpi)
    column_width = (width - 2 * margin - gutter * (columns - 1)) // columns
    caption_lang = caption_lang or lang
    bottom = top
    for c in range(columns):
        x, y = margin + c * (column_width + gutter), top
        for paragraph in range(2):
            start = y
            lines = [sentences[(i + paragraph) % 3] for i in range(4)]
            if english_lines and paragraph == 1:
                y, above = pen.lines(x, y, column_width, lines[:2], lang)
                y, english = pen.lines(x, y, column_width, [SAMPLE_TEXT["eng"][c % 3]], "eng")
                y, below = pen.lines(x, y, column_width, lines[3:], lang)
                text = [*above, *english, *below]
            else:
                y, text = pen.lines(x, y, column_width, lines, lang)
            page.blocks.append(Block("text", (x, start, x + column_width, y), lang, "\n".join(text)))
            y += round(0.15 * dpi)
        figure_box = (x + 40, y, x + column_width - 40, y + round(column_width * 0.55))
        pen.figure(figure_box)
        y = figure_box[3] + round(0.1 * dpi)
        caption = FIGURE_CAPTIONS[caption_lang].format(n=c + 1)
        start = y
        if mixed_captions:
            rest = FIGURE_CAPTIONS[lang].split("{n}", 1)[1].lstrip(": ")
            y, line = pen.mixed_line(x, y, column_width, MIXED_LABEL.format(n=c + 1), rest, lang, centre=True)
            written = [line]
        else:
            y, written = pen.lines(x, y, column_width, [caption], caption_lang, centre=True)
        page.blocks.append(Block("figure", figure_box, caption=written[0]))
        page.blocks.append(Block("figure_caption", (x, start, x + column_width, y), caption_lang, written[0]))
        y += round(0.3 * dpi)
        start = y
        y, text = pen.lines(x, y, column_width, [sentences[i % 3] for i in range(4)], lang)
        page.blocks.append(Block("text", (x, start, x + column_width, y), lang, "\n".join(text)))
        bottom = max(bottom, y)
    if table:
        y = bottom + round(0.4 * dpi)
        caption = TABLE_CAPTIONS.get(lang, TABLE_CAPTIONS["eng"]).format(n=1)
        caption_lang_ = lang if lang in TABLE_CAPTIONS else "eng"
        y, written = pen.lines(margin, y, width - 2 * margin, [caption], caption_lang_)
        page.blocks.append(Block("table_caption", (margin, y - round(11 * dpi / 72 * 1.6), width - margin, y),
                                 caption_lang_, written[0]))
        box = pen.table(margin, y + round(0.1 * dpi), round((width - 2 * margin) * 0.7))
        page.blocks.append(Block("table", box, "eng", "\n".join(" ".join(row) for row in TABLE_ROWS),
                                 caption=written[0]))
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    image.info["dpi"] = (dpi, dpi)
    page.image = image
    return page
