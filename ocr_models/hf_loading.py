"""What the transformers adapters share: loading a model offline by path or hub id, and picking the device.

torch and transformers are imported here, lazily, so that configs and schemas never pull them in.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ocr_models.lontar_errors import EngineError, MissingDependencyError, UsageError
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
        if model.startswith(("/", ".", "~")) and not os.path.isdir(os.path.expanduser(model)):
            raise UsageError(f"cannot load {what} {model!r}: no such folder") from exc
        hint = "" if os.path.isdir(model) else (
            " (not a local folder; a hub id must already be in the Hugging Face cache: nothing is downloaded)")
        raise UsageError(f"cannot load {what} {model!r}{hint}: {str(exc).splitlines()[0]}") from exc
    except (ImportError, AttributeError) as exc:  # a processor whose optional package is missing (torchvision)
        raise MissingDependencyError(f"cannot load {what} {model!r}: it needs a package this environment lacks "
                                     f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                                     "Qwen-VL processors need torchvision") from exc


def load_model(auto_model: Any, auto_processor: Any, model: str, what: str, device: Device) -> tuple[Any, Any, str]:
    """(processor, model in eval mode on its device, the device) for a folder or cached hub id."""
    resolved = resolve_device(device)
    processor = load(auto_processor, model, f"{what} processor")
    return processor, load(auto_model, model, f"{what} model").to(resolved).eval(), resolved


def rgb(image: PageImage) -> np.ndarray:
    """The image's pixels with three channels, as image processors expect."""
    return image.pixels if image.pixels.ndim == 3 else image.pixels[:, :, None].repeat(3, axis=2)


def chat_prompts(processor: Any, prompt: str | None, count: int) -> list[str] | None:
    """`prompt` for `count` images, as the user's turn of the processor's chat template when it has one;
    None for models that take only an image."""
    if prompt is None:
        return None
    if getattr(processor, "chat_template", None):
        turn = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        prompt = processor.apply_chat_template(turn, add_generation_prompt=True)
    return [prompt] * count


def generate(processor: Any, model: Any, device: str, images: Sequence[PageImage], prompt: str | None,
             max_new_tokens: int) -> list[tuple[str, float]]:
    """Greedy generation for a batch of images: each image's text (without the prompt the output repeats)
    and its mean token probability, 0-1. An EngineError when generation fails."""
    torch = import_torch()
    prompts = chat_prompts(processor, prompt, len(images))
    tokenizer = getattr(processor, "tokenizer", None)
    if prompts is not None and tokenizer is not None and not getattr(model.config, "is_encoder_decoder", False):
        # prompts of one batch differ in length where a model gives each image as many tokens as its size asks
        # (Qwen-VL): a decoder-only model must continue every prompt from its end, so pad them on the left
        tokenizer.padding_side = "left"
    try:
        kwargs: dict[str, Any] = {"images": [rgb(image) for image in images], "return_tensors": "pt"}
        if prompts is not None:
            kwargs.update(text=prompts, padding=True)
        inputs = processor(**kwargs).to(device)
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                    output_scores=True, return_dict_in_generate=True)
            scores = model.compute_transition_scores(output.sequences, output.scores, normalize_logits=True)
    except Exception as exc:
        raise EngineError(f"generation failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") \
            from exc
    sequences = output.sequences
    texts = processor.batch_decode(sequences, skip_special_tokens=True)
    prompt_ids = inputs.get("input_ids")
    if prompt_ids is not None:  # decoder-only models repeat the prompt (some with its first token changed)
        said = processor.batch_decode(prompt_ids, skip_special_tokens=True)
        texts = [_after(text, head) for text, head in zip(texts, said, strict=True)]
    pad = getattr(model.generation_config, "pad_token_id", None)
    generated = sequences[:, -scores.shape[1]:]
    probabilities = []
    for row_scores, row_tokens in zip(scores, generated, strict=True):
        kept = row_scores[row_tokens != pad] if pad is not None else row_scores
        kept = kept[torch.isfinite(kept)]
        probabilities.append(float(kept.mean().exp()) if kept.numel() else 0.0)
    return list(zip(texts, probabilities, strict=True))


def _after(text: str, prompt: str) -> str:
    """`text` without the `prompt` it begins with (compared without case and spacing)."""
    words, head = text.split(), prompt.lower().split()
    if head and [w.lower() for w in words[:len(head)]] == head:
        return " ".join(words[len(head):])
    return text


def revision(model: str) -> str:
    """The model's revision as rows record it: the commit of a Hugging Face cache snapshot (its folder name),
    else 12 hex digits of a hash of its config.json and its files' names and sizes (cheap: weights are GBs)."""
    path = Path(model)
    if not path.is_dir():
        try:
            from huggingface_hub import snapshot_download

            path = Path(snapshot_download(model, local_files_only=True))
        except Exception:
            return "unknown"
    if path.parent.name == "snapshots":
        return path.name[:12]
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path)}:{file.stat().st_size}\n".encode())
    config = path / "config.json"
    if config.is_file():
        digest.update(config.read_bytes())
    return digest.hexdigest()[:12]
