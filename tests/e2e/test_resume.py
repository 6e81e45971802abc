"""Exactly-once resume: a run killed with SIGKILL at an arbitrary moment, then run again, leaves every page in
the dataset exactly once (and every pair of those pages once); a third run does no OCR at all."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from flows.dataset.views import read_table
from tests.support.cli import LONTAR, kill_tree, run_cli

pytestmark = pytest.mark.integration


def test_a_run_killed_mid_batch_and_run_again_has_every_page_exactly_once(sample_archive, tmp_path, prefect_home):
    out = tmp_path / "dataset"
    config = tmp_path / "small-units.yaml"
    # small units of one-page read tasks, and one OCR engine: units commit one by one, each over several batches,
    # so the kill lands between two units while the next one's shards are half written
    config.write_text("output: {pages_per_unit: 3, pages_per_task: 1}\nray: {max_ocr_actors: 1}\n")
    args = ["run", str(sample_archive), "--out", str(out), "--config", str(config), "--no-progress"]
    run = subprocess.Popen([LONTAR, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.monotonic() + 300
    while not list((out / "_units").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before a unit was committed"
    # into the next unit: the kill comes while its shards are half written, or as soon as another unit commits
    # (a unit of sample pages can be written between two looks), or after 3 s at most
    first = len(list((out / "_units").glob("*.json")))
    half_written = time.monotonic() + 3
    while not list(out.glob("pages/**/.*.tmp")) and len(list((out / "_units").glob("*.json"))) == first \
            and time.monotonic() < half_written:
        time.sleep(0.02)
    kill_tree(run)
    committed = len(list((out / "_units").glob("*.json")))

    result = run_cli(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    (report,) = [json.loads(p.read_text()) for p in (out / "_runs").glob("*/*.json")]
    units = report["units"]["total"]
    assert 1 <= committed < units and report["units"] == {"total": units, "written": units - committed,
                                                           "skipped": committed}

    pages = read_table(str(out), "pages").to_pylist()
    keys = [(p["source_sha256"], p["page_index"]) for p in pages]
    assert len(keys) == len(set(keys)) == report["pages"]["total"] == 11
    pairs = read_table(str(out), "pairs", ["pair_id", "page_id"]).to_pylist()
    assert len({p["pair_id"] for p in pairs}) == len(pairs) and {p["page_id"] for p in pairs} <= {
        p["page_id"] for p in pages}

    again = run_cli(*args)
    assert again.returncode == 0 and f"0 written, {units} already done" in again.stdout
    assert read_table(str(out), "pages", ["page_id"]).num_rows == 11
