"""The stages as plain classes, without Ray: every page gives a row, failures included."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from actors.stages.ingest import IngestStage, page_id
from actors.stages.ocr import OcrStage
from actors.store.records import BATCH_SCHEMA, batch_table
from configs.model import IngestOptions
from flows.dataset.metrics import cer
from flows.synth.archive import born_digital_pdf, scanned_pdf
from flows.synth.text import png_bytes, render_page
from ocr_models.scripts import BY_CODE
from ocr_models.tesseract.engine import TesseractOptions
from ocr_models.types import PageImage


def task_for(path, data: bytes, fmt: str, pages: int) -> dict:
    return {"url": str(path), "source_uri": str(path), "source_sha256": hashlib.sha256(data).hexdigest(),
            "source_format": fmt, "page_count": pages, "page_start": 0, "page_stop": pages,
            "error_kind": None, "error": None}


@pytest.fixture(scope="module")
def ocr_stage():
    stage = OcrStage(TesseractOptions(), list(BY_CODE), {})
    stage.setup()
    yield stage
    stage.teardown()


def test_ingest_then_ocr_reads_a_scanned_pdf(tmp_path, ocr_stage):
    hin, tam = render_page("hin", seed=31), render_page("tam", seed=32)
    data = scanned_pdf([hin, tam])
    (tmp_path / "scan.pdf").write_bytes(data)
    rows = IngestStage(IngestOptions()).process([task_for(tmp_path / "scan.pdf", data, "pdf", 2)])
    assert [r["page_index"] for r in rows] == [0, 1]
    assert rows[0]["page_id"] == page_id(rows[0]["source_sha256"], 0)

    read = ocr_stage.process(rows)
    assert [r["script"] for r in read] == ["Deva", "Taml"]
    assert cer(hin.text, read[0]["text"]) < 0.03 and cer(tam.text, read[1]["text"]) < 0.03
    assert all(r["text_source"] == "ocr" and r["engine"] == "tesseract" for r in read)
    assert batch_table(read).schema == BATCH_SCHEMA


def test_text_layer_pages_skip_ocr(tmp_path, ocr_stage):
    data = born_digital_pdf([("A born-digital page of minutes, typed and never printed.",)])
    (tmp_path / "minutes.pdf").write_bytes(data)
    rows = IngestStage(IngestOptions()).process([task_for(tmp_path / "minutes.pdf", data, "pdf", 1)])
    (row,) = ocr_stage.process(rows)
    assert row["text_source"] == "text_layer" and row["engine"] == "pymupdf"
    assert row["script"] == "Latn" and row.get("ocr_confidence") is None


def test_an_unreadable_file_is_one_error_row(tmp_path):
    (tmp_path / "empty.pdf").write_bytes(b"")
    (row,) = IngestStage(IngestOptions()).process([task_for(tmp_path / "empty.pdf", b"", "pdf", 1)])
    assert row["status"] == "error" and row["page_index"] == -1
    assert row["error_kind"] == "bad_input" and "empty file" in row["error"]


def test_a_page_the_engine_cannot_read_is_an_error_row_and_the_batch_goes_on(tmp_path, ocr_stage):
    good = render_page("eng", seed=33)
    rows = [
        {"page_id": "b", "source_uri": "broken", "page_index": 0, "status": "ok", "image": b"not an image",
         "dpi": 300},
        {"page_id": "g", "source_uri": "good", "page_index": 0, "status": "ok", "image": png_bytes(good.image),
         "dpi": 300},
    ]
    broken, fine = ocr_stage.process(rows)
    assert broken["status"] == "error" and broken["error_kind"] == "internal"
    assert "UnidentifiedImageError" in broken["error"]
    assert fine["status"] == "ok" and cer(good.text, fine["text"]) < 0.02


def test_a_page_that_outlasts_the_engine_timeout_is_an_error_row_and_the_engine_recovers():
    page = png_bytes(render_page("eng", seed=34).image)
    rows = [{"page_id": str(i), "source_uri": "slow", "page_index": i, "status": "ok", "image": page, "dpi": 300}
            for i in range(2)]
    impatient = OcrStage(TesseractOptions(timeout_s=0.001), ["Latn"], {})
    slow = impatient.process(rows[:1])[0]
    assert slow["status"] == "error" and slow["error_kind"] == "engine_timeout"
    assert "did not finish" in slow["error"]
    engine = impatient.engines.current()
    engine.options.timeout_s = 60  # the same loaded engine reads the next page normally
    assert impatient.process(rows[1:])[0]["status"] == "ok" and impatient.engines.current() is engine
    impatient.teardown()


def test_a_line_that_a_detected_box_cuts_through_is_read_once(ocr_stage):
    """A layout model's title box that holds most of the next line: the body region below, read with a margin,
    catches that line's bottom edge too; the line is the title's (its middle is there) and is in the text once."""
    page = render_page("eng", seed=35, skew_degrees=0)
    grey = np.asarray(page.image)
    lines = sorted(ocr_stage.engines.current().line_boxes(PageImage(grey, 300)), key=lambda b: b[1])
    second = lines[1]
    cut = second[1] + round(0.8 * (second[3] - second[1]))  # through the second line, near its foot
    width, height = page.image.size
    regions = [{"kind": "title", "bbox": [0, 0, width, cut], "score": 0.6},
               {"kind": "text", "bbox": [0, cut, width, height], "score": 0.9}]
    row = {"page_id": "p", "source_uri": "cut", "page_index": 0, "status": "ok", "image": png_bytes(page.image),
           "dpi": 300, "regions": regions, "layout_model": "rapid"}
    (read,) = ocr_stage.process([row])
    assert cer(page.text, read["text"]) < 0.02
    assert read["text"].count(page.text.splitlines()[1].split()[0]) == 1


def test_the_registry_builds_an_engine_that_keeps_both_ocr_contracts():
    from ocr_models import registry
    from ocr_models.base import OcrEngine, Recognizer, ScriptDetector

    engine = registry.make(TesseractOptions())
    try:
        assert isinstance(engine, ScriptDetector) and isinstance(engine, Recognizer) and isinstance(engine, OcrEngine)
    finally:
        engine.close()
