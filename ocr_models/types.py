"""Plain data passed between the engines and the stages. No engine, Ray or Prefect types leak through here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

BBox = tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels
_LONE_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 and C1 control characters but tab and newline: never text. MuPDF gives a PDF glyph with no Unicode
# mapping as one (a conjunct of a shaped Indic font: "পূর্ব\x04াঞ্চলে"); the gap is truer than the control.
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def valid_text(text: str) -> str:
    """`text` as Lontar stores it, whatever the source (a text layer, Tesseract, a routed model): lone
    surrogates (bytes that were not UTF-8, let through by an engine or an OS error message) become U+FFFD,
    which Parquet can store (Arrow refuses the surrogates themselves); control characters other than tab and
    newline are dropped."""
    if text.isprintable():  # surrogates and controls are not: the common case needs no substitution
        return text
    return CONTROLS.sub("", _LONE_SURROGATES.sub("\ufffd", text))

# The closed set of region kinds; detectors map their own labels onto these.
REGION_KINDS = ("text", "title", "list", "caption", "figure_caption", "table_caption", "figure", "table",
                "header", "footer", "reference", "equation")
PICTURE_KINDS = frozenset({"figure", "table"})  # become image pairs; figures are not read as text
CAPTION_KINDS = frozenset({"caption", "figure_caption", "table_caption"})
FURNITURE_KINDS = frozenset({"header", "footer"})  # page furniture: in the text, marked in the regions


@dataclass(frozen=True)
class PageImage:
    """Decoded pixels of one page: uint8, shape (h, w) for grey or (h, w, 3) for RGB, at `dpi`."""

    pixels: np.ndarray
    dpi: int  # for geometry (inches of margin, line heights): the stated resolution, else an assumed 300
    dpi_stated: bool = True  # False: the file stated none, and Tesseract estimates the resolution from the text

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True)
class Region:
    """One block of a page's layout: its kind (one of REGION_KINDS), box in page pixels, detector score.

    `score` is None for regions no detector produced: the whole page (no layout model) or ink that no
    detected region covered.
    """

    kind: str
    bbox: BBox
    score: float | None = None


@dataclass(frozen=True)
class ScriptGuess:
    """What script detection decided for a page: ISO 15924 code (None when undecided) and how sure (0-1)."""

    script: str | None
    confidence: float
    method: str  # "classifier" (the trained identifier), "osd", "trial", "hint"
    rotation: int = 0  # degrees clockwise the page must be turned to read upright


@dataclass(frozen=True)
class ScriptEstimate:
    """What the identifier saw: the most likely script (None: no text seen), its pooled probability, every
    script's pooled probability, the share of windows upside down, how many windows held text, and whether the
    page's lines run top to bottom (fed sideways: its windows are not lines)."""

    script: str | None
    confidence: float
    shares: dict[str, float] = field(default_factory=dict)
    upside_down: float = 0.0
    windows: int = 0
    sideways: bool = False

    @property
    def upright(self) -> bool:
        return self.upside_down < 0.5 and not self.sideways


@dataclass(frozen=True)
class OcrWord:
    """One word as the engine (or the text layer) delimits it: text, box in page pixels, confidence 0-1."""

    text: str
    bbox: BBox
    confidence: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", valid_text(self.text))


@dataclass(frozen=True)
class OcrLine:
    text: str
    bbox: BBox
    confidence: float  # 0-1
    words: tuple[OcrWord, ...] = ()  # in reading order; empty when the engine gave none

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", valid_text(self.text))
        if self.words:  # a line's box holds its words (Tesseract's line boxes leave out some descenders)
            boxes = [self.bbox, *(w.bbox for w in self.words)]
            object.__setattr__(self, "bbox", (min(b[0] for b in boxes), min(b[1] for b in boxes),
                                              max(b[2] for b in boxes), max(b[3] for b in boxes)))

    def shifted(self, dx: int, dy: int) -> OcrLine:
        """The line (and its words) moved by (dx, dy): from a crop's pixels to the page's."""
        return OcrLine(self.text, shift(self.bbox, dx, dy), self.confidence,
                       tuple(OcrWord(w.text, shift(w.bbox, dx, dy), w.confidence) for w in self.words))


def shift(box: BBox, dx: int, dy: int) -> BBox:
    return box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy


@dataclass(frozen=True)
class OcrPage:
    """Recognised text of one page or region, in reading order, NFC."""

    text: str
    confidence: float  # the estimated share of characters read right, 0-1; 0 when nothing was recognised
    model: str  # the Tesseract model(s) used, e.g. "hin" or "Devanagari+eng"
    lines: list[OcrLine] = field(default_factory=list)
    evidence: float = 0.0  # how surely the text is in the script it was read as: purity x word confidence, 0-100

    def __post_init__(self) -> None:  # every engine's text is storable, whatever the engine let through
        object.__setattr__(self, "text", valid_text(self.text))
