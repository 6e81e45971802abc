"""Lines of text drawn in many typefaces and worn like real paper, and ink that is not text.

Every typeface Debian installs for a script is used (the Noto families, Lohit, Samyak, SMC, TLWG, Gargi, Sarai,
Padauk, Khmer OS, URW's, ...): a face is taken for a script when it holds nearly all of the script's letters in
the training text. The wear is what real scans show: ink spread and broken strokes (letterpress), blur and low
resolution, JPEG, skew, noise and specks, binarisation, show-through of the other side, rules and form boxes
crossing the text, stamps and handwriting over it, pieces of the lines above and below, faint or dark print.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
from fontTools.ttLib import TTCollection, TTFont
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_FOLDERS = (Path("/usr/share/fonts"),)
SIZES = (24, 32, 44)
COVERAGE = 0.995  # share of a script's letters in running text a face must hold (by their frequency)


Face = tuple[str, int, str]  # font file, face index in it, the script's letters it lacks


def faces(letters: dict[str, dict[str, int]]) -> dict[str, list[Face]]:
    """{script: [face]} for every installed face holding COVERAGE of the script's letters (`letters[script]`:
    each letter's count in the training text)."""
    found: dict[str, list[Face]] = {code: [] for code in letters}
    for path in sorted(p for folder in FONT_FOLDERS for p in folder.rglob("*") if p.suffix.lower() in
                       (".ttf", ".otf", ".ttc")):
        try:
            fonts = TTCollection(str(path), lazy=True).fonts if path.suffix.lower() == ".ttc" else [
                TTFont(str(path), lazy=True)]
        except Exception:
            continue
        for index, font in enumerate(fonts[:4]):
            try:
                cmap = font.getBestCmap() or {}
            except Exception:
                continue
            for code, wanted in letters.items():
                if wanted and sum(n for ch, n in wanted.items() if ord(ch) in cmap) >= COVERAGE * sum(
                        wanted.values()):
                    found[code].append((str(path), index, "".join(ch for ch in wanted if ord(ch) not in cmap)))
    return found


@cache
def font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.RAQM)


