"""Thin wrapper over tesserocr: one loaded `PyTessBaseAPI` per (model, page segmentation mode).

This module knows the library's calls, timeouts and error returns; `tesseract.py` decides what to call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from ocr_models.lontar_errors import EngineError, EngineTimeoutError, MissingDependencyError

try:
    import tesserocr
    from tesserocr import RIL
except ImportError as exc:  # the Python package or the Tesseract library it links is missing
    raise MissingDependencyError(
        f"cannot load tesserocr ({exc}); install Tesseract with `apt-get install tesseract-ocr "
        "libtesseract-dev` and the Python packages with `make deps`") from exc
from ocr_models.scripts import canonical_text
from ocr_models.types import BBox, OcrLine, OcrWord, PageImage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LineText:
    text: str
    confidence: float  # mean symbol confidence 0-100, as Tesseract reports it
    words: float = 0.0  # mean word confidence 0-100
    word_boxes: tuple[OcrWord, ...] = ()  # the words read, boxes in the image's pixels


class TesseractApis:
    """Loads each Tesseract model once and keeps it; hands it out set to the page segmentation asked for."""

    def __init__(self, tessdata_dir: str) -> None:
        self.tessdata_dir = tessdata_dir.rstrip("/") + "/"
        self._apis: dict[str, tesserocr.PyTessBaseAPI] = {}

    def api(self, model: str, psm: int) -> tesserocr.PyTessBaseAPI:
        if model not in self._apis:
            try:
                self._apis[model] = tesserocr.PyTessBaseAPI(path=self.tessdata_dir, lang=model)
            except RuntimeError as exc:
                raise MissingDependencyError(f"Tesseract cannot load model {model!r} from "
                                             f"{self.tessdata_dir}: {exc}") from exc
        api = self._apis[model]
        api.SetPageSegMode(psm)
        return api

    def close(self) -> None:
        for api in self._apis.values():
            api.End()
        self._apis.clear()


def set_image(api: tesserocr.PyTessBaseAPI, image: PageImage) -> None:
    """Hand raw pixels to Tesseract with their resolution (no re-encoding; the DPI changes the result)."""
    pixels = image.pixels
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    api.SetImageBytes(pixels.tobytes(), image.width, image.height, channels, image.width * channels)
    if image.dpi_stated:  # else Tesseract estimates it from the text's size, as its CLI does
        api.SetSourceResolution(image.dpi)


def recognize(api: tesserocr.PyTessBaseAPI, timeout_s: float) -> tuple[str, list[OcrLine], float]:
    """Recognise the image set on `api`: (text, lines with their confidence, mean word confidence), confidences
    0-1 as Tesseract reports them. Word confidences, unlike symbol ones, fall when the words make no sense in
    the model's language (a wrong model, garbage): symbols read at 0.99 on pages read at CER 0.1 to 0.4."""
    if not api.Recognize(timeout=int(timeout_s * 1000)):
        raise EngineTimeoutError(f"Tesseract did not finish the page within {timeout_s:g} s")
    text = canonical_text(utf8_text(api))
    lines = read_lines(api)
    # The iterator's line text puts a space between every "word", and Thai, Lao, Khmer and Myanmar words
    # are syllables; the page text spaces them right and holds the same lines in the same order.
    page_lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(page_lines) == len(lines):
        lines = [replace(line, text=page_line) for page_line, line in zip(page_lines, lines, strict=True)]
    words = api.AllWordConfidences() if text.strip() else []
    return text, lines, sum(words) / len(words) / 100 if words else 0.0


def read_lines(api: tesserocr.PyTessBaseAPI) -> list[OcrLine]:
    """The recognised lines with their words (text, box in image pixels, confidence 0-1), in Tesseract's
    order; lines without text are left out. One pass over the words: a line starts at its first word."""
    found: list[tuple[str, BBox, float, list[OcrWord]]] = []
    words: list[OcrWord] | None = None  # the current line's, None while in a line left out
    iterator = api.GetIterator()
    for item in tesserocr.iterate_level(iterator, RIL.WORD) if iterator is not None else ():
        if item.IsAtBeginningOf(RIL.TEXTLINE):
            line_text, box = _text(item, RIL.TEXTLINE).strip(), item.BoundingBox(RIL.TEXTLINE)
            words = [] if line_text and box is not None else None
            if words is not None:
                found.append((canonical_text(line_text), _bbox(box), round(item.Confidence(RIL.TEXTLINE) / 100, 4),
                              words))
        word, box = _text(item, RIL.WORD).strip(), item.BoundingBox(RIL.WORD)
        if words is not None and word and box is not None:
            words.append(OcrWord(canonical_text(word), _bbox(box), round(item.Confidence(RIL.WORD) / 100, 4)))
    return [OcrLine(text, box, confidence, tuple(words)) for text, box, confidence, words in found]


