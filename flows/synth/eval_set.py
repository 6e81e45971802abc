"""The accuracy benchmark set: scan-like pages in 16 languages (15 scripts) with their ground truth.

    lontar eval-set FOLDER --per-language 2

writes `FOLDER/scans/<lang>-<n>-<columns>col-<degradation>.png` (`.jpg` for the JPEG degradation), the text of
each page as `FOLDER/truth/<lang>/<same name>.txt` (the layout `lontar eval` reads: one file per page, a folder
per language), and `FOLDER/pages.json` listing every page's language, script, columns and degradation.

Pages are rendered with the Noto fonts from `flows/synth/text.py`'s sentences, in one or two columns, then
degraded the way real scans are: blur, skew, noise, heavy JPEG, faded ink (low contrast), show-through of the
reverse side, 150 dpi, a page scanned upside down or sideways. Every page gets a light scan look (blur, grain) first.
The same arguments always give the same pages. Nothing is downloaded.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from flows.synth.text import MORE_TEXT, SAMPLE_TEXT, font_path, grain
from ocr_models.lontar_errors import UsageError
from ocr_models.scripts import LANGUAGE_SCRIPT

# The 14 target scripts plus Latin; Devanagari twice (Hindi, Marathi), Latin twice (English, Vietnamese).
LANGUAGES = ("eng", "hin", "mar", "ben", "pan", "guj", "ori", "tam", "tel", "kan", "mal", "tha", "lao", "khm",
             "mya", "vie")
DEGRADATIONS = ("clean", "blur", "skew", "noise", "jpeg", "faded", "show-through", "lowres", "upside-down",
                "sideways")
DPI = 300


@dataclass(frozen=True)
class EvalPage:
    name: str  # the scan's file name under scans/
    lang: str
    script: str  # ISO 15924
    columns: int
    degradation: str
    text: str  # ground truth: the lines as printed, column by column, joined by newlines


def render_text_page(lang: str, columns: int, seed: int, *, points: float = 11) -> tuple[Image.Image, str]:
    """A clean page of prose in `lang`, in `columns` columns; returns the image and its text."""
    rng = random.Random(seed)
    font = ImageFont.truetype(str(font_path(lang)), round(points * DPI / 72), layout_engine=ImageFont.Layout.RAQM)
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    sentences = list(SAMPLE_TEXT[lang] + MORE_TEXT[lang])
    rng.shuffle(sentences)
    per_column = 4 if columns == 2 else 5
    margin, gutter = round(0.5 * DPI), round(0.35 * DPI)
    nominal = round((6.0 * DPI - gutter * (columns - 1)) / columns)
    # scripts written without spaces (Thai, Lao, Khmer) have long unbreakable runs: the column grows to fit them
    widest = max(measure.textlength(word, font=font) for s in sentences for word in s.split())
    column_width = max(nominal, round(widest) + 10)
    column_lines = [_wrap(sentences[c * per_column:(c + 1) * per_column], font, column_width, measure)
                    for c in range(columns)]
    step = round(points * DPI / 72 * 1.8)
    height = 2 * margin + step * max(len(lines) for lines in column_lines)
    width = 2 * margin + columns * column_width + gutter * (columns - 1)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    for c, lines in enumerate(column_lines):
        x = margin + c * (column_width + gutter)
        for i, line in enumerate(lines):
            draw.text((x, margin + i * step), line, font=font, fill=rng.randint(0, 40))
    return page, "\n".join(line for lines in column_lines for line in lines)


def _wrap(sentences: list[str], font: ImageFont.FreeTypeFont, width: int, measure: ImageDraw.ImageDraw
          ) -> list[str]:
    lines: list[str] = []
    for sentence in sentences:  # each sentence starts a line, as in a list of entries or short paragraphs
        line = ""
        for word in sentence.split():
            candidate = f"{line} {word}" if line else word
            if line and measure.textlength(candidate, font=font) > width:
                lines.append(line)
                candidate = word
            line = candidate
        lines.append(line)
    return lines


def degrade(page: Image.Image, degradation: str, seed: int, reverse: Image.Image) -> tuple[Image.Image, int]:
    """The page as a scanner would deliver it with `degradation`; returns the image and its dpi.
    `reverse` is the other side of the sheet (for show-through)."""
    rng = random.Random(seed)
    page = page.filter(ImageFilter.GaussianBlur(0.6))  # every page: a light scan look
    if degradation == "show-through":
        # the reverse side's ink, mirrored, shows through at a quarter of its darkness
        page = _show_through(page, ImageOps.mirror(reverse).resize(page.size), 0.25)
    elif degradation == "blur":
        page = page.filter(ImageFilter.GaussianBlur(1.5))
    elif degradation == "skew":
        angle = rng.choice((-1, 1)) * rng.uniform(2.0, 3.5)
        page = page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    elif degradation == "faded":  # ink the grey of old typewriter ribbons, paper yellowed to grey
        page = page.point(lambda p: 150 + p * (225 - 150) // 255)
    elif degradation == "upside-down":
        page = page.rotate(180)
    elif degradation == "sideways":  # a page fed in landscape: turned a quarter counter-clockwise
        page = page.rotate(90, expand=True)
    dpi = DPI
    if degradation == "lowres":
        page, dpi = page.resize((page.width // 2, page.height // 2), Image.Resampling.BILINEAR), DPI // 2
    page = Image.blend(page, grain(page.size, 45 if degradation == "noise" else 12, seed),
                       0.3 if degradation == "noise" else 0.12)
    page.info["dpi"] = (dpi, dpi)
    return page, dpi


def _show_through(page: Image.Image, reverse: Image.Image, share: float) -> Image.Image:
    front, back = np.asarray(page, dtype=np.float32), np.asarray(reverse, dtype=np.float32)
    return Image.fromarray(np.minimum(front, 255 - share * (255 - back)).astype(np.uint8))


def encode(image: Image.Image, degradation: str, dpi: int) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    if degradation == "jpeg":
        image.save(buffer, format="JPEG", quality=20, dpi=(dpi, dpi))
        return buffer.getvalue(), "jpg"
    image.save(buffer, format="PNG", dpi=(dpi, dpi))
    return buffer.getvalue(), "png"


def eval_pages(per_language: int, languages: tuple[str, ...] = LANGUAGES, seed: int = 0):
    """(lang, number, columns, degradation, seed) of every page of the set; degradations and column counts
    rotate over languages and pages, so even one page per language covers every degradation."""
    for k, lang in enumerate(languages):
        for n in range(per_language):
            i = k + n * len(languages)
            yield lang, n, 1 + (i // 2) % 2, DEGRADATIONS[i % len(DEGRADATIONS)], seed * 100_003 + i


def write_eval_set(folder: Path, per_language: int = 2, languages: tuple[str, ...] = LANGUAGES,
                   seed: int = 0) -> list[EvalPage]:
    """Write the set into `folder` (scans/, truth/, pages.json); returns its pages."""
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown:
        raise UsageError(f"no benchmark text for {', '.join(unknown)}; languages: {', '.join(LANGUAGES)}")
    (folder / "scans").mkdir(parents=True, exist_ok=True)
    pages = []
    for lang, n, columns, degradation, page_seed in eval_pages(per_language, languages, seed):
        clean, text = render_text_page(lang, columns, page_seed)
        reverse = render_text_page(lang, columns, page_seed + 1)[0] if degradation == "show-through" else clean
        image, dpi = degrade(clean, degradation, page_seed, reverse)
        data, extension = encode(image, degradation, dpi)
        name = f"{lang}-{n:02d}-{columns}col-{degradation}.{extension}"
        (folder / "scans" / name).write_bytes(data)
        truth = folder / "truth" / lang / f"{Path(name).stem}.txt"
        truth.parent.mkdir(parents=True, exist_ok=True)
        truth.write_text(text + "\n", encoding="utf-8")
        pages.append(EvalPage(name, lang, LANGUAGE_SCRIPT[lang].code, columns, degradation, text))
    (folder / "pages.json").write_text(json.dumps([asdict(p) for p in pages], ensure_ascii=False, indent=1),
                                       encoding="utf-8")
    return pages
