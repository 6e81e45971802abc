"""The language columns of a row's text (`LANGUAGE_COLUMNS` of actors/store/records.py), derived by the writer like
the quality signals: the language among those written in the row's script (ocr_models/language_id.py)."""

from __future__ import annotations

from actors.store.records import LANGUAGE_COLUMNS
from ocr_models.language_id import language_id

LANGUAGE_FIELDS = tuple(column.name for column in LANGUAGE_COLUMNS)


def language_fields(text: str | None, script: str | None) -> dict[str, str | float | None]:
    """language, language_confidence and language_runner_up of `text` written in `script`."""
    guess = language_id().identify(text, script)
    return dict(zip(LANGUAGE_FIELDS, (guess.language, guess.confidence, guess.runner_up), strict=True))
