"""`lontar eval` and the accuracy benchmark set: truth matched to pages by file name and page, CER, WER and an
order-free word measure pooled per script and language, lost and failed pages counted against accuracy, clear
errors for truth that cannot be matched; the set generator is deterministic and covers every degradation."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from flows.dataset.evaluate import evaluate, score_page
from flows.synth.eval_set import DEGRADATIONS, LANGUAGES, eval_pages, write_eval_set
from ocr_models.lontar_errors import UsageError
from ocr_models.scripts import LANGUAGE_SCRIPT
from tests.support.cli import run_cli
from tests.support.datasets import write_batch

HINDI = "पुरानी पांडुलिपि का पृष्ठ"
THAI = "ห้องสมุดเก็บรักษาเอกสารโบราณ"


def row(uri: str, index: int, text: str | None, script: str | None, status: str = "ok", count: int = 1,
        batch: str = "b1") -> dict:
    sha = hashlib.sha256(uri.encode()).hexdigest()
    return {"page_id": f"{sha[:16]}-{index}-{batch}", "source_uri": uri, "source_sha256": sha,
            "source_format": "png", "page_index": index, "page_count": count, "status": status,
            "error_kind": None if status == "ok" else "corrupt_input", "text": text,
            "text_source": "ocr" if text else None, "script": script, "lang": {"Deva": "Devanagari"}.get(script),
            "engine": "tesseract", "engine_version": "tesseract 5.3.0", "layout_model": "none"}


def truth(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_cer_wer_and_the_order_free_measure_after_normalisation():
    # NFC and whitespace: a decomposed é and a line break are not errors
    assert score_page("café au lait", "cafe\u0301\n au  lait") == (0, 12, 0, 3, 3, 3)
    edits, chars, word_edits, words, matched, read = score_page("the old leaf", "the cld leaf")
    assert (edits, chars, word_edits, words, matched, read) == (1, 12, 1, 3, 2, 3)
    # two columns read in the other order: every word is there (order-free error 0), but WER counts them
    edits, _, word_edits, words, matched, read = score_page("left column\nright column", "right column left column")
    assert edits > 0 and word_edits == 2 and matched == words == read == 4


def test_pages_are_matched_by_file_name_and_page_and_pooled_per_script_and_language(tmp_path):
    root = tmp_path / "ds"
    write_batch(root, "b1", "u1", [
        row("/scans/hindi/leaf.png", 0, HINDI, "Deva"),
        row("/scans/letters.pdf", 0, THAI, "Thai", count=3),
        row("/scans/letters.pdf", 1, THAI[:-4], "Thai", count=3),    # 4 characters lost
        row("/scans/letters.pdf", 2, None, None, status="error", count=3),
        row("/scans/no-truth.png", 0, "Some text", "Latn"),
    ], None)
    folder = truth(tmp_path / "truth", {"hin/leaf.txt": HINDI, "tha/letters.txt": THAI, "tha/letters.2.txt": THAI,
                                        "tha/letters.3.txt": THAI, "tha/lost.txt": THAI})
    report = evaluate(str(root), folder)
    pages = {p.truth: p for p in report.pages}
    assert pages["hin/leaf.txt"].cer == 0 and pages["hin/leaf.txt"].read_script == "Deva"
    assert (pages["tha/letters.2.txt"].page, pages["tha/letters.2.txt"].char_edits) == (2, 4)
    assert pages["tha/letters.3.txt"].status == "error" and pages["tha/letters.3.txt"].cer == 1
    assert pages["tha/lost.txt"].status == "missing" and pages["tha/lost.txt"].cer == 1
    assert report.pages_without_truth == 1
    thai = report.by_script["Thai"].summary()
    assert thai["pages"] == 4 and thai["failed"] == 2 and thai["script_accuracy"] == 0.5
    assert thai["cer"] == pytest.approx((4 + 2 * len(THAI)) / (4 * len(THAI)), abs=1e-4)
    assert set(report.by_language) == {"hin", "tha"}  # the truth's first folder names the language
    assert report.overall.summary()["pages"] == 5


def test_without_language_folders_pages_are_grouped_by_the_model_that_read_them(tmp_path):
    root = tmp_path / "ds"
    write_batch(root, "b1", "u1", [row("/scans/leaf.png", 0, HINDI, "Deva")], None)
    report = evaluate(str(root), truth(tmp_path / "truth", {"leaf.txt": HINDI}))
    assert list(report.by_language) == ["Devanagari"]


def test_the_newest_reading_of_a_page_is_the_one_scored(tmp_path):
    root = tmp_path / "ds"
    write_batch(root, "b1", "u1", [row("/scans/leaf.png", 0, "garbage", "Latn")], None)
    write_batch(root, "b2", "u2", [row("/scans/leaf.png", 0, HINDI, "Deva", batch="b2")], None)
    report = evaluate(str(root), truth(tmp_path / "truth", {"leaf.txt": HINDI}))
    assert [(p.cer, p.read_script) for p in report.pages] == [(0, "Deva")]


@pytest.mark.parametrize(("rows", "files", "message"), [
    ([row("/a/leaf.png", 0, HINDI, "Deva")], {"x/leaf.txt": HINDI, "y/leaf.txt": HINDI}, "two truth files"),
    ([row("/a/leaf.png", 0, HINDI, "Deva"), row("/a/leaf.jpg", 0, HINDI, "Deva")], {"leaf.txt": HINDI},
     "both match truth file leaf.txt"),
    ([row("/a/leaf.png", 0, HINDI, "Deva")], {"other.txt": HINDI}, "no page of"),
    ([row("/a/leaf.png", 0, HINDI, "Deva")], {}, "no .txt truth file"),
])
def test_truth_that_cannot_be_matched_is_a_clear_error(tmp_path, rows, files, message):
    root = tmp_path / "ds"
    write_batch(root, "b1", "u1", rows, None)
    with pytest.raises(UsageError, match=message):
        evaluate(str(root), truth(tmp_path / "truth", files) if files else (tmp_path / "truth").mkdir() or
                 tmp_path / "truth")


def test_the_eval_command_prints_tables_and_writes_the_json_report(tmp_path):
    root = tmp_path / "ds"
    write_batch(root, "b1", "u1", [row("/scans/leaf.png", 0, HINDI, "Deva")], None)
    folder = truth(tmp_path / "truth", {"hin/leaf.txt": HINDI})
    result = run_cli("eval", str(root), "--truth", str(folder), "--json", str(tmp_path / "eval.json"))
    assert result.returncode == 0, result.stderr
    assert "Deva" in result.stdout and "hin" in result.stdout
    saved = json.loads((tmp_path / "eval.json").read_text())
    assert saved["by_script"]["Deva"]["cer"] == 0 and saved["pages"][0]["truth"] == "hin/leaf.txt"
    missing = run_cli("eval", str(root), "--truth", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_one_page_per_language_covers_every_script_degradation_and_column_count():
    pages = list(eval_pages(1))
    assert [lang for lang, *_ in pages] == list(LANGUAGES)
    assert len({LANGUAGE_SCRIPT[lang].code for lang in LANGUAGES} | {"vie"}) == 15  # Vietnamese counted apart
    assert set(Counter(d for *_, d, _ in pages)) == set(DEGRADATIONS)
    assert {columns for _, _, columns, _, _ in pages} == {1, 2}


def test_the_set_is_the_same_every_time_with_its_truth_beside_it(tmp_path):
    first = write_eval_set(tmp_path / "a", 1, ("hin", "tha"))
    again = write_eval_set(tmp_path / "b", 1, ("hin", "tha"))
    for page in first:
        assert (tmp_path / "a/scans" / page.name).read_bytes() == (tmp_path / "b/scans" / page.name).read_bytes()
        stem = Path(page.name).stem
        assert (tmp_path / "a/truth" / page.lang / f"{stem}.txt").read_text(encoding="utf-8") == page.text + "\n"
    assert first == again
    listed = json.loads((tmp_path / "a/pages.json").read_text(encoding="utf-8"))
    assert [p["name"] for p in listed] == [p.name for p in first]
    assert run_cli("eval-set", str(tmp_path / "c"), "--langs", "hin,xx").returncode == 2


@pytest.mark.integration
def test_the_accuracy_benchmark_at_one_page_per_language(tmp_path):
    """benchmarks/accuracy.py at its smallest: 16 pages, every script and degradation, read with no hint by
    `lontar run`, scored by `lontar eval`, against the tesseract CLI told each page's language."""
    import os
    import subprocess
    import sys

    from tests.support.cli import REPO

    out = tmp_path / "accuracy.json"
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "accuracy.py"), "--per-language", "1",
                             "--json", str(out)], capture_output=True, text=True, timeout=1200,
                            env={**os.environ, "OMP_THREAD_LIMIT": "1"}, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "script detection: 16/16 pages" in result.stdout
    groups = json.loads(out.read_text())
    assert groups["all"]["detected"] == groups["all"]["pages"] == 16
    # measured at this size: automatic 0.01-0.02 against 0.2 by hand (turned pages defeat the CLI) and 0.8
    # English only; no language more than 0.03 worse than by hand
    assert groups["all"]["auto_cer"] < 0.05 and groups["all"]["auto_cer"] < groups["all"]["by_hand_cer"] / 3
    assert groups["degraded"]["auto_cer"] < groups["degraded"]["by_hand_cer"]
    assert groups["all"]["english_cer"] > 0.5
    for key, group in groups.items():
        if key.startswith("lang:"):
            assert group["auto_cer"] <= group["by_hand_cer"] + 0.03, (key, group)
