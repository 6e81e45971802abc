"""The identifier's classes: every script of the script table, in its order, and NONE for ink that holds no
script (rules, boxes, figure strokes, stamps, specks, digits and punctuation alone)."""

from __future__ import annotations

from ocr_models.scripts import SCRIPTS

NONE = "none"
CLASSES: tuple[str, ...] = (*(s.code for s in SCRIPTS), NONE)
