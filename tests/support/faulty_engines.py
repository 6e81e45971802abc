"""The real Tesseract engine with one fault injected each: it crashes, hangs, fails once, or lets through text
that is not valid Unicode. Everything else is the real engine, so the stage around it runs as in production."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ocr_models.lontar_errors import TransientError
from ocr_models.scripts import Script
from ocr_models.tesseract.engine import TesseractEngine
from ocr_models.types import BBox, OcrLine, OcrPage, PageImage


class CrashingEngine(TesseractEngine):
    """Fails on every page, as a segfault-free C++ exception would surface."""

    def recognize(self, image: PageImage, script: Script, languages: Sequence[str] = (),
                  areas: Sequence[BBox] | None = None) -> OcrPage:
        raise RuntimeError("tesseract::Classify crashed (injected)")


class HangingEngine(TesseractEngine):
    """The first engine made hangs on its first page until `release` is set; engines made after it work."""

    made = 0
    release = threading.Event()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        type(self).made += 1
        self.hangs = type(self).made == 1

    def recognize(self, image: PageImage, script: Script, languages: Sequence[str] = (),
                  areas: Sequence[BBox] | None = None) -> OcrPage:
        if self.hangs:
            type(self).release.wait(600)
        return super().recognize(image, script, languages, areas)


class FlakyEngine(TesseractEngine):
    """Fails `failures` times in all (a lost GPU, a storage hiccup), then works."""

    failures = 1
    made = 0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        type(self).made += 1

    def recognize(self, image: PageImage, script: Script, languages: Sequence[str] = (),
                  areas: Sequence[BBox] | None = None) -> OcrPage:
        if type(self).failures > 0:
            type(self).failures -= 1
            raise TransientError("the engine lost its device (injected)")
        return super().recognize(image, script, languages, areas)


class BadUtf8Engine(TesseractEngine):
    """Returns bytes that are not UTF-8 inside its text, as surrogate escapes (what a careless decode gives)."""

    def recognize(self, image: PageImage, script: Script, languages: Sequence[str] = (),
                  areas: Sequence[BBox] | None = None) -> OcrPage:
        page = super().recognize(image, script, languages, areas)
        broken = b"\xff\xfe".decode("utf-8", "surrogateescape")
        return OcrPage(page.text + broken, page.confidence, page.model,
                       [OcrLine(line.text + broken, line.bbox, line.confidence) for line in page.lines],
                       page.evidence)
