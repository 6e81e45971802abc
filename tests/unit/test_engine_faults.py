"""Per-page limits: an engine that crashes, hangs, fails once or emits text that is not Unicode costs at most
that page, with its reason on the row, and the pages after it are read; a page too big for the memory limit
is refused before the engine sees it."""

from __future__ import annotations

from PIL import Image

from actors.stages.ocr import OcrStage
from actors.store.records import batch_table
from configs.model import LimitOptions
from flows.dataset.metrics import cer
from flows.synth.text import png_bytes, render_page
from ocr_models.tesseract.engine import TesseractOptions
from tests.support.faulty_engines import BadUtf8Engine, CrashingEngine, FlakyEngine, HangingEngine

PAGES = [render_page("eng", seed=40 + i) for i in range(2)]


def rows(images=None) -> list[dict]:
    images = images or [png_bytes(p.image) for p in PAGES]
    return [{"page_id": str(i), "source_uri": "minutes.png", "page_index": i, "status": "ok", "image": image,
             "dpi": 300} for i, image in enumerate(images)]


def stage(engine_class, **limits) -> OcrStage:
    return OcrStage(TesseractOptions(), ["Latn"], {}, limits=LimitOptions(**limits), engine_class=engine_class)


def test_a_crashing_engine_gives_error_rows_with_the_reason_and_the_run_goes_on():
    crashing = stage(CrashingEngine)
    first, second = crashing.process(rows())
    for row in (first, second):
        assert row["status"] == "error" and row["error_kind"] == "internal"
        assert row["error"] == "RuntimeError: tesseract::Classify crashed (injected)"
    assert batch_table([first, second]).num_rows == 2


def test_a_hanging_page_times_out_and_a_fresh_engine_reads_the_next_page():
    HangingEngine.made = 0
    hanging = stage(HangingEngine, page_timeout_s=3)
    try:
        stuck, after = hanging.process(rows())
    finally:
        HangingEngine.release.set()  # let the abandoned thread end
    assert stuck["status"] == "error" and stuck["error_kind"] == "engine_timeout"
    assert "longer than 3 s (limits.page_timeout_s)" in stuck["error"]
    assert after["status"] == "ok" and cer(PAGES[1].text, after["text"]) < 0.05
    assert hanging.engines.abandoned == 1 and HangingEngine.made == 2


def test_a_transient_engine_failure_is_tried_again_with_a_new_engine():
    FlakyEngine.failures, FlakyEngine.made = 1, 0
    first, _ = stage(FlakyEngine).process(rows())
    assert first["status"] == "ok" and cer(PAGES[0].text, first["text"]) < 0.05
    assert FlakyEngine.made == 2

    FlakyEngine.failures = 3  # more failures than tries: the page's row says why, the next page is read
    failed, second = stage(FlakyEngine, page_retries=1).process(rows())
    assert failed["status"] == "error" and failed["error_kind"] == "transient"
    assert failed["error"] == "the engine lost its device (injected)"
    assert second["status"] == "ok" and FlakyEngine.failures == 0


def test_text_that_is_not_unicode_is_stored_with_replacement_characters():
    (row, _) = stage(BadUtf8Engine).process(rows())
    assert row["status"] == "ok" and "\ufffd\ufffd" in row["text"]
    assert all("\ufffd\ufffd" in line["text"] for line in row["lines"])
    assert batch_table([row]).column("text")[0].as_py() == row["text"]  # Arrow takes it


def test_a_page_over_the_memory_limit_is_refused_before_the_engine_sees_it():
    poster = rows([png_bytes(Image.new("L", (3000, 3000), 255))])  # 9 Mpx: about 86 MiB to read
    (refused,) = stage(CrashingEngine, page_memory_mb=64).process(poster)
    assert refused["error_kind"] == "too_large" and "over limits.page_memory_mb (64)" in refused["error"]
    (read,) = stage(CrashingEngine, page_memory_mb=128).process(poster)  # within it, the engine gets the page
    assert read["error"] == "RuntimeError: tesseract::Classify crashed (injected)"
