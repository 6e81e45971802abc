"""`lontar export --format pdf|alto|hocr`: the archive's pages back, in the formats archives and their tools take.

- `pdf`: one searchable PDF per source file (`<name>-<sha8>.pdf`), its pages in order: scans with their text
  invisible over their words (`searchable_pdf.py`); born-digital pages as they were, when the source is at hand.
- `alto` / `hocr`: per source file a folder `<name>-<sha8>/` holding per page its image as Lontar stored it
  (turned upright: `0001.jpg`) and `0001.xml` (ALTO v4, validated against the schema in the package) or
  `0001.hocr`.

Pages with errors have no text to give: they are left out and listed in `_export.json` with their reasons,
beside every file written and the query. Files are written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import fsspec
import pymupdf

from actors.store.writer import write_text
from flows.dataset.page_xml import alto_schema, alto_xml, hocr_html, upright_image
from flows.dataset.searchable_pdf import SearchablePdf
from flows.dataset.views import connect
from ocr_models.lontar_errors import UsageError

log = logging.getLogger(__name__)
PAGE_FORMATS = ("pdf", "alto", "hocr")
COLUMNS = ("page_id", "source_uri", "source_sha256", "page_index", "status", "error_kind", "error", "image",
           "image_format", "width", "height", "dpi", "rotation", "text", "text_source", "lang", "language",
           "lines", "regions", "engine", "engine_version", "layout_model", "created_at")
Row = dict[str, Any]


@dataclass
class PageExportResult:
    files: list[str] = field(default_factory=list)
    pages: int = 0
    left_out: list[dict] = field(default_factory=list)  # pages with errors: source, page, reason
    originals: int = 0  # born-digital pages copied from their source PDF


def export_pages(dataset: str, out: str, fmt: str, *, where: str | None = None,
                 software_version: str = "") -> PageExportResult:
    """Write the dataset's pages (those matching the SQL `where` on the pages view) to `out` in `fmt`."""
    if fmt not in PAGE_FORMATS:
        raise UsageError(f"unknown page format {fmt!r}; one of {', '.join(PAGE_FORMATS)}")
    fs, root = fsspec.core.url_to_fs(out)
    root = root.rstrip("/")
    fs.makedirs(root, exist_ok=True)
    if fs.exists(f"{root}/_export.json"):
        raise UsageError(f"{out} already holds an export; export into an empty folder")
    sql = (f"SELECT {', '.join(COLUMNS)} FROM pages WHERE page_index >= 0" + (f" AND ({where})" if where else "")
           + " ORDER BY source_sha256, page_index")
    try:
        reader = connect(dataset).sql(sql).to_arrow_reader(32)
    except duckdb.Error as exc:
        raise UsageError(f"cannot select pages with {where!r}: {exc}") from exc
    result = PageExportResult()
    schema = alto_schema() if fmt == "alto" else None
    for rows in _by_source(reader):
        name = _name(rows[0])
        good = [row for row in rows if row["status"] == "ok"]
        result.left_out += [{"source_uri": r["source_uri"], "page_index": r["page_index"],
                             "error_kind": r["error_kind"], "error": r["error"]} for r in rows if r["status"] != "ok"]
        if not good:
            continue
        if fmt == "pdf":
            result.files.append(_write_pdf(fs, root, name, good, result))
        else:
            for row in good:
                stem = f"{name}/{row['page_index'] + 1:04d}"
                image, extension = upright_image(row)
                write_text(fs, f"{root}/{stem}.{extension}", image)
                image_name = f"{stem.rsplit('/', 1)[-1]}.{extension}"
                if fmt == "alto":
                    document = alto_xml(row, image_name, software_version)
                    schema.validate(document.decode())  # a Lontar bug if it fails: never ship invalid ALTO
                    write_text(fs, f"{root}/{stem}.xml", document)
                    result.files.append(f"{stem}.xml")
                else:
                    write_text(fs, f"{root}/{stem}.hocr", hocr_html(row, image_name, software_version))
                    result.files.append(f"{stem}.hocr")
        result.pages += len(good)
    write_text(fs, f"{root}/_export.json", json.dumps(
        {"format": fmt, "dataset": dataset, "where": where, "pages": result.pages, "files": result.files,
         "born_digital_pages_copied": result.originals, "left_out": result.left_out}, indent=1,
        ensure_ascii=False))
    return result


def _by_source(reader: Any) -> Iterator[list[Row]]:
    """The selected page rows, one list per source file (the rows come ordered by file and page)."""
    current: list[Row] = []
    for batch in reader:
        for row in batch.to_pylist():
            if current and row["source_sha256"] != current[0]["source_sha256"]:
                yield current
                current = []
            current.append(row)
    if current:
        yield current


def _write_pdf(fs: fsspec.AbstractFileSystem, root: str, name: str, rows: list[Row],
               result: PageExportResult) -> str:
    pdf = SearchablePdf()
    source = _original(rows) if any(row["text_source"] == "text_layer" for row in rows) else None
    try:
        for row in rows:
            if source is not None and row["text_source"] == "text_layer":
                pdf.add_original(source, row["page_index"])
                result.originals += 1
            else:
                pdf.add_scan(row)
        write_text(fs, f"{root}/{name}.pdf", pdf.tobytes())
    finally:
        pdf.close()
        if source is not None:
            source.close()
    return f"{name}.pdf"


def _original(rows: list[Row]) -> pymupdf.Document | None:
    """The source PDF, when it can still be read and has the bytes the rows came from; else None (its pages
    are then made from the stored images, like scans)."""
    uri = rows[0]["source_uri"]
    try:
        with fsspec.open(uri, "rb") as handle:
            data = handle.read()
    except (OSError, ValueError) as exc:
        log.info("born-digital pages of %s are made from their stored images: %s", uri, exc)
        return None
    if hashlib.sha256(data).hexdigest() != rows[0]["source_sha256"]:
        log.info("born-digital pages of %s are made from their stored images: the file has changed", uri)
        return None
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except (pymupdf.FileDataError, RuntimeError, ValueError) as exc:
        log.info("born-digital pages of %s are made from their stored images: %s", uri, exc)
        return None
    if doc.needs_pass:  # the export is not given passwords: the stored pages stand in for it
        log.info("born-digital pages of %s are made from their stored images: it is encrypted", uri)
        doc.close()
        return None
    return doc


def _name(row: Row) -> str:
    """`<file name without extension>-<first 8 hex digits of its sha256>`: unique, and readable."""
    stem = row["source_uri"].rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0] or "file"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:80]
    return f"{safe}-{row['source_sha256'][:8]}"
