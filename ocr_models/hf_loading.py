"""What the transformers adapters share: loading a model offline by path or hub id, and picking the device.

torch and transformers are imported here, lazily, so that configs and schemas never pull them in.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Literal

import numpy as np

from ocr_models.lontar_errors import MissingDependencyError, UsageError
from ocr_models.types import PageImage

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]


def import_torch() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download: a model is a local folder or in the cache
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise MissingDependencyError(f"cannot load transformers/torch ({exc}); install them with "
                                     "`pip install -e '.[models]'` (or `make deps`)") from exc
    transformers.utils.logging.disable_progress_bar()
    return torch


def resolve_device(device: Device) -> str:
    torch = import_torch()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("device 'cuda' was asked for but this worker sees no GPU")
    return device


def load(auto_class: Any, model: str, what: str, **kwargs: Any) -> Any:
    """`auto_class.from_pretrained(model)` with an error that says what to fix when it cannot load."""
    try:
        return auto_class.from_pretrained(model, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        hint = "" if os.path.isdir(model) else (
            " (not a local folder; a hub id must already be in the Hugging Face cache: nothing is downloaded)")
        raise UsageError(f"cannot load {what} {model!r}{hint}: {str(exc).splitlines()[0]}") from exc


def load_model(auto_model: Any, auto_processor: Any, model: str, what: str, device: Device) -> tuple[Any, Any, str]:
    """(processor, model in eval mode on its device, the device) for a folder or cached hub id."""
    resolved = resolve_device(device)
    processor = load(auto_processor, model, f"{what} processor")
    return processor, load(auto_model, model, f"{what} model").to(resolved).eval(), resolved


def rgb(image: PageImage) -> np.ndarray:
    """The image's pixels with three channels, as image processors expect."""
    return image.pixels if image.pixels.ndim == 3 else image.pixels[:, :, None].repeat(3, axis=2)
