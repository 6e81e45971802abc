"""Every model Lontar builds, by the type of its options, for every role: the OCR engine, the recognizers that
`ocr.routes` sends regions to, the layout detectors and the captioner. Adding one is a module in ocr_models/
and one line in `ENTRIES` (docs/code-layout.md shows it). Nothing outside ocr_models/ names a concrete engine,
a contract `lint-imports` checks: the stages build theirs with `make`, preflight checks them with `check`, the
config's choices are `options_for(role)`, and the engines' options models are named through this module.
The stages speak to what `make` returns only through the contracts of ocr_models/base.py."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ocr_models.captioning import transformers as captioning
from ocr_models.layout import rapid
from ocr_models.layout import transformers as layout_transformers
from ocr_models.layout.none import NoLayoutOptions
from ocr_models.recognition import transformers as recognition
from ocr_models.script_id import identifier as script_id
from ocr_models.tesseract.engine import TesseractEngine, TesseractOptions, TesseractRouteOptions

Role = Literal["ocr", "route", "layout", "captioner", "script_id"]


@dataclass(frozen=True)
class Entry:
    """One options model: the role it fills, what it builds (None: nothing, e.g. `layout: none`, or a route
    to Tesseract, whose regions the OCR stage's engine reads), and the check run before any work fans out."""

    role: Role
    options: type
    engine: type | None
    check: Callable[[Any], None] | None = None

    @property
    def uses_gpu(self) -> bool:
        """Whether the model would run faster on a GPU, when the cluster has one."""
        return bool(getattr(self.engine, "uses_gpu", False))


ENTRIES = (
    Entry("ocr", TesseractOptions, TesseractEngine),
    Entry("route", TesseractRouteOptions, None),
    Entry("route", recognition.TransformersRecognizerOptions, recognition.TransformersRecognizer,
          recognition.check_options),
    Entry("layout", rapid.RapidLayoutOptions, rapid.RapidLayoutDetector, rapid.check_options),
    Entry("layout", layout_transformers.TransformersLayoutOptions, layout_transformers.TransformersLayoutDetector,
          layout_transformers.check_options),
    Entry("layout", NoLayoutOptions, None),
    Entry("captioner", captioning.TransformersCaptionOptions, captioning.TransformersCaptioner,
          captioning.check_options),
    Entry("script_id", script_id.ScriptIdOptions, script_id.ScriptIdentifier, script_id.check_options),
    Entry("script_id", script_id.NoScriptIdOptions, None),
)
BY_OPTIONS: dict[type, Entry] = {entry.options: entry for entry in ENTRIES}

# The options models the config names directly (its `tesseract` section, the default layout and the caption
# section); every other choice is a union of `options_for(role)`.
RapidLayoutOptions = rapid.RapidLayoutOptions
TransformersCaptionOptions = captioning.TransformersCaptionOptions
ScriptIdOptions = script_id.ScriptIdOptions
NoScriptIdOptions = script_id.NoScriptIdOptions
OcrEngineOptions = TesseractOptions  # the options of every OCR engine (one today)


def entry(options: object) -> Entry:
    try:
        return BY_OPTIONS[type(options)]
    except KeyError:
        raise TypeError(f"no model is registered for {type(options).__name__}") from None


def options_for(role: Role) -> Any:
    """The union of the options models of `role`, in `ENTRIES` order (a pydantic field's type)."""
    return functools.reduce(operator.or_, [e.options for e in ENTRIES if e.role == role])


def builds_nothing(options: object) -> bool:
    """Whether these options ask for no model (`layout: none`, a route to Tesseract)."""
    return entry(options).engine is None


def make(options: object) -> Any:
    """A new engine or model for `options` (one per worker; models load here or lazily, as each says)."""
    built = entry(options)
    if built.engine is None:
        raise TypeError(f"{type(options).__name__} builds no model")
    return built.engine(options)


def check(options: object) -> None:
    """Before any work fans out: the model of `options` can be loaded (a UsageError or MissingDependencyError
    saying why not)."""
    if (checker := entry(options).check) is not None:
        checker(options)


def uses_gpu(options: object) -> bool:
    return entry(options).uses_gpu