def _text(item: tesserocr.PyResultIterator, level: int) -> str:
    try:
        return item.GetUTF8Text(level) or ""
    except RuntimeError:  # tesserocr raises for an element with no text
        return ""
    except UnicodeDecodeError as exc:
        raise EngineError(f"Tesseract returned text that is not UTF-8 ({exc.reason})") from exc


def mean_symbol_confidence(api: tesserocr.PyTessBaseAPI) -> float:
    """Mean confidence (0-100) of the recognised characters.

    Not word confidences: scripts written without spaces (Khmer, Lao, Thai, Myanmar) make a whole line one
    "word", whose confidence is that of its worst character, so a correct line scores lower than fragments.
    """
    iterator = api.GetIterator()
    if iterator is None:
        return 0.0
    symbols = [item.Confidence(RIL.SYMBOL) for item in tesserocr.iterate_level(iterator, RIL.SYMBOL)]
    return sum(symbols) / len(symbols) if symbols else 0.0


def text_lines(api: tesserocr.PyTessBaseAPI) -> list[BBox]:
    """Boxes of the text lines that layout analysis finds on the image set on `api` (no recognition)."""
    boxes = api.GetComponentImages(RIL.TEXTLINE, True)
    return [(b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"]) for _, b, _, _ in boxes]


def read_region(api: tesserocr.PyTessBaseAPI, box: BBox, timeout_s: float, with_words: bool = False) -> LineText:
    """Recognise one rectangle of the image set on `api` (its words' boxes too when `with_words`)."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:  # Tesseract crashes the process (SIGSEGV) on an empty rectangle
        return LineText("", 0.0)
    api.SetRectangle(x0, y0, x1 - x0, y1 - y0)
    if not api.Recognize(timeout=int(timeout_s * 1000)):
        raise EngineTimeoutError(f"Tesseract did not finish a line within {timeout_s:g} s")
    text = canonical_text(utf8_text(api))
    words = api.AllWordConfidences() if text.strip() else []
    boxes = tuple(word for line in read_lines(api) for word in line.words) if with_words and text.strip() else ()
    return LineText(text, mean_symbol_confidence(api), sum(words) / len(words) if words else 0.0, boxes)


def utf8_text(api: tesserocr.PyTessBaseAPI) -> str:
    try:
        return api.GetUTF8Text() or ""
    except UnicodeDecodeError as exc:  # a broken model can emit bytes that are not UTF-8
        raise EngineError(f"Tesseract returned text that is not UTF-8 ({exc.reason})") from exc


def detect_orientation_script(api: tesserocr.PyTessBaseAPI) -> tuple[str, float, int, float] | None:
    """OSD on the image set on `api`: (script label, script confidence, rotation, its confidence) or None.
    The rotation is the clockwise turn that makes the page upright: Tesseract reports the page's own clockwise
    rotation (`orient_deg`), which is undone by turning it the other way."""
    try:
        result = api.DetectOrientationScript()
    except RuntimeError as exc:  # tesserocr raises when OSD finds too few characters
        log.debug("OSD failed: %s", exc)
        return None
    if not result:
        return None
    return (result["script_name"], float(result["script_conf"]), (360 - int(result["orient_deg"])) % 360,
            float(result["orient_conf"]))


def version() -> str:
    return tesserocr.tesseract_version().splitlines()[0].strip()


def installed_models(tessdata_dir: str) -> set[str]:
    try:
        _, models = tesserocr.get_languages(tessdata_dir.rstrip("/") + "/")
    except RuntimeError as exc:
        raise EngineError(f"cannot list Tesseract models in {tessdata_dir}: {exc}") from exc
    return set(models)


def _bbox(box: tuple[int, int, int, int]) -> BBox:
    x0, y0, x1, y1 = box
    return int(x0), int(y0), int(x1), int(y1)
