"""`lontar migrate`: a dataset's older shards brought to this version without reading a page again, every column
that the rows determine filled exactly as a run of this version fills it, the rest null and said why; a migration
killed at any moment leaves every shard either old or new, whole, and the next one finishes it."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest

from actors.store.records import SCHEMA_VERSION
from flows.dataset import migration, views
from tests.support.cli import run_cli, sigkill_when
from tests.support.datasets import as_schema_version, small_units


def by_id(rows: list[dict], key: str) -> dict[str, dict]:
    return {row[key]: row for row in rows}


def test_migrating_a_real_dataset_from_version_4_fills_what_this_version_would(first_run, tmp_path):
    out = tmp_path / "dataset"
    shutil.copytree(first_run[0], out)
    pages_before = by_id(views.read_table(str(out), "pages").to_pylist(), "page_id")
    pairs_before = by_id(views.read_table(str(out), "pairs").to_pylist(), "pair_id")
    units = sorted(p.stem for p in (out / "_units").glob("*.json"))
    for unit in units:
        as_schema_version(out, unit, 4)
    assert views.connect(str(out)).execute("SELECT count(language), count(read_by) FROM pages").fetchone() == (0, 0)

    result = migration.migrate(str(out))
    assert result.units == len(units) and result.pages == len(pages_before) and result.pairs == len(pairs_before)
    pages = by_id(views.read_table(str(out), "pages").to_pylist(), "page_id")
    pairs = by_id(views.read_table(str(out), "pairs").to_pylist(), "pair_id")
    assert pages.keys() == pages_before.keys() and pairs.keys() == pairs_before.keys()
    nulls = {name for name in migration.LEFT_NULL if "." not in name}
    for page_id, page in pages.items():
        before = pages_before[page_id]
        for name, value in page.items():
            if name in nulls:
                assert value is None, (page_id, name)
            elif name == "lines":
                assert [{**ln, "words": None} for ln in before[name] or []] == (value or []), page_id
            elif name != "created_at":
                assert value == before[name], (page_id, name, value, before[name])
    for pair_id, pair in pairs.items():
        assert pair == pairs_before[pair_id], pair_id
    body = json.loads((out / "_dataset.json").read_text())
    assert set(body["schema_versions"]) == {str(SCHEMA_VERSION)}
    assert all(pq.read_schema(out / s["path"]).metadata[b"lontar.schema_version"] == str(SCHEMA_VERSION).encode()
               for s in body["shards"])
    assert migration.migrate(str(out)).shards == 0  # nothing older left


def test_every_added_column_is_either_derived_or_said_to_stay_null():
    report = migration.columns_report()
    assert {column for column, _, _ in report} == set(migration.DERIVED) | set(migration.LEFT_NULL)
    assert all(why for _, _, why in report)


def test_lontar_migrate_killed_with_sigkill_leaves_every_shard_old_or_new(tmp_path, prefect_home):
    units = small_units(tmp_path, 120)
    for unit in units:
        as_schema_version(tmp_path, unit, 4)
    expected = views.connect(str(tmp_path)).execute("SELECT page_id, text FROM pages ORDER BY 1").fetchall()
    dry = run_cli("migrate", str(tmp_path), "--dry-run")
    assert dry.returncode == 0 and "120 unit(s) of an older version" in dry.stdout
    assert "lines.words: null: word boxes need the page read again" in dry.stdout
    mixed = 0
    for delay in (0.0, 0.5, 1.5, 3.0, 5.0):
        sigkill_when(["migrate", str(tmp_path)], tmp_path, "*.migrating.tmp", delay)
        versions = [pq.read_schema(p).metadata[b"lontar.schema_version"] for p in tmp_path.rglob("*.parquet")]
        assert set(versions) <= {b"4", str(SCHEMA_VERSION).encode()}  # every shard whole: old or new
        mixed += len(set(versions)) == 2
        assert views.connect(str(tmp_path)).execute("SELECT page_id, text FROM pages ORDER BY 1").fetchall() == expected
        if mixed and delay >= 1.5:
            break
    assert mixed, "no kill fell in the middle of the migration"
    result = run_cli("migrate", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "pages/s" in result.stdout
    con = views.connect(str(tmp_path))
    assert con.execute("SELECT page_id, text FROM pages ORDER BY 1").fetchall() == expected
    assert con.execute("SELECT count(language), count(DISTINCT language) FROM pages").fetchone() == (240, 2)
    assert json.loads((tmp_path / "_dataset.json").read_text())["schema_versions"] == {str(SCHEMA_VERSION): 480}


@pytest.mark.parametrize("version", [3, SCHEMA_VERSION + 1])
def test_versions_it_cannot_migrate_are_refused(tmp_path, version, prefect_home):
    (unit,) = small_units(tmp_path, 1)
    marker = tmp_path / "_units" / f"{unit}.json"
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "schema_version": version}))
    result = run_cli("migrate", str(tmp_path))
    assert result.returncode == 2 and "migrate" in result.stderr
