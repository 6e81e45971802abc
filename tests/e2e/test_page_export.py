"""`lontar export --format pdf|alto|hocr`: the archive's pages go back to the archive — searchable PDFs whose
text is the dataset's, ALTO that validates, hOCR whose boxes lie on the page — from a real run of the mixed
archive (test_cli's)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree as ET

import pymupdf
import pytest

from flows.dataset.page_xml import ALTO_NS, alto_schema, hocr_boxes
from tests.support.cli import run_cli
from tests.support.datasets import read_pages

pytestmark = pytest.mark.integration


def flat(text: str | None) -> str:
    return " ".join((text or "").split())


def export(out: Path, fmt: str, folder: Path, *where: str) -> tuple[list[str], dict]:
    result = run_cli("export", "--dataset", str(out), "--format", fmt, "--out", str(folder), *where)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split(), json.loads((folder / "_export.json").read_text())


def pages_by_file(out: Path) -> dict[str, list[dict]]:
    """The ok page rows per source file, by the first 8 hex digits of its sha256 (what ends an exported name:
    `<file name, made safe>-<sha8>`), in page order."""
    files: dict[str, list[dict]] = defaultdict(list)
    for row in sorted(read_pages(out).to_pylist(), key=lambda r: r["page_index"]):
        if row["status"] == "ok":
            files[row["source_sha256"][:8]].append(row)
    return files


def sha8(path: str | Path) -> str:
    return Path(path).stem[-8:]


def test_each_source_file_comes_back_as_one_searchable_pdf_whose_text_is_the_datasets(first_run, tmp_path):
    out = first_run[0]
    written, manifest = export(out, "pdf", tmp_path / "pdf")
    expected = pages_by_file(out)
    assert sorted(sha8(p) for p in written) == sorted(expected)
    assert manifest["pages"] == sum(len(rows) for rows in expected.values())
    assert manifest["left_out"] and all(p["error"] for p in manifest["left_out"])  # the broken files, with why
    for path in written:
        rows = expected[sha8(path)]
        with pymupdf.open(path) as doc:
            assert doc.page_count == len(rows)
            for page, row in zip(doc, rows, strict=True):
                assert flat(page.get_text()) == flat(row["text"]), (path, row["page_index"])
                if row["text_source"] == "ocr":  # the scan itself, under its invisible text
                    assert len(page.get_images()) == 1
                    assert all(span["type"] == 3 for span in page.get_texttrace())
    # born-digital pages are copied from their PDFs, but for the encrypted one (the export has no password):
    # its stored image carries its text
    born_digital = [r for rows in expected.values() for r in rows if r["text_source"] == "text_layer"]
    locked = [r for r in born_digital if pymupdf.open(r["source_uri"]).needs_pass]
    assert locked and manifest["born_digital_pages_copied"] == len(born_digital) - len(locked)


def test_every_page_comes_back_as_alto_v4_that_validates_and_as_hocr_on_the_page(first_run, tmp_path):
    out = first_run[0]
    expected = pages_by_file(out)
    alto, _ = export(out, "alto", tmp_path / "alto", "--where", "script <> 'Zzzz'")
    hocr, _ = export(out, "hocr", tmp_path / "hocr")
    schema = alto_schema()
    for path in alto:
        schema.validate(path)
        page = int(Path(path).stem) - 1
        row = next(r for r in expected[sha8(Path(path).parent)] if r["page_index"] == page)
        root = ET.parse(path).getroot()
        strings = [s.get("CONTENT") for s in root.iter(f"{{{ALTO_NS}}}String")]
        assert strings == [w["text"] for line in row["lines"] for w in line["words"]] or \
            sorted(strings) == sorted(w["text"] for line in row["lines"] for w in line["words"])
        (image,) = [p for p in Path(path).parent.glob(f"{Path(path).stem}.*") if p.suffix != ".xml"]
        assert root.find(f".//{{{ALTO_NS}}}fileName").text == image.name
        assert root.find(f".//{{{ALTO_NS}}}softwareName").text == "Lontar"
    assert len(hocr) == sum(len(rows) for rows in expected.values())
    for path in hocr:
        boxes = list(hocr_boxes(Path(path).read_bytes()))
        (page_box,) = [box for kind, box in boxes if kind == "ocr_page"]
        assert page_box[:2] == (0, 0)
        assert all(0 <= b[0] <= b[2] <= page_box[2] and 0 <= b[1] <= b[3] <= page_box[3] for _, b in boxes)
        words = [box for kind, box in boxes if kind == "ocrx_word"]
        row = next(r for r in expected[sha8(Path(path).parent)] if r["page_index"] == int(Path(path).stem) - 1)
        assert len(words) == sum(len(line["words"]) for line in row["lines"])


def test_an_export_never_writes_over_another(first_run, tmp_path):
    export(first_run[0], "hocr", tmp_path / "again")
    result = run_cli("export", "--dataset", str(first_run[0]), "--format", "hocr", "--out", str(tmp_path / "again"))
    assert result.returncode == 2 and "already holds an export" in result.stderr
