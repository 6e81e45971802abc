"""A dataset spans schema versions: rows of versions 4, 5 and 6 (each written as that version wrote them) and of
this version live in one dataset, and DuckDB, pyarrow and Polars read them together by column name, every row once,
the newer columns null on older rows. Versions whose columns meant something else, or newer than this Lontar, are
refused with the way out named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import fsspec
import polars as pl
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from PIL import Image

from actors.store.records import (
    ADDED_IN,
    OLDEST_APPENDABLE_VERSION,
    PAGE_FIELDS,
    PAGE_SCHEMA,
    SCHEMA_VERSION,
    batch_table,
)
from actors.store.writer import ShardWriter
from flows.dataset import manifest, snapshot, views
from ocr_models.lontar_errors import UsageError
from tests.support.cli import run_cli
from tests.support.datasets import as_schema_version

OLD_VERSIONS = (4, 5, 6)


def page(unit: str, index: int) -> dict:
    text = f"An old manuscript page {unit} {index}"
    line = {"text": text, "bbox": [0, 0, 100, 10], "confidence": 0.9,
            "words": [{"text": "An", "bbox": [0, 0, 10, 10], "confidence": 0.9}]}
    region = {"kind": "text", "bbox": [0, 0, 100, 10], "reading_order": 0, "text": text, "script": "Latn",
              "lang": "eng", "confidence": 0.9, "engine": "tesseract", "model": "eng"}
    return {"page_id": f"{unit}-{index}", "source_uri": f"/archive/{unit}.pdf", "source_sha256": unit,
            "source_format": "pdf", "page_index": index, "page_count": 2, "status": "ok", "image": b"png",
            "image_format": "png", "text": text, "text_source": "ocr", "text_source_reason": "no_text_layer",
            "script": "Latn", "lang": "eng", "ocr_confidence": 0.9, "rotation": 0, "lines": [line],
            "regions": [region], "read_by": [{"engine": "tesseract", "model": "eng", "regions": 1}],
            "engine": "tesseract", "engine_version": "5.3.0",
            "pairs": [{"pair_id": f"{unit}-{index}-line", "kind": "line", "bbox": [0, 0, 100, 10], "image": b"crop",
                       "image_format": "png", "width": 100, "height": 10, "text": text, "script": "Latn",
                       "alignment": {"method": "ocr", "score": 0.9}}]}


def write_unit(root: Path, unit: str, version: int = SCHEMA_VERSION) -> None:
    writer = ShardWriter(fsspec.filesystem("file"), str(root), unit,
                         {"run_id": f"run-{unit}", "batch_id": f"b-{unit}", "config_hash": "c1"})
    writer.write(batch_table([page(unit, 0), page(unit, 1)]))
    writer.close()
    if version != SCHEMA_VERSION:
        as_schema_version(root, unit, version)


@pytest.fixture()
def spanning(tmp_path: Path) -> Path:
    """Units written as versions 4, 5 and 6 wrote them, then one of this version, appended as a run does."""
    for version in OLD_VERSIONS:
        write_unit(tmp_path, f"v{version}", version)
    manifest.check_writable_version(str(tmp_path))
    write_unit(tmp_path, "now")
    manifest.refresh(str(tmp_path))
    return tmp_path


def added_after(version: int, table: str) -> set[str]:
    return {name for v, tables in ADDED_IN.items() if v > version for name in tables[table]}


def test_older_shards_really_lack_what_later_versions_added(spanning):
    for version in OLD_VERSIONS:
        shard = next((spanning / "pages").glob(f"*/part-v{version}-*.parquet"))
        schema = pq.read_schema(shard)
        assert schema.metadata[b"lontar.schema_version"] == str(version).encode()
        regions = schema.field("regions").type.value_type
        for name in added_after(version, "pages"):
            column, _, field = name.partition(".")
            assert (field not in [f.name for f in regions] if column == "regions" else
                    field not in [f.name for f in schema.field(column).type.value_type] if field else
                    column not in schema.names), (version, name)


def test_the_manifest_records_each_shards_version(spanning):
    body = json.loads((spanning / "_dataset.json").read_text())
    assert body["schema_version"] == SCHEMA_VERSION
    assert body["schema_versions"] == {"4": 2, "5": 2, "6": 2, str(SCHEMA_VERSION): 2}  # a page and a pair shard
    assert {s["path"].split("part-")[1][:2]: s["schema_version"] for s in body["shards"]} == {
        "v4": 4, "v5": 5, "v6": 6, "no": SCHEMA_VERSION}
    assert ("Schema version 7 (columns: `lontar schema`, or docs/schema.md in Lontar); older shards: 2 of version 4, "
            "2 of version 5, 2 of version 6, read by column name") in (spanning / "README.md").read_text()


def test_duckdb_reads_every_row_once_with_the_new_columns_null_on_old_rows(spanning):
    con = views.connect(str(spanning))
    rows = con.execute("SELECT page_id, language, text_source_reason, read_by, regions[1].engine, "
                       "lines[1].words, text FROM pages ORDER BY page_id").fetchall()
    assert [r[0] for r in rows] == ["now-0", "now-1", "v4-0", "v4-1", "v5-0", "v5-1", "v6-0", "v6-1"]
    by_unit = {r[0].split("-")[0]: r for r in rows}
    assert by_unit["v4"][1:6] == (None, None, None, None, None)
    assert by_unit["v5"][1] == "eng" and by_unit["v5"][2:6] == (None, None, None, None)
    assert by_unit["v6"][2] == "no_text_layer" and by_unit["v6"][5] is not None and by_unit["v6"][3:5] == (None, None)
    assert by_unit["now"][3:5] == ([{"engine": "tesseract", "model": "eng", "regions": 1}], "tesseract")
    assert all(r[6].startswith("An old manuscript page") for r in rows)  # the old columns are all there
    assert con.execute("SELECT count(*), count(DISTINCT pair_id), count(language) FROM pairs").fetchone() == (8, 8, 6)
    # plain DuckDB over the shards the manifest lists, as docs/dataset.md shows it
    body = json.loads((spanning / "_dataset.json").read_text())
    files = [str(spanning / s["path"]) for s in body["shards"] if s["table"] == "pages"]
    plain = duckdb.connect().execute(f"SELECT count(*), count(DISTINCT page_id), count(read_by) FROM read_parquet("
                                     f"{files}, hive_partitioning = true, union_by_name = true)").fetchone()
    assert plain == (8, 8, 2)


def test_pyarrow_reads_every_row_once_in_this_versions_schema(spanning):
    pages = views.read_table(str(spanning), "pages")
    assert pages.column_names == list(PAGE_FIELDS) and sorted(pages["page_id"].to_pylist()) == sorted(
        f"{u}-{i}" for u in ("v4", "v5", "v6", "now") for i in (0, 1))
    rows = {r["page_id"]: r for r in pages.to_pylist()}
    assert rows["v4-0"]["regions"][0]["engine"] is None and rows["v4-0"]["regions"][0]["text"].startswith("An old")
    assert rows["v5-0"]["lines"][0]["words"] is None and rows["v6-0"]["lines"][0]["words"][0]["text"] == "An"
    # plain pyarrow, given this version's schema
    plain = pads.dataset(spanning / "pages", schema=PAGE_SCHEMA, format="parquet", partitioning="hive").to_table()
    assert plain.num_rows == 8 and plain["read_by"].null_count == 6


def test_polars_reads_every_row_once_as_the_docs_show(spanning):
    body = json.loads((spanning / "_dataset.json").read_text())
    newest = max((s for s in body["shards"] if s["table"] == "pages"), key=lambda s: s["schema_version"])
    schema = pl.read_parquet_schema(spanning / newest["path"]) | {"script": pl.String}
    frame = pl.scan_parquet(spanning / "pages" / "*" / "*.parquet", hive_partitioning=True, schema=schema,
                            missing_columns="insert",
                            cast_options=pl.ScanCastOptions(missing_struct_fields="insert")).collect()
    assert frame.height == 8 and frame["page_id"].n_unique() == 8
    assert frame.filter(pl.col("page_id") == "v4-0")["language"].to_list() == [None]
    assert frame.filter(pl.col("page_id") == "now-0")["language"].to_list() == ["eng"]


def test_a_dataset_older_than_the_oldest_appendable_version_is_refused_with_the_way_out(tmp_path):
    write_unit(tmp_path, "v3", OLDEST_APPENDABLE_VERSION - 1)
    with pytest.raises(UsageError, match=r"schema version 3; .* write to a new dataset folder and run the archive"):
        manifest.check_writable_version(str(tmp_path))
    with pytest.raises(UsageError, match="can describe datasets of version 4 or later only"):
        manifest.check_readable_version(str(tmp_path))


def test_a_dataset_a_newer_lontar_wrote_is_refused(tmp_path):
    write_unit(tmp_path, "next")
    marker = tmp_path / "_units" / "next.json"
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(UsageError, match=f"version {SCHEMA_VERSION + 1}, written by a newer Lontar.*upgrade"):
        manifest.check_writable_version(str(tmp_path))
    assert snapshot.schema_versions(str(tmp_path)) == {SCHEMA_VERSION + 1}


def test_a_run_appends_to_a_dataset_of_older_versions(first_run, sample_archive, tmp_path):
    """The real `lontar run` into a copy of a real dataset whose units are made versions 4, 5 and 6."""
    out = tmp_path / "dataset"
    shutil.copytree(first_run[0], out)
    units = sorted(p.stem for p in (out / "_units").glob("*.json"))
    for unit, version in zip(units, OLD_VERSIONS * len(units), strict=False):
        as_schema_version(out, unit, version)
    before = views.read_table(str(out), "pages", ["page_id"]).num_rows
    scan = tmp_path / "new-scan.png"  # a file the dataset does not hold yet
    Image.open(sample_archive / "thai-bulletin.jpg").save(scan)
    result = run_cli("run", str(scan), "--out", str(out), "--batch-id", "upgrade")
    assert result.returncode == 0, result.stderr[-3000:]
    pages = views.read_table(str(out), "pages", ["page_id", "batch_id", "read_by", "status"])
    assert pages.num_rows == before + 1 and len(set(pages["page_id"].to_pylist())) == pages.num_rows
    new = [r for r in pages.to_pylist() if r["batch_id"] == "upgrade"]
    assert len(new) == 1 and new[0]["read_by"]
    body = json.loads((out / "_dataset.json").read_text())
    assert set(body["schema_versions"]) == {str(v) for v in OLD_VERSIONS[:len(units)]} | {str(SCHEMA_VERSION)}
    query = run_cli("query", "SELECT count(*) AS n, count(DISTINCT page_id) AS d FROM pages", "--dataset", str(out),
                    "--format", "json")
    assert json.loads(query.stdout) == {"n": before + 1, "d": before + 1}
    newest = max((s for s in body["shards"] if s["table"] == "pages"), key=lambda s: s["schema_version"])
    schema = pl.read_parquet_schema(out / newest["path"]) | {"script": pl.String}
    frame = pl.scan_parquet(out / "pages" / "*" / "*.parquet", hive_partitioning=True, schema=schema,
                            missing_columns="insert",
                            cast_options=pl.ScanCastOptions(missing_struct_fields="insert")).collect()
    assert frame.height == before + 1 and frame["page_id"].n_unique() == before + 1
    assert frame.filter(pl.col("batch_id") == "upgrade")["read_by"].to_list()[0]
