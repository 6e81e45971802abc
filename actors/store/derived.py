"""The columns the writer derives from what the stages read: the script's placeholder, the image hash, the
quality signals (actors/store/quality.py) and the language (actors/store/language.py). Computed where the rows are
written, on the Ray workers."""

from __future__ import annotations

import hashlib

from actors.store import quality
from actors.store.language import LANGUAGE_FIELDS, language_fields
from actors.store.records import UNKNOWN_SCRIPT


def derived_rows(rows: list[dict], pages: dict[str, dict] | None = None) -> list[dict]:
    """Page rows, or pair rows given their `pages` (by page_id), with their derived columns: a pair in its
    page's script takes the page's language (a line or a caption is too short to tell Hindi from Marathi; its
    page is not), one in another script (an English caption on a Thai page) is identified alone."""
    for row in rows:
        row["script"] = row.get("script") or UNKNOWN_SCRIPT
        image = row.get("image")
        row["image_sha256"] = hashlib.sha256(image).hexdigest() if image is not None else None
        row.update(quality.signals(row.get("text"), row["script"]))
        page = (pages or {}).get(row.get("page_id", ""))
        if page is not None and page["script"] == row["script"]:
            row.update({column: page[column] for column in LANGUAGE_FIELDS})
        else:
            row.update(language_fields(row.get("text"), row["script"]))
        for region in row.get("regions") or ():
            if region.get("text"):
                region.update(language_fields(region["text"], region.get("script")))
    return rows
