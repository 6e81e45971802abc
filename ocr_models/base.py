"""The engine contracts. Stages talk to engines only through these protocols; engines know nothing of Ray."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ocr_models.scripts import Script
from ocr_models.steps import Steps
from ocr_models.types import BBox, OcrPage, PageImage, Region, ScriptGuess


@runtime_checkable
class OcrEngine(Protocol):
    """Recognises the text of a page with a chosen model, and says which script a page is written in.

    An engine is created once per worker and loads its models lazily; every method is safe to call for many
    pages in a row, and none carries anything from one page to the next. Failures on one page raise
    `EngineError` (or `EngineTimeoutError`), never crash the worker. `steps` records each call's CPU seconds.
    """

    name: str
    steps: Steps

    def version(self) -> str:
        """The engine's version string, written into every row it produced."""
        ...

    def propose(self, image: PageImage, candidates: Sequence[Script]) -> ScriptGuess:
        """A cheap first guess at the page's script (None: no guess) and the turn that makes it upright."""
        ...

    def detect_script(self, image: PageImage, candidates: Sequence[Script], proposal: Script | None = None
                      ) -> ScriptGuess:
        """Which of `candidates` an upright page is written in, by trial; `proposal` stands unless clearly
        beaten. Its `rotation` is a further turn (a page found upside down)."""
        ...

    def recognize(self, image: PageImage, script: Script, languages: Sequence[str] = (),
                  areas: Sequence[BBox] | None = None) -> OcrPage:
        """The page's text, read with the model for `script` (or the given languages of that script); lines
        it left out are looked for within `areas` (the text regions), else the whole image."""
        ...

    def proves(self, page: OcrPage, script: Script) -> bool:
        """Whether a reading shows that the page is in `script` (no trials needed)."""
        ...

    def close(self) -> None:
        """Release the loaded models."""
        ...


@runtime_checkable
class LayoutDetector(Protocol):
    """Finds the blocks of a page: text, titles, figures, tables, captions, headers and footers.

    Loads its model once in the constructor. `detect` returns regions in page pixels with kinds from
    `types.REGION_KINDS`, in no particular order; reading order and clean-up are the caller's
    (`ocr_models.geometry`). `model_id` is written into every row as `layout_model`.
    """

    model_id: str
    uses_gpu: bool  # whether a GPU, when the cluster has one, would speed this detector up

    def detect(self, image: PageImage) -> list[Region]:
        ...

    def close(self) -> None:
        ...


@runtime_checkable
class Captioner(Protocol):
    """Describes images in words. Loads its model once; `caption` takes a batch and returns one caption per
    image, in order. `model_id` is written beside every generated caption."""

    model_id: str
    uses_gpu: bool

    def caption(self, images: Sequence[PageImage]) -> list[str]:
        ...

    def close(self) -> None:
        ...
