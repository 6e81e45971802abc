"""`lontar run` end to end: the real CLI, a real local Ray cluster, a real Prefect flow, a mixed archive."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from actors.store.dataset_layout import RunReport
from actors.store.records import PAGE_FIELDS, PAIR_FIELDS, TEXT_SOURCE_REASONS
from flows.dataset.charts import CHARTS
from flows.dataset.metrics import cer
from flows.dataset.views import read_reports, read_table
from flows.run.planning import redact
from ocr_models.geometry.boxes import iou
from ocr_models.scripts import LANGUAGE_SCRIPT, LANGUAGES_BY_SCRIPT
from ocr_models.types import CONTROLS
from tests.support.bad_inputs import ATTACHMENT_PAYLOAD, PASSWORD, input_classes
from tests.support.cli import run_cli
from tests.support.datasets import read_pages, read_pairs

pytestmark = pytest.mark.integration

CONTRACT = [
    "page_id", "source_uri", "source_sha256", "source_format", "page_index", "page_count", "status", "error",
    "image", "image_format", "width", "height", "dpi", "text", "text_source", "script", "lang",
    "script_confidence", "ocr_confidence", "lines", "regions", "layout_model", "engine", "engine_version",
    "config_hash", "run_id", "batch_id", "created_at",
]
PAIR_CONTRACT = [
    "pair_id", "kind", "page_id", "source_uri", "source_sha256", "page_index", "bbox", "image", "image_format",
    "width", "height", "text", "printed_caption", "generated_caption", "caption_model", "alignment", "script",
    "lang", "ocr_confidence", "run_id", "batch_id",
]
CLASSES = input_classes()


def test_every_input_file_is_accounted_for(first_run, archive):
    _, report, stdout = first_run
    inputs = sorted(redact(str(p)) for p in archive.iterdir() if p.is_file())
    outcomes = {f["uri"]: f for f in report["file_outcomes"]}
    assert sorted(outcomes) == inputs  # every file once, an undecodable name shown escaped
    for name, case in CLASSES.items():
        got = outcomes[redact(str(archive / name))]
        assert got["outcome"] == case.outcome, (name, got)
        if case.error_kind:
            assert got["error_kind"] == case.error_kind and case.reason in got["error"], (name, got)
            assert f"{case.outcome}: {got['uri']}: " in stdout
    assert outcomes[redact(str(archive / "truncated.pdf"))]["outcome"] in ("error", "partial")
    assert report["files"]["total"] == len(inputs) == sum(n for k, n in report["files"].items() if k != "total")
    assert report["pages"]["total"] == report["pages"]["ok"] + report["pages"]["error"]
    assert f"files: {len(inputs)}" in stdout and "pages:" in stdout
    assert set(report) == set(RunReport.__annotations__)  # the report is what its declared schema says


def test_a_pdfs_attachments_are_never_extracted_and_passwords_never_written(first_run):
    out, report, stdout = first_run
    files = [p for p in out.rglob("*") if p.is_file()]
    charts = {p.name for p in files if p.parent == out / "_card"}
    assert {p.suffix for p in files if p.parent != out / "_card"} <= {".parquet", ".json", ".md", ".lock", ".log",
                                                                       ".html"}  # the review pages
    assert charts == {f"{name}.png" for name in CHARTS}  # the card's own charts, nothing out of the PDF
    rows = read_pages(out).to_pylist() + read_pairs(out).to_pylist()
    log = Path(report["log_path"]).read_text()
    for secret in (ATTACHMENT_PAYLOAD.decode(), PASSWORD):
        assert not [r for r in rows if secret in json.dumps(r, default=str)]
        assert secret not in json.dumps(report) and secret not in stdout and secret not in log
    (page,) = [r for r in rows if r.get("page_id") and "script and attachment" in r["source_uri"]]
    assert page["status"] == "ok" and page["text"].startswith("A page of minutes")


def test_the_terminal_shows_lontars_lines_and_the_run_log_keeps_what_ray_and_prefect_print(first_run):
    out, report, stdout = first_run
    stderr = (out.parent / "stderr.txt").read_text().splitlines()
    assert stderr and all(re.match(r"\d\d:\d\d:\d\d (run log|planned|processing|pages|dataset)", line)
                          for line in stderr), stderr
    assert "run log: " in stderr[0]  # named first: the place to look however the run ends
    log = Path(report["log_path"])
    assert log == (out / "_runs" / report["batch_id"] / f"{report['run_id']}.log") and f"log: {log}" in stdout
    assert "core_worker" in log.read_text()  # Ray's own complaint about Ray Data's actors: kept, not shown


def test_the_output_contract(first_run):
    out, report, _ = first_run
    table = read_pages(out)
    assert set(CONTRACT) <= set(table.column_names) and list(table.column_names) == list(PAGE_FIELDS)
    rows = table.to_pylist()
    assert len(rows) == report["pages"]["total"]
    assert len({r["page_id"] for r in rows}) == len(rows)
    for row in rows:
        assert row["page_id"] == hashlib.sha256(f"{row['source_sha256']}:{row['page_index']}".encode()
                                                ).hexdigest()[:32]
        assert row["run_id"] == report["run_id"] and row["batch_id"] == report["batch_id"]
        if row["status"] == "ok":
            assert row["error"] is None and row["image"] and row["width"] > 0
            assert row["dpi"] is None or row["dpi"] >= 70  # null: the file states none (Tesseract estimates it)
            assert row["text_source"] in ("ocr", "text_layer") and row["text_source_reason"] in TEXT_SOURCE_REASONS
            assert_words_inside_their_lines(row)
        else:
            assert row["error"] and row["error_kind"] and row["text"] is None
    file_errors = {Path(r["source_uri"]).name for r in rows if r["page_index"] == -1}
    assert file_errors >= {name for name, case in CLASSES.items() if case.outcome == "error"
                           and case.error_kind != "too_large"}  # those are pages too big, not unreadable files
    assert (out / "_runs" / report["batch_id"] / f"{report['run_id']}.json").exists()


def test_no_text_in_the_dataset_holds_a_control_character(first_run):
    """Whatever the source (a text layer, Tesseract), no text of a page, line, word, region or pair holds a C0 or
    C1 control character other than tab and newline."""
    out = first_run[0]
    texts = []
    for row in read_pages(out).to_pylist():
        texts += [row["text"], *(line["text"] for line in row["lines"] or ()),
                  *(word["text"] for line in row["lines"] or () for word in line["words"] or ()),
                  *(region["text"] for region in row["regions"] or ())]
    texts += read_table(str(out), "pairs", ["text"]).column("text").to_pylist()
    texts = [text for text in texts if text]
    assert len(texts) > 100 and [text for text in texts if CONTROLS.search(text)] == []


def assert_words_inside_their_lines(row: dict) -> None:
    """Every line read has its words, each inside the page and inside its line."""
    width, height = (row["height"], row["width"]) if row["rotation"] % 180 else (row["width"], row["height"])
    for line in row["lines"]:
        assert line["words"], line
        x0, y0, x1, y1 = line["bbox"]
        for word in line["words"]:
            a, b, c, d = word["bbox"]
            assert 0 <= a < c <= width and 0 <= b < d <= height, (word, width, height)
            assert a >= x0 and b >= y0 and c <= x1 and d <= y1, (word, line["bbox"])
            assert 0 <= word["confidence"] <= 1


def test_a_pdf_typed_in_a_legacy_font_is_read_by_ocr_and_says_why(first_run):
    (row,) = [r for r in read_pages(first_run[0]).to_pylist() if r["source_uri"].endswith("legacy-kruti-dev.pdf")]
    assert row["text_source"] == "ocr" and row["text_source_reason"] == "legacy_font"
    assert row["script"] == "Deva" and "Hkkjr" not in row["text"]
    born_digital = [r for r in read_pages(first_run[0]).to_pylist() if r["text_source"] == "text_layer"]
    assert born_digital and all(r["text_source_reason"] == "text_layer" for r in born_digital)


def pages_with_truth(out: Path, archive: Path) -> tuple[dict, list[tuple[str, int, dict, dict]]]:
    """The run's page rows by (file name, page index), and (name, index, truth, row) for every page the sample
    archive knows the truth of."""
    truth = json.loads((archive / ".truth" / "truth.json").read_text())
    rows = {(Path(r["source_uri"]).name, r["page_index"]): r for r in read_pages(out).to_pylist()}
    return rows, [(name, index, expected, rows[(name, index)]) for name, pages in truth.items()
                  for index, expected in enumerate(pages)]


def test_scripts_are_detected_and_text_matches_the_truth_without_hints(first_run, archive):
    rows, known = pages_with_truth(first_run[0], archive)
    for name, index, expected, row in known:
        assert row["status"] == "ok", (name, index, row["error"])
        assert row["script"] == LANGUAGE_SCRIPT[expected["lang"]].code, (name, index)
        assert cer(expected["text"], row["text"]) < 0.08, (name, index, row["text"])
    born_digital = rows[("minutes-born-digital.pdf", 0)]
    assert born_digital["text_source"] == "text_layer" and born_digital["engine"] == "pymupdf"


def test_every_page_and_pair_names_its_language_and_the_dataset_answers_by_language(first_run, archive):
    out = first_run[0]
    for name, index, expected, row in pages_with_truth(out, archive)[1]:
        assert row["language"] == expected["lang"], (name, index, row["language"], row["text"][:80])
        assert 0 < row["language_confidence"] <= 1
        if row["text_source"] == "ocr":  # its text regions are identified too
            assert any(r["language"] == row["language"] for r in row["regions"] if r["text"]), (name, index)
    for pair in read_pairs(out).to_pylist():
        if pair["text"] and pair["script"] != "Zzzz":
            assert pair["language"] in LANGUAGES_BY_SCRIPT[pair["script"]], pair["pair_id"]
    counts = json.loads(run_cli("query", "SELECT language, count(*) AS n FROM pages GROUP BY 1", "--dataset",
                                str(out), "--format", "json").stdout.splitlines()[0])
    assert set(counts) == {"language", "n"}


def test_figures_are_written_as_pairs_with_their_own_printed_caption(first_run, archive):
    out, report, stdout = first_run
    table = read_pairs(out)
    assert list(table.column_names) == list(PAIR_FIELDS) and set(PAIR_CONTRACT) <= set(table.column_names)
    pairs = table.to_pylist()
    assert report["pairs"]["total"] == len(pairs) and f"pairs: {len(pairs)}" in stdout
    pages = {r["page_id"]: r for r in read_pages(out).to_pylist()}
    truth = json.loads((archive / ".truth" / "truth.json").read_text())
    for name in ("hindi-report-figures.png", "thai-bulletin.jpg"):
        for picture in truth[name][0]["pictures"]:
            mine = [p for p in pairs if Path(p["source_uri"]).name == name and p["kind"] == picture["kind"]
                    and iou(p["bbox"], picture["bbox"]) >= 0.5]
            assert len(mine) == 1, (name, picture)
            assert cer(picture["caption"], mine[0]["printed_caption"]) <= 0.15, (name, mine[0]["printed_caption"])
            assert mine[0]["generated_caption"] is None and mine[0]["caption_model"] is None
    for pair in pairs:
        page = pages[pair["page_id"]]
        assert pair["run_id"] == report["run_id"] and page["status"] == "ok"
        assert pair["layout_model"] == page["layout_model"]
        if pair["kind"] == "line":
            assert pair["text"] in page["text"] or pair["text"].replace(" ", "") in page["text"].replace(" ", "")
    laid_out = pages[next(p["page_id"] for p in pairs if Path(p["source_uri"]).name == "thai-bulletin.jpg")]
    assert {r["kind"] for r in laid_out["regions"]} >= {"figure", "figure_caption", "text"}



def test_a_configured_captioner_adds_generated_captions(sample_archive, tmp_path, prefect_home):
    from tests.support.tiny_models import tiny_captioner

    model = tiny_captioner(tmp_path / "captioner")
    config = tmp_path / "caption.yaml"
    config.write_text(f"caption: {{model: {model}, max_new_tokens: 3}}\nlangs: [tha, eng]\n")
    out = tmp_path / "dataset"
    result = run_cli("run", str(sample_archive / "thai-bulletin.jpg"), "--out", str(out), "--config", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    (figure,) = [p for p in read_pairs(out).to_pylist() if p["kind"] == "figure"]
    assert figure["generated_caption"] == "manuscript manuscript manuscript"
    assert figure["caption_model"] == str(model) and figure["printed_caption"].startswith("Figure 1")


def test_a_rerun_of_a_finished_batch_does_no_work_and_duplicates_nothing(first_run, archive):
    out, _report, _ = first_run
    before = read_pages(out).num_rows
    result = run_cli("run", str(archive), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "0 written" in result.stdout
    assert read_pages(out).num_rows == before


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--langs", "klingon"], 2, "unknown language"),
    (["--config", "/nonexistent/lontar.yaml"], 2, "cannot read config file"),
    (["--ray-address", "127.0.0.1:1"], 2, "no Ray cluster answers"),
])
def test_usage_errors_exit_2_with_one_clear_message(archive, tmp_path, prefect_home, args, code, message):
    result = run_cli("run", str(archive), "--out", str(tmp_path / "o"), *args)
    assert result.returncode == code and message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["serve"], ["nightly", "--now"]])
def test_the_queue_commands_refuse_an_unreachable_cluster_at_once(prefect_home, command):
    result = run_cli(*command, "--ray-address", "127.0.0.1:1", timeout=60)
    assert result.returncode == 2 and "no Ray cluster answers at 127.0.0.1:1" in result.stderr


def test_missing_models_name_the_package_to_install(archive, tmp_path, prefect_home):
    config = tmp_path / "c.yaml"
    empty = tmp_path / "tessdata"
    empty.mkdir()
    config.write_text(f"tesseract: {{tessdata_dir: {empty}}}\nlangs: [hin]\n")
    result = run_cli("run", str(archive), "--out", str(tmp_path / "o"), "--config", str(config))
    assert result.returncode == 3
    assert "apt-get install" in result.stderr and "tesseract-ocr-hin" in result.stderr


def test_unwritable_output_and_missing_input(archive, tmp_path, prefect_home):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_cli("run", str(archive), "--out", str(blocker / "dataset"))
    assert result.returncode == 4 and "cannot write to output" in result.stderr
    result = run_cli("run", str(tmp_path / "no-such-folder"), "--out", str(tmp_path / "o"))
    assert result.returncode == 5 and "input not found" in result.stderr


def test_sigterm_mid_run_stops_every_process_and_leaves_no_partial_shard(archive, tmp_path, prefect_home):
    import contextlib
    import os
    import subprocess
    import time

    import psutil

    from tests.support.cli import LONTAR

    out = tmp_path / "dataset"
    child = subprocess.Popen([LONTAR, "run", str(archive), "--out", str(out)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL, env=os.environ.copy())
    parent = psutil.Process(child.pid)
    deadline = time.monotonic() + 300

    def reading_pages() -> bool:  # the stage actors are up: the unit is under way
        with contextlib.suppress(psutil.Error):
            return any("StageActor" in " ".join(p.cmdline()) for p in parent.children(recursive=True))
        return False

    while not reading_pages() and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # into the scanned pages' unit (the text-layer unit may be committed already)
    assert child.poll() is None, child.stderr.read()
    tree = parent.children(recursive=True)
    assert tree, "a run has Ray and Prefect processes under it"
    child.terminate()
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 143 and "stopped by SIGTERM" in stderr, stderr[-3000:]
    _, alive = psutil.wait_procs(tree, timeout=60)
    assert alive == [], [(p.pid, p.name()) for p in alive if p.is_running()]
    assert [p for p in out.rglob("*") if p.suffix == ".tmp"] == []  # no partial shard
    committed = {s["path"] for marker in out.glob("_units/*.json") for s in json.loads(marker.read_text())["shards"]}
    assert {str(p.relative_to(out)) for p in out.rglob("*.parquet")} == committed  # only whole, committed units


def test_a_second_batch_joins_the_one_dataset_and_multiplies_nothing(first_run, archive, tmp_path):
    out, report, _ = first_run
    pages_before = read_pages(out).num_rows
    # the Thai bulletin again with a JPEG comment added: other bytes (a new file), the same pixels (the same
    # figure image), as when a scan is saved again with new metadata
    scan = (archive / "thai-bulletin.jpg").read_bytes()
    comment = b"scanned again"
    copy = tmp_path / "thai-bulletin-copy.jpg"
    copy.write_bytes(scan[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + scan[2:])
    result = run_cli("run", str(copy), str(archive / "thai-bulletin.jpg"), "--out", str(out), "--batch-id", "second")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"duplicate: {archive / 'thai-bulletin.jpg'}: same bytes as {archive / 'thai-bulletin.jpg'} " \
           f"(batch {report['batch_id']}" in result.stdout

    pages = read_pages(out).to_pylist()
    keys = [(p["source_sha256"], p["page_index"]) for p in pages]
    assert len(pages) == pages_before + 1 and len(set(keys)) == len(keys)
    figures = [p for p in read_pairs(out).to_pylist() if p["kind"] == "figure" and "thai" in p["source_uri"]]
    first, second = sorted(figures, key=lambda p: p["batch_id"] == "second")
    assert second["batch_id"] == "second" and second["duplicate_of"] == first["pair_id"]
    assert second["image"] is None and second["image_sha256"] == first["image_sha256"]

    answer = run_cli("query", "SELECT batch_id, count(*) AS n FROM pages GROUP BY 1 ORDER BY 2", "--dataset",
                     str(out), "--format", "json")
    assert [json.loads(line) for line in answer.stdout.splitlines()] == [
        {"batch_id": "second", "n": 1}, {"batch_id": report["batch_id"], "n": pages_before}]
    stats = json.loads(run_cli("stats", str(out), "--json").stdout)
    assert sum(stats["pages"].values()) == len(pages) and stats["duplicate_images"] >= 1
    assert stats["pages_by_script"] == dict(Counter(p["script"] for p in pages if p["status"] == "ok"))
    card = (out / "README.md").read_text()
    assert f"{len(set(p['source_sha256'] for p in pages))} source file(s) in 2 batch(es)" in card


def chromium_dom(page: Path) -> str:
    """The page as headless Chromium (Debian's package) renders it, with each image's decoded width written
    into its `data-width` (0: the image did not decode)."""
    probe = page.with_name("probe-" + page.name)
    probe.write_text(page.read_text().replace("</body>", "<script>for (const img of document.images) "
                                              "img.dataset.width = img.naturalWidth;</script></body>"))
    shown = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                            "--virtual-time-budget=5000", probe.as_uri()], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    shot = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600",
                           f"--screenshot={page.with_suffix('.png')}", page.as_uri()], capture_output=True, timeout=120)
    assert shot.returncode == 0 and page.with_suffix(".png").stat().st_size > 10_000
    return shown.stdout


def test_the_review_page_shows_what_needs_a_look_with_pictures_in_chromium(first_run, tmp_path):
    _, report, stdout = first_run
    review = Path(report["review_path"])
    assert review.exists() and f"review: {review}" in stdout
    copy = tmp_path / "review.html"
    shutil.copy(review, copy)
    dom = chromium_dom(copy)
    assert f"<h1>Batch {report['batch_id']}</h1>" in dom and report["run_id"] in dom
    assert dom.count("<tr class=") == len(report["file_outcomes"])
    cards = re.findall(r'<figure class="card">(.*?)</figure>', dom, re.S)
    assert any("legacy-kruti-dev.pdf" in card and "legacy_font" in card for card in cards)
    assert sum("error (" in card for card in cards) == report["pages"]["error"]
    widths = [int(w) for card in cards for w in re.findall(r'class="thumb"[^>]*data-width="(\d+)"', card)]
    assert widths and all(width > 0 for width in widths)  # every thumbnail decoded
    chart = re.search(r'class="chart"[^>]*data-width="(\d+)"', dom)
    assert chart and int(chart.group(1)) > 0


def test_status_and_review_answer_for_a_batch_of_lontar_run(first_run, tmp_path):
    out, report, _ = first_run
    status = run_cli("status", report["batch_id"], "--dataset", str(out), "--json")
    assert status.returncode == 0, status.stderr
    detail = json.loads(status.stdout)
    newest = read_reports(str(out), report["batch_id"])[-1]  # the rerun test may have run the batch again
    assert detail["state"] == "completed (lontar run)" and detail["run_id"] == newest["run_id"]
    assert detail["pages"] == {k: newest["pages"][k] for k in ("ok", "error", "total")}
    assert detail["attempts"] == len(read_reports(str(out), report["batch_id"]))
    page = tmp_path / "again.html"
    written = run_cli("report", report["batch_id"], "--dataset", str(out), "--html", str(page))
    assert written.returncode == 0 and page.read_text().startswith("<!DOCTYPE html>")
    unknown = run_cli("status", "b-nosuchbatch", "--dataset", str(out))
    assert unknown.returncode == 2 and "no batch 'b-nosuchbatch'" in unknown.stderr
