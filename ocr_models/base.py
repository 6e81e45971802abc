"""The engine contracts. Stages talk to engines only through these protocols; engines know nothing of Ray."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

from ocr_models.scripts import Script
from ocr_models.steps import Steps
from ocr_models.types import BBox, OcrPage, PageImage, Region, ScriptEstimate, ScriptGuess


@runtime_checkable
class ScriptDetector(Protocol):
    """Says which script a page is written in, and which way up it is.

    Created once per worker; loads its models lazily; carries nothing from one page to the next. Failures on
    one page raise `EngineError` (or `EngineTimeoutError`), never crash the worker. `steps` records each call's
    CPU seconds. The policy that combines these calls into one decision per page is
    `actors/reading/script_policy.py`'s.
    """

    steps: Steps

    def propose(self, image: PageImage, candidates: Sequence[Script]) -> ScriptGuess:
        """A cheap first guess at the page's script (None: no guess) and the turn that makes it upright."""
        ...

    def detect_script(self, image: PageImage, candidates: Sequence[Script], proposal: Script | None = None
                      ) -> ScriptGuess:
        """Which of `candidates` an upright page is written in, by trial; `proposal` stands unless clearly
        beaten. Its `rotation` is a further turn (a page found upside down)."""
        ...

    def proves(self, page: OcrPage, script: Script) -> bool:
        """Whether a reading shows that the page is in `script` (no trials needed)."""
        ...

    def certainty(self, page: OcrPage, script: Script) -> float:
        """How surely a reading shows that the page is in `script`, 0-1 (the row's `script_confidence`)."""
        ...

    def line_boxes(self, image: PageImage) -> list[BBox]:
        """Boxes of the text lines on the image (nothing read): ink the layout model left uncovered."""
        ...

    def close(self) -> None:
        """Release the loaded models."""
        ...


class ScriptIdentifying(Protocol):
    """Names the script of a page, a region or lines from their ink alone (no reading), and whether they are
    upside down; `propose_above` is the pooled probability from which its page script is the first reading."""

    propose_above: float

    def page(self, image: PageImage, boxes: list[BBox] | None = None) -> ScriptEstimate:
        """The script of the page (or of the lines in `boxes`), pooled over its widest lines."""
        ...

    def lines(self, image: PageImage, boxes: list[BBox]) -> list[ScriptEstimate]:
        """Each line's script."""
        ...


@runtime_checkable
class Recognizer(Protocol):
    """Reads the text of a page (or a region's crop) in a known script: lines with boxes, words, text and
    confidences, in reading order.

    Created once per worker, models loaded lazily, nothing carried across pages; errors as for ScriptDetector.
    `name` and `version()` are written into every row it read (`engine`, `engine_version`).
    """

    name: str
    steps: Steps

    def version(self) -> str:
        ...

    def recognize(self, image: PageImage, script: Script, languages: Sequence[str] = (),
                  areas: Sequence[BBox] | None = None) -> OcrPage:
        """The page's text, read with the model for `script` (or the given languages of that script); lines
        it left out are looked for within `areas` (the text regions), else the whole image."""
        ...

    def read_once(self, image: PageImage, script: Script, languages: Sequence[str] = ()) -> OcrPage:
        """One reading of `image` (a region) to see whether it is in `script` (`languages` of it): no block
        re-reading, no search for left-out lines; a second reading only where the first proves the script but
        was made with a model for another of its languages."""
        ...

    def model_for(self, script: Script, languages: Sequence[str] = ()) -> str:
        """The model that reads `script` (with `languages`), as rows name it (`lang`)."""
        ...

    def orders_lines(self, script: Script) -> bool:
        """Whether its reading of `script` puts the lines in reading order (else the regions' order is used)."""
        ...

    def close(self) -> None:
        ...


@runtime_checkable
class CropRecognizer(Protocol):
    """Reads crops of pages in batches, in a known script: a model that is fastest given many crops at once
    (a transformers model on a GPU). `unit` says what a crop is: a text `region` (a page VLM) or one text
    `line` (a line model), cut by the caller from the boxes the layout and Tesseract found.

    `read` returns one OcrPage per crop, in order, its lines in the crop's pixels; a model that gives no
    positions gives every line the whole crop's box. Loads its model once in the constructor; a failure of a
    batch raises `EngineError`; its module's `check_options` (the registry's `check`) says at preflight, with a
    UsageError, that the model would not load. `name` and `model_id` (with the model's revision) are written
    into every region it read; `uses_gpu` asks the cluster for a GPU.
    """

    name: str
    model_id: str
    unit: Literal["region", "line"]
    uses_gpu: bool
    steps: Steps

    def version(self) -> str:
        ...

    def read(self, crops: Sequence[PageImage], script: Script) -> list[OcrPage]:
        ...

    def close(self) -> None:
        ...


@runtime_checkable
class LineReader(Protocol):
    """Reads one image as a single line of text in a given script: a quick trial, not a reading to keep (the
    text-layer judgement reads a layer's longest lines this way, actors/sources/text_layer.py)."""

    def read_line(self, image: PageImage, script: Script) -> str:
        """The line's text, stripped; "" when nothing is read."""
        ...


@runtime_checkable
class OcrEngine(ScriptDetector, Recognizer, LineReader, Protocol):
    """An engine that detects scripts, reads them and reads single lines (Tesseract)."""


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
