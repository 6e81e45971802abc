"""IngestStage: read tasks (a file and a page range) in, one row per page out, with the page image."""

from __future__ import annotations

import hashlib
import logging
import os

import fsspec
import pymupdf

from actors.sources.documents import PageContent, iter_pages, open_document, password_for
from actors.stages.base import Row, Stage, error_fields
from actors.store.records import line_fields
from configs.model import IngestOptions
from ocr_models.lontar_errors import InputError, describe, error_kind, without_credentials
from ocr_models.registry import TesseractOptions
from ocr_models.scripts import dominant_script

log = logging.getLogger(__name__)

# Fields of a read task (made by flows/run/planning.py): source_uri, url (bytes, os.fsencode'd: how to open it,
# credentials possibly inside), source_sha256, source_format, page_count, page_start, page_stop, work (its
# unit and index there), text_layers (the judgements planning made of its pages' text layers, not made again),
# and for files that failed at planning, error_kind and error.


def page_id(source_sha256: str, page_index: int) -> str:
    return hashlib.sha256(f"{source_sha256}:{page_index}".encode()).hexdigest()[:32]


class IngestStage(Stage):
    name = "ingest"

    def __init__(self, options: IngestOptions, pdf_passwords: dict[str, str] | None = None,
                 tesseract: TesseractOptions | None = None) -> None:
        self.options, self.tesseract = options, tesseract
        self.pdf_passwords = pdf_passwords or {}  # read once, where the config is (workers may not see the file)

    def process(self, rows: list[Row]) -> list[Row]:
        out: list[Row] = []
        for task in rows:
            pages = self.read_task(task)
            if task.get("work"):
                work = {**task["work"], "task_rows": len(pages)}
                for page in pages:
                    page["work"] = work
            out.extend(pages)
        return out

    def read_task(self, task: Row) -> list[Row]:
        base = {k: task[k] for k in ("source_uri", "source_sha256", "source_format", "page_count")}
        if task.get("error_kind"):
            return [file_error_row(base, task["error_kind"], task["error"])]
        try:
            with fsspec.open(os.fsdecode(task["url"]), "rb") as handle:
                data = handle.read()
            judged = {task["page_start"] + i: reason for i, reason in enumerate(task.get("text_layers") or ())}
            doc = open_document(data, task["source_format"], self.options,
                                password_for(task["source_uri"], self.pdf_passwords), self.tesseract, judged)
        except Exception as exc:  # the file as a whole is unreadable: one row says why
            reason = without_credentials(describe(exc), os.fsdecode(task["url"]))
            return [file_error_row(base, error_kind(exc), reason)]
        try:
            return [page_row(base, index, content) for index, content in
                    iter_pages(doc, task["page_start"], task["page_stop"])]
        finally:
            doc.close()


def file_error_row(base: Row, kind: str, reason: str) -> Row:
    return dict(base, page_id=page_id(base["source_sha256"], -1), page_index=-1, status="error",
                error_kind=kind, error=reason)


def page_row(base: Row, index: int, content: PageContent | Exception) -> Row:
    row = dict(base, page_id=page_id(base["source_sha256"], index), page_index=index)
    if isinstance(content, Exception):
        exc = content if isinstance(content, InputError) else InputError(f"cannot read page: {content}")
        return dict(row, **error_fields(exc))
    row.update(status="ok", image=content.image, image_format=content.image_format, width=content.width,
               height=content.height, dpi=content.dpi or None, text_source_reason=content.text_source_reason)
    if content.text_layer is not None:
        script, purity = dominant_script(content.text_layer)
        row.update(text=content.text_layer, text_source="text_layer", script=script,
                   script_method="text_layer", script_confidence=round(purity, 4), engine="pymupdf",
                   engine_version=pymupdf.VersionBind, rotation=0,
                   lines=[line_fields(line) for line in content.text_lines])
    return row
