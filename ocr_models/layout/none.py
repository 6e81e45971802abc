"""No layout model: the OCR stage reads every page as one block (the fastest setting; no figure or table pairs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class NoLayoutOptions(BaseModel):
    """Read every page as a single block of text; the layout stage does not run."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["none"] = "none"