def draw_text(text: str, face: Face, size: int) -> np.ndarray | None:
    """The text in black on white, cropped to its ink; None when nothing was drawn or the face lacks one of the
    text's letters (it would draw a box)."""
    if any(ch in face[2] for ch in text):
        return None
    shape = font(face[0], face[1], size)
    try:
        left, top, right, bottom = shape.getbbox(text)
    except (OSError, ValueError):
        return None
    width, height = right - left + 2 * size, bottom - top + size
    if width <= 0 or height <= 0 or width > 20000:
        return None
    canvas = Image.new("L", (width, height), 255)
    ImageDraw.Draw(canvas).text((size - left, size // 2 - top), text, font=shape, fill=0)
    grey = np.asarray(canvas)
    rows, cols = np.flatnonzero((grey < 128).any(axis=1)), np.flatnonzero((grey < 128).any(axis=0))
    if rows.size == 0:
        return None
    return grey[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def framed(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A tight line with paper around it as a line finder cuts it: 5-35 % of its height above and below, a
    little at the ends."""
    h = grey.shape[0]
    top, bottom = (int(rng.uniform(0.05, 0.35) * h) for _ in range(2))
    side = int(rng.uniform(0.0, 0.5) * h)
    return np.pad(grey, ((top, bottom), (side, side)), constant_values=255)


def worn(grey: np.ndarray, rng: np.random.Generator,
         other_line: Callable[[], np.ndarray | None] = lambda: None) -> np.ndarray:
    """The line worn as real paper wears it (each wear with its own chance); `other_line` draws another line,
    for show-through and the neighbouring lines' pieces (only when one of those is drawn)."""
    image = Image.fromarray(grey)
    h = grey.shape[0]
    if rng.random() < 0.25:  # letterpress: ink spread or starved strokes
        image = image.filter(ImageFilter.MinFilter(3) if rng.random() < 0.6 else ImageFilter.MaxFilter(3))
    if rng.random() < 0.3 and (other := other_line()) is not None:  # pieces of the lines above and below
        image = _neighbours(image, other, rng)
    draw = ImageDraw.Draw(image)
    w, h = image.size
    if rng.random() < 0.15:  # a rule under or through the text, or a form's box
        y = int(rng.uniform(0.1, 1.0) * (h - 1))
        draw.line((0, y, w, y), fill=int(rng.integers(0, 120)), width=int(rng.integers(1, 4)))
    if rng.random() < 0.1:  # table rules crossing the line
        for _ in range(int(rng.integers(1, 4))):
            x = int(rng.integers(0, w))
            draw.line((x, 0, x, h), fill=int(rng.integers(0, 120)), width=int(rng.integers(1, 4)))
    if rng.random() < 0.06:  # a stamp
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.uniform(0.6, 1.5) * h
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=int(rng.integers(60, 170)),
                     width=int(rng.integers(2, 5)))
    if rng.random() < 0.06:  # handwriting over the text
        _scribble(draw, w, h, rng)
    if rng.random() < 0.5:  # skew
        image = image.rotate(float(rng.uniform(-3, 3)), resample=Image.BILINEAR, expand=True, fillcolor=255)
    out = np.asarray(image, dtype=np.float32)
    # show-through: the other side's line, mirrored and faint
    if rng.random() < 0.12 and (other := other_line()) is not None:
        back = np.asarray(Image.fromarray(other).resize((out.shape[1], out.shape[0])), dtype=np.float32)[:, ::-1]
        out = np.minimum(out, 255 - (255 - back) * rng.uniform(0.1, 0.3))
    paper, ink = rng.uniform(150, 255), rng.uniform(0, 110)  # faint or dark print on pale or dark paper
    if paper - ink < 60:
        ink = paper - 60
    out = ink + out / 255 * (paper - ink)
    if rng.random() < 0.3:
        gradient = np.linspace(0, rng.uniform(-40, 40), out.shape[1])[None, :]
        out = out + gradient
    image = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
    if rng.random() < 0.35:  # low resolution
        factor = rng.uniform(1.5, 3.5)
        small = (max(1, int(image.width / factor)), max(1, int(image.height / factor)))
        image = image.resize(small, Image.BILINEAR).resize(image.size, Image.BILINEAR)
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.5))))
    out = np.asarray(image, dtype=np.float32)
    if rng.random() < 0.3:
        out = out + rng.normal(0, rng.uniform(3, 20), out.shape)
    if rng.random() < 0.1:  # specks
        specks = rng.random(out.shape) < rng.uniform(0.001, 0.01)
        out[specks] = rng.uniform(0, 80)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.2:  # binarised by a scanner or a tool
        level = rng.uniform(0.35, 0.65) * (int(out.max()) + int(out.min()))
        out = np.where(out < level, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        buffer = io.BytesIO()
        Image.fromarray(out).save(buffer, "JPEG", quality=int(rng.integers(15, 70)))
        out = np.asarray(Image.open(buffer).convert("L"))
    return out


def not_text(rng: np.random.Generator, digits_face: Face) -> np.ndarray:
    """Ink a line finder takes for a line that holds no script: rules, dotted leaders, boxes, bars of a chart,
    figure strokes, stamps, scribbles, specks, and lines of digits and punctuation only."""
    kind = rng.integers(0, 7)
    if kind == 0:
        text = "".join(rng.choice(list("0123456789.,-/:()% +="), int(rng.integers(3, 25))))
        drawn = draw_text(text, digits_face, int(rng.choice(SIZES)))
        if drawn is not None:
            return framed(drawn, rng)
    h, w = int(rng.integers(24, 80)), int(rng.integers(60, 900))
    image = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(image)
    if kind <= 1:  # rules and leaders
        for _ in range(int(rng.integers(1, 4))):
            y = int(rng.integers(0, h))
            if rng.random() < 0.5:
                draw.line((0, y, w, y), fill=0, width=int(rng.integers(1, 6)))
            else:
                for x in range(0, w, int(rng.integers(4, 14))):
                    draw.ellipse((x, y, x + 2, y + 2), fill=0)
    elif kind == 2:  # boxes and table cells
        for _ in range(int(rng.integers(1, 5))):
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h // 2))
            draw.rectangle((x0, y0, x0 + int(rng.integers(10, w)), y0 + int(rng.integers(5, h))), outline=0,
                           width=int(rng.integers(1, 4)))
    elif kind == 3:  # bars, blocks and blobs of a figure
        for _ in range(int(rng.integers(2, 12))):
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            box = (x0, y0, x0 + int(rng.integers(3, 60)), y0 + int(rng.integers(3, h)))
            fill = int(rng.integers(0, 200))
            (draw.rectangle if rng.random() < 0.5 else draw.ellipse)(box, fill=fill)
    elif kind == 4:  # plotted lines and curves
        points = [(int(x), int(rng.integers(0, h))) for x in np.sort(rng.integers(0, w, int(rng.integers(3, 20))))]
        draw.line(points, fill=0, width=int(rng.integers(1, 4)))
    elif kind == 5:  # stamps and scribbles
        r = rng.uniform(0.3, 0.5) * h
        cx = rng.uniform(r, max(r + 1, w - r))
        draw.ellipse((cx - r, h / 2 - r, cx + r, h / 2 + r), outline=int(rng.integers(0, 150)), width=3)
        _scribble(draw, w, h, rng)
    else:  # specks and noise
        grey = np.full((h, w), 255.0)
        grey[rng.random((h, w)) < rng.uniform(0.002, 0.05)] = 0
        image = Image.fromarray(grey.astype(np.uint8)).filter(ImageFilter.MinFilter(3))
    return np.asarray(image)


def _scribble(draw: ImageDraw.ImageDraw, w: int, h: int, rng: np.random.Generator) -> None:
    x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
    points = [(x, y)]
    for _ in range(int(rng.integers(5, 30))):
        x, y = x + rng.uniform(-0.4, 1.0) * h, min(h, max(0, y + rng.uniform(-0.5, 0.5) * h))
        points.append((x, y))
    draw.line(points, fill=int(rng.integers(0, 140)), width=int(rng.integers(1, 4)), joint="curve")


def _neighbours(image: Image.Image, other: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The line with the bottom of the line above or the top of the line below showing at its edge."""
    w, h = image.size
    piece = Image.fromarray(other).resize((w, max(2, int(other.shape[0] * h / max(1, other.shape[0])))))
    cut = int(rng.uniform(0.1, 0.3) * h)
    out = Image.new("L", (w, h + cut), 255)
    if rng.random() < 0.5:
        out.paste(piece.crop((0, piece.height - cut, w, piece.height)), (0, 0))
        out.paste(image, (0, cut))
    else:
        out.paste(image, (0, 0))
        out.paste(piece.crop((0, 0, w, cut)), (0, h))
    return out
