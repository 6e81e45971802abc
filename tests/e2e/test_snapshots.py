"""Readers see committed snapshots: a query started while a run commits units sees whole units only, and
`--since` answers with what later runs added."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from fsspec.implementations.local import LocalFileSystem

from actors.store.records import batch_table
from actors.store.writer import ShardWriter
from flows.dataset import views
from tests.support.cli import LONTAR, run_cli


def page(unit: str, index: int, script: str) -> dict:
    text = {"Deva": "पुरानी पांडुलिपि का पृष्ठ", "Latn": "An old manuscript page"}[script]
    return {"page_id": f"{unit}-{index}", "source_uri": f"/archive/{unit}.pdf", "source_sha256": unit,
            "source_format": "pdf", "page_index": index, "page_count": 2, "status": "ok", "text": text,
            "text_source": "ocr", "script": script, "engine": "tesseract", "engine_version": "5.3.0"}


class PausingFileSystem(LocalFileSystem):
    """A local filesystem that calls `between` after the first shard of a unit is renamed into place."""

    cachable = False

    def __init__(self, between) -> None:
        super().__init__()
        self.between, self.renamed = between, 0

    def mv(self, path1, path2, **kwargs) -> None:
        super().mv(path1, path2, **kwargs)
        if str(path2).endswith(".parquet"):
            self.renamed += 1
            if self.renamed == 1:
                self.between()


def write_unit(root: Path, unit: str, fs: LocalFileSystem | None = None) -> None:
    writer = ShardWriter(fs or LocalFileSystem(), str(root), unit,
                         {"run_id": f"run-{unit}", "batch_id": "b1", "config_hash": "c1"})
    writer.write(batch_table([page(unit, 0, "Deva"), page(unit, 1, "Latn")]))  # two shards: two renames
    writer.close()


def test_a_unit_half_renamed_into_place_is_not_seen(tmp_path):
    write_unit(tmp_path, "first")
    seen: dict[str, object] = {}

    def read_now() -> None:
        seen["views"] = views.connect(str(tmp_path)).execute("SELECT page_id FROM pages ORDER BY 1").fetchall()
        seen["arrow"] = sorted(views.read_table(str(tmp_path), "pages", ["page_id"])["page_id"].to_pylist())
        seen["glob"] = duckdb.connect().execute(
            f"SELECT count(*) FROM read_parquet('{tmp_path}/pages/*/*.parquet')").fetchone()[0]

    write_unit(tmp_path, "second", PausingFileSystem(read_now))
    assert seen["glob"] == 3  # a glob over the folders sees half of the second unit at that moment
    assert seen["views"] == [("first-0",), ("first-1",)] and seen["arrow"] == ["first-0", "first-1"]
    assert views.connect(str(tmp_path)).execute("SELECT count(*) FROM pages").fetchone() == (4,)


def report(root: Path, run_id: str) -> None:
    folder = root / "_runs" / "b1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{run_id}.json").write_text(json.dumps({
        "run_id": run_id, "batch_id": "b1", "status": "completed", "finished_at": datetime.now(UTC).isoformat()}))


def test_since_a_run_answers_with_what_later_runs_committed(tmp_path):
    write_unit(tmp_path, "old")
    report(tmp_path, "20261206T010000Z-aaaaaa")
    write_unit(tmp_path, "new")
    report(tmp_path, "20261206T020000Z-bbbbbb")
    con = views.connect(str(tmp_path), since="20261206T010000Z-aaaaaa")
    assert con.execute("SELECT page_id FROM pages ORDER BY 1").fetchall() == [("new-0",), ("new-1",)]
    assert con.execute("SELECT run_id FROM runs").fetchall() == [("20261206T020000Z-bbbbbb",)]
    assert con.execute("SELECT count(*) FROM pages").fetchone() == (2,)
    assert views.connect(str(tmp_path), since="20261206T020000Z-bbbbbb").execute(
        "SELECT count(*) FROM pages").fetchone() == (0,)
    assert views.connect(str(tmp_path), since="2020-01-01").execute("SELECT count(*) FROM pages").fetchone() == (4,)
    answer = run_cli("query", "SELECT page_id FROM pages ORDER BY 1", "--dataset", str(tmp_path), "--format", "json",
                     "--since", "20261206T010000Z-aaaaaa")
    assert answer.returncode == 0 and answer.stdout.split() == ['{"page_id":', '"new-0"}', '{"page_id":', '"new-1"}']
    unknown = run_cli("query", "SELECT 1", "--dataset", str(tmp_path), "--since", "no-such-run")
    assert unknown.returncode == 2 and "no run of that id and it is not an ISO 8601 time" in unknown.stderr


@pytest.mark.integration
def test_queries_in_a_loop_during_a_run_see_whole_units_only(sample_archive, tmp_path, prefect_home):
    """One page a unit, so that units commit one after another while DuckDB and pyarrow read in a loop: every
    answer holds whole units (each page with all of its pairs), and the last one holds them all."""
    out, config = tmp_path / "dataset", tmp_path / "lontar.yaml"
    config.write_text("output: {pages_per_unit: 1}\n")
    child = subprocess.Popen([LONTAR, "run", str(sample_archive), "--out", str(out), "--config", str(config)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                             env=os.environ.copy())
    answers: list[dict[str, int]] = []
    while child.poll() is None:
        if (out / "_units").exists():
            con = views.connect(str(out))
            answers.append(dict(con.execute("SELECT p.page_id, count(q.pair_id) FROM pages p LEFT JOIN pairs q "
                                            "USING (page_id) GROUP BY 1").fetchall()))
            assert views.read_table(str(out), "pages", ["page_id"]).num_rows >= len(answers[-1])
        time.sleep(0.05)
    _, stderr = child.communicate()
    assert child.returncode == 0, stderr[-3000:]
    final = dict(views.connect(str(out)).execute("SELECT p.page_id, count(q.pair_id) FROM pages p LEFT JOIN pairs q "
                                                 "USING (page_id) GROUP BY 1").fetchall())
    growing = [a for a in answers if a]
    assert len({len(a) for a in growing}) >= 3, "the loop saw units commit one after another"
    for answer in growing:
        assert all(final[page] == pairs for page, pairs in answer.items()), "a page was seen without all its pairs"
