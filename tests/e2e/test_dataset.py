"""The dataset as data engineers see it: one partitioned dataset across batches, the same numbers from DuckDB,
pyarrow and Polars, a manifest and a card that match the files, `lontar query` / `stats` / `export`, and
nothing multiplied: files already in the dataset and repeated figure images."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tarfile
from collections import Counter
from pathlib import Path

import duckdb
import fsspec
import polars as pl
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from actors.store import dataset_layout
from actors.store.records import PAGE_FIELDS, PAIR_FIELDS, SCHEMA_VERSION, batch_table
from actors.store.writer import ShardWriter
from flows.dataset import manifest, views
from flows.dataset.charts import CHARTS
from flows.dataset.export import export_webdataset
from flows.run import planning
from ocr_models.lontar_errors import UsageError
from tests.support.cli import run_cli
from tests.support.datasets import write_batch

LOGO = b"\x89PNG logo bytes"


def page(batch: str, sha: str, index: int, script: str | None, status: str = "ok", pairs: list | None = None):
    text = {"Deva": "पुरानी पांडुलिपि का पृष्ठ", "Latn": "An old manuscript page", None: None}[script]
    return {"page_id": f"{sha}-{index}", "source_uri": f"/archive/{batch}/{sha}.pdf", "source_sha256": sha,
            "source_format": "pdf", "page_index": index, "page_count": 4, "status": status,
            "error_kind": None if status == "ok" else "corrupt_input", "image": f"{sha}{index}".encode(),
            "image_format": "png", "text": text, "text_source": "ocr" if text else None, "script": script,
            "lang": {"Deva": "Devanagari", "Latn": "eng"}.get(script), "ocr_confidence": 0.9 if text else None,
            "engine": "tesseract", "engine_version": "tesseract 5.3.0", "layout_model": "rapid", "pairs": pairs}


def pair(pair_id: str, kind: str, image: bytes, text: str = "Figure 1. A leaf", script: str = "Latn") -> dict:
    return {"pair_id": pair_id, "kind": kind, "bbox": [0, 0, 10, 10], "image": image, "image_format": "png",
            "width": 10, "height": 10, "text": text, "script": script, "ocr_confidence": 0.95,
            "alignment": {"method": "ocr" if kind == "line" else "caption_region", "score": 0.9}}


@pytest.fixture()
def two_batches(tmp_path: Path) -> Path:
    """Batch b1: a Hindi file (3 pages, one unreadable) with a logo figure and a line; batch b2: an English
    file (2 pages) whose first page has the same logo."""
    root = tmp_path / "dataset"
    first = [page("b1", "aaa", 0, "Deva", pairs=[pair("f1", "figure", LOGO), pair("l1", "line", b"line1",
                                                                                    "पुरानी", "Deva")]),
             page("b1", "aaa", 1, "Deva"), page("b1", "aaa", 2, None, status="error")]
    write_batch(root, "b1", "u1", first, views.dataset_index(str(root)) if root.exists() else None)
    second = [page("b2", "bbb", 0, "Latn", pairs=[pair("f2", "figure", LOGO), pair("t2", "table", b"tab")]),
              page("b2", "bbb", 1, "Latn")]
    write_batch(root, "b2", "u2", second, views.dataset_index(str(root)))
    manifest.refresh(str(root))
    return root


def test_duckdb_pyarrow_and_polars_read_the_same_numbers(two_batches):
    root = two_batches
    expected = {"Deva": 2, "Latn": 2, "Zzzz": 1}
    con = views.connect(str(root))
    assert dict(con.execute("SELECT script, count(*) FROM pages GROUP BY 1").fetchall()) == expected
    plain_duckdb = duckdb.sql(f"SELECT script, count(*) FROM read_parquet('{root}/pages/*/*.parquet', "
                              "hive_partitioning = true) GROUP BY 1").fetchall()
    assert dict(plain_duckdb) == expected
    table = pads.dataset(root / "pages", format="parquet", partitioning="hive").to_table()
    assert Counter(table.column("script").to_pylist()) == expected
    assert Counter(pq.read_table(root / "pages").column("script").to_pylist()) == expected  # pandas' route
    polars = pl.scan_parquet(root / "pages" / "*" / "*.parquet", hive_partitioning=True).group_by("script").len()
    assert dict(polars.collect().iter_rows()) == expected
    assert views.read_table(str(root), "pages").column_names == list(PAGE_FIELDS)
    assert views.read_table(str(root), "pairs").column_names == list(PAIR_FIELDS)
    lines = pl.scan_parquet(root / "pairs" / "kind=line" / "*" / "*.parquet", hive_partitioning=True).collect()
    assert lines["pair_id"].to_list() == ["l1"] and lines["script"].to_list() == ["Deva"]


def test_the_manifest_lists_every_committed_shard_with_its_rows_and_bytes(two_batches):
    manifest = json.loads((two_batches / "_dataset.json").read_text())
    assert manifest["format"] == "lontar-dataset" and manifest["schema_version"] == SCHEMA_VERSION
    files = sorted(str(p.relative_to(two_batches)) for p in two_batches.rglob("*.parquet"))
    assert [s["path"] for s in manifest["shards"]] == files
    for shard in manifest["shards"]:
        path = two_batches / shard["path"]
        assert shard["bytes"] == path.stat().st_size and shard["rows"] == pq.ParquetFile(path).metadata.num_rows
    assert manifest["tables"]["pages"]["rows"] == 5 and manifest["tables"]["pairs"]["rows"] == 4
    assert manifest["batches"] == {"b1": {"units": 1, "pages": 3, "pairs": 2},
                                   "b2": {"units": 1, "pages": 2, "pairs": 2}}


def test_a_figure_image_already_in_the_dataset_is_stored_once_across_batches(two_batches):
    figures = {p["pair_id"]: p for p in views.read_table(str(two_batches), "pairs").to_pylist()}
    assert figures["f1"]["image"] == LOGO and figures["f1"]["duplicate_of"] is None
    assert figures["f2"]["image"] is None and figures["f2"]["duplicate_of"] == "f1"
    assert figures["f2"]["image_sha256"] == figures["f1"]["image_sha256"] == hashlib.sha256(LOGO).hexdigest()


def test_a_dataset_of_text_layers_only_has_no_confidence_quantiles_but_a_card(tmp_path):
    root = tmp_path / "born-digital"
    row = page("b1", "ddd", 0, "Latn") | {"text_source": "text_layer", "ocr_confidence": None, "engine": "pymupdf"}
    write_batch(root, "b1", "u1", [row], None)
    manifest.refresh(str(root))
    assert "| text_layer | 1 |" in (root / "README.md").read_text()


def test_the_dataset_card_has_the_numbers_and_how_to_load_it(two_batches):
    card = (two_batches / "README.md").read_text()
    assert card.startswith("---\nconfigs:\n- config_name: pages\n  data_files: \"pages/*/*.parquet\"")
    assert "| Deva | 2 |" in card and "| Latn | 2 |" in card and "| corrupt_input | 1 |" in card
    assert "| figure | 2 |" in card and "from 1 more pair(s)" in card
    assert "2 source file(s) in 2 batch(es) and 2 run(s)" in card
    assert "import polars" in card and "load_dataset" in card


def test_the_card_shows_its_charts(two_batches, tmp_path):
    card = (two_batches / "README.md").read_text()
    for name in CHARTS:
        chart = two_batches / "_card" / f"{name}.png"
        assert chart.read_bytes().startswith(b"\x89PNG") and f"](_card/{name}.png)" in card
    result = run_cli("stats", str(two_batches), "--plots", str(tmp_path / "plots"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(f"{name}.png" for name in CHARTS)


def test_files_the_dataset_has_from_another_batch_or_config_are_duplicates_not_new_rows(two_batches):
    owners = views.source_owners(str(two_batches), ["aaa", "ccc"])
    assert owners == {"aaa": {"batch_id": "b1", "config_hash": "c1", "source_uri": "/archive/b1/aaa.pdf"}}
    files = [planning.SourceFile(f"/new/{sha}.pdf", f"/new/{sha}.pdf", sha, "pdf", 1, 1) for sha in ("aaa", "ccc")]
    again = planning.skip_committed(files, owners, "b3", "c1")
    assert again[0].duplicate_of == "/archive/b1/aaa.pdf (batch b1, config c1)" and again[1].duplicate_of is None
    assert planning.skip_committed(files, owners, "b1", "c1")[0].duplicate_of is None  # its own batch resumes
    assert planning.skip_committed(files, owners, "b1", "c2")[0].duplicate_of is not None


def test_a_dataset_of_another_schema_version_is_refused(tmp_path):
    old = tmp_path / "old"
    (old / "pages").mkdir(parents=True)
    (old / "pages" / "part-x.parquet").write_bytes(b"PAR1")
    with pytest.raises(UsageError, match="schema version 2"):
        manifest.check_writable_version(str(old))
    manifest.check_writable_version(str(tmp_path / "new"))  # nothing there yet: fine


def test_the_runs_view_reads_fields_the_run_report_declares():
    for column in dataset_layout.RUN_COLUMNS:
        assert column.path[0] in dataset_layout.RunReport.__annotations__, column.name
    assert list(dataset_layout.RUN_FIELDS) == [column.name for column in dataset_layout.RUN_COLUMNS]


def test_a_new_dataset_answers_queries_with_no_rows_and_has_a_card(tmp_path):
    con = views.connect(str(tmp_path))
    assert con.execute("SELECT count(*) FROM pages").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)
    assert manifest.refresh(str(tmp_path))["tables"]["pages"]["rows"] == 0
    assert "Quantiles over OCR'd pages: no OCR pages." in (tmp_path / "README.md").read_text()
    assert (tmp_path / "_card" / "pages_by_language.png").read_bytes().startswith(b"\x89PNG")  # "no pages yet"
    with pytest.raises(UsageError, match="no dataset"):
        views.connect(str(tmp_path / "missing"))


def test_query_cli_in_every_format(two_batches, tmp_path):
    sql = "SELECT script, count(*) AS n FROM pages GROUP BY 1 ORDER BY 1"
    shown = run_cli("query", sql, "--dataset", str(two_batches))
    assert shown.returncode == 0, shown.stderr
    assert "Deva" in shown.stdout and "Zzzz" in shown.stdout
    as_csv = run_cli("query", sql, "--dataset", str(two_batches), "--format", "csv")
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [["script", "n"], ["Deva", "2"], ["Latn", "2"],
                                                             ["Zzzz", "1"]]
    as_json = run_cli("query", "SELECT pair_id, image, bbox FROM pairs WHERE kind = 'figure' ORDER BY 1",
                      "--dataset", str(two_batches), "--format", "json")
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r["pair_id"] for r in rows] == ["f1", "f2"] and rows[0]["bbox"] == [0, 0, 10, 10]
    runs = run_cli("query", "SELECT batch_id, pages_total FROM runs ORDER BY 1", "--dataset", str(two_batches),
                   "--format", "json")
    assert [json.loads(line) for line in runs.stdout.splitlines()] == [
        {"batch_id": "b1", "pages_total": 3}, {"batch_id": "b2", "pages_total": 2}]
    out = tmp_path / "deva.parquet"
    saved = run_cli("query", "SELECT * FROM pages WHERE script = 'Deva'", "--dataset", str(two_batches),
                    "--format", "parquet", "-o", str(out))
    assert saved.returncode == 0 and pq.read_table(out).num_rows == 2


@pytest.mark.parametrize(("args", "message"), [
    (["SELEC nonsense"], "query failed"),
    (["SELECT 1", "--format", "parquet"], "--output"),
    (["SELECT 1", "--dataset", "/nonexistent/dataset"], "no dataset"),
])
def test_query_mistakes_are_usage_errors(two_batches, args, message):
    result = run_cli("query", *args, *([] if "--dataset" in args else ["--dataset", str(two_batches)]))
    assert result.returncode == 2 and message in result.stderr


def test_stats_prints_the_cards_numbers(two_batches):
    result = run_cli("stats", str(two_batches))
    assert result.returncode == 0, result.stderr
    assert "pages by script: Deva 2, Latn 2" in result.stdout and "(1 duplicate images)" in result.stdout
    numbers = json.loads(run_cli("stats", str(two_batches), "--json").stdout)
    assert numbers["pages"] == {"error": 1, "ok": 4} and numbers["manifest"]["tables"]["pairs"]["rows"] == 4


def test_webdataset_export_reads_back_with_each_image_once(two_batches, tmp_path):
    out = tmp_path / "shards"
    result = export_webdataset(str(two_batches), str(out), shard_max_samples=2)
    assert result.samples == 3 and result.shards == ["pairs-000000.tar", "pairs-000001.tar"]
    samples: dict[str, dict[str, bytes]] = {}
    for shard in result.shards:
        with tarfile.open(out / shard) as tar:
            for member in tar.getmembers():
                key, ext = member.name.split(".", 1)
                samples.setdefault(key, {})[ext] = tar.extractfile(member).read()
    assert sorted(samples) == ["f1", "l1", "t2"]  # f2 holds f1's image: not exported twice
    assert samples["f1"]["png"] == LOGO and samples["f1"]["txt"].decode() == "Figure 1. A leaf"
    meta = json.loads(samples["l1"]["json"])
    assert meta["kind"] == "line" and meta["script"] == "Deva" and meta["batch_id"] == "b1"
    assert json.loads((out / "_export.json").read_text())["samples"] == 3

    lines = run_cli("export", "--dataset", str(two_batches), "--out", str(tmp_path / "lines"),
                    "--where", "kind = 'line'")
    assert lines.returncode == 0, lines.stderr
    with tarfile.open(tmp_path / "lines" / "pairs-000000.tar") as tar:
        assert sorted(tar.getnames()) == ["l1.json", "l1.png", "l1.txt"]
    again = run_cli("export", "--dataset", str(two_batches), "--out", str(tmp_path / "lines"))
    assert again.returncode == 2 and "already holds" in again.stderr


def test_a_dataset_on_an_fsspec_filesystem_answers_the_same(tmp_path):
    fs = fsspec.filesystem("memory")
    writer = ShardWriter(fs, "/lontar-test", "u1", {"run_id": "r", "batch_id": "b1", "config_hash": "c1"})
    writer.write(batch_table([page("b1", "aaa", 0, "Deva", pairs=[pair("f1", "figure", LOGO)])]))
    writer.close()
    try:
        assert views.connect("memory://lontar-test").execute("SELECT script FROM pages").fetchall() == [("Deva",)]
        assert views.source_owners("memory://lontar-test", ["aaa"])["aaa"]["batch_id"] == "b1"
        assert views.dataset_index("memory://lontar-test").images == {hashlib.sha256(LOGO).hexdigest(): "f1"}
        assert manifest.refresh("memory://lontar-test")["tables"]["pairs"]["rows"] == 1
        assert fs.exists("/lontar-test/README.md")
    finally:
        fs.rm("/lontar-test", recursive=True)
