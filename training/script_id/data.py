"""Training and held-out windows: (window, script class, upside down) drawn from corpus text with render's wear."""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing import Pool

import numpy as np

from ocr_models.script_id.labels import CLASSES, NONE
from ocr_models.script_id.windows import HEIGHT, WIDTH, normalised
from ocr_models.scripts import BY_CODE
from training.script_id.corpus import Texts
from training.script_id.render import SIZES, Face, draw_text, framed, not_text, worn

UPSIDE_DOWN = 0.2  # share of text windows drawn turned half round (the orientation head's positives)
IGNORE = -100  # no orientation to learn from a window without text


@dataclass
class Windows:
    pixels: np.ndarray  # uint8 (n, HEIGHT, WIDTH): ink 255, paper 0
    script: np.ndarray  # int64 (n,): index into CLASSES
    upside_down: np.ndarray  # int64 (n,): 1 turned, 0 upright, IGNORE for no text


def snippet(texts: Texts, code: str, rng: np.random.Generator) -> str:
    """A window's worth of the script's text (a line of one word now and then): a run of running text, or words
    of the list; 8-40 letters, as much as a window or two show."""
    paragraphs, words = texts.paragraphs.get(code) or [], texts.words.get(code) or []
    length = 1 if rng.random() < 0.1 else int(rng.integers(8, 41))
    if paragraphs and (not words or rng.random() < 0.6):
        tokens = paragraphs[int(rng.integers(len(paragraphs)))].split()
        start = int(rng.integers(len(tokens)))
        picked = []
        while start < len(tokens) and sum(map(len, picked)) < length:
            picked.append(tokens[start])
            start += 1
        return " ".join(picked)
    picked = [words[int(rng.integers(len(words)))]]
    while sum(map(len, picked)) < length:
        picked.append(words[int(rng.integers(len(words)))])
    return " ".join(picked)


def window_at_random(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    window = np.zeros((HEIGHT, WIDTH), dtype=np.float32)
    start = int(rng.integers(0, max(1, ink.shape[1] - WIDTH + 1)))
    piece = ink[:, start:start + WIDTH]
    window[:, :piece.shape[1]] = piece
    return window


def one_window(texts: Texts, faces: dict[str, list[Face]], label: int, rng: np.random.Generator
               ) -> tuple[np.ndarray, int]:
    code = CLASSES[label]
    for _ in range(50):
        if code == NONE:
            grey, turned = not_text(rng, faces["Latn"][int(rng.integers(len(faces["Latn"])))]), IGNORE
            grey = worn(grey, rng) if rng.random() < 0.5 else grey
        else:
            face = faces[code][int(rng.integers(len(faces[code])))]
            size = int(rng.choice(SIZES))
            text = snippet(texts, code, rng)
            if sum(BY_CODE[code].contains(ch) for ch in text) < 3:  # a heading's number: no script to see
                continue
            drawn = draw_text(text, face, size)
            if drawn is None:
                continue
            grey = worn(framed(drawn, rng), rng,
                        lambda face=face, size=size: draw_text(snippet(texts, code, rng), face, size))
            turned = int(rng.random() < UPSIDE_DOWN)
            if turned:
                grey = grey[::-1, ::-1]
        ink = normalised(np.ascontiguousarray(grey))
        if ink is not None:
            return window_at_random(ink, rng), turned
    raise RuntimeError(f"could not draw a window of {code}")


_SHARED: dict = {}  # each worker's text and faces, handed over once (not with every chunk)


def _share(texts: Texts, faces: dict[str, list[Face]]) -> None:
    _SHARED.update(texts=texts, faces=faces)


def _chunk(args: tuple[list[int], int]) -> tuple[np.ndarray, list[int]]:
    labels, seed = args
    texts, faces = _SHARED["texts"], _SHARED["faces"]
    rng = np.random.default_rng(seed)
    pixels, turned = [], []
    for label in labels:
        window, upside = one_window(texts, faces, label, rng)
        pixels.append(np.round(window * 255).astype(np.uint8))
        turned.append(upside)
    return np.stack(pixels), turned


def draw_windows(texts: Texts, faces: dict[str, list[Face]], per_class: int, seed: int,
                 processes: int = 2) -> Windows:
    """`per_class` windows of every class, drawn in `processes` worker processes; the same windows for the same
    seed whatever the number of processes (each chunk of 500 has its own seed)."""
    labels = np.repeat(np.arange(len(CLASSES)), per_class)
    np.random.default_rng(seed).shuffle(labels)
    chunks = [(labels[i:i + 500].tolist(), seed * 100_003 + i) for i in range(0, len(labels), 500)]
    with Pool(processes, initializer=_share, initargs=(texts, faces)) as pool:
        parts = pool.map(_chunk, chunks)
    return Windows(np.concatenate([p for p, _ in parts]), labels.astype(np.int64),
                   np.array([t for _, ts in parts for t in ts], dtype=np.int64))
