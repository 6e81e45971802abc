"""`lontar compact`: small shards of a partition merged into one, every row and id unchanged and seen once by every
reader at every moment, units still done for a resumed run, and a compaction killed at any step finished by the
next."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import fsspec
import pytest
from fsspec.implementations.local import LocalFileSystem

from actors.store.writer import read_done_unit
from configs.model import OutputOptions
from flows.dataset import compaction, views
from tests.support.cli import run_cli, sigkill_when
from tests.support.datasets import as_schema_version, small_units


def answers(root: Path) -> dict:
    """What every reader says of the dataset now."""
    con = views.connect(str(root))
    body = json.loads((root / "_dataset.json").read_text()) if (root / "_dataset.json").exists() else None
    glob = duckdb.connect().execute(f"SELECT page_id FROM read_parquet('{root}/pages/*/*.parquet') ORDER BY 1")
    return {"pages": con.execute("SELECT page_id, script, text FROM pages ORDER BY 1").fetchall(),
            "pairs": con.execute("SELECT pair_id, kind, script FROM pairs ORDER BY 1").fetchall(),
            "arrow": sorted(views.read_table(str(root), "pages", ["page_id"])["page_id"].to_pylist()),
            "glob": [row[0] for row in glob.fetchall()],
            "manifest_rows": body and {t: body["tables"][t]["rows"] for t in ("pages", "pairs")}}


def shards(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))


def test_small_shards_are_merged_with_every_row_and_answer_unchanged(tmp_path):
    units = small_units(tmp_path, 30)
    from flows.dataset import manifest

    manifest.refresh(str(tmp_path))
    before = answers(tmp_path)
    assert len(shards(tmp_path)) == 30 * 4  # a page shard and a pair shard per script per unit
    result = compaction.compact(str(tmp_path))
    assert (result.shards_before, result.shards_after, result.groups, result.rows) == (120, 4, 4, 120)
    assert shards(tmp_path) == [f"{table}/{part}/part-compact-{name}-00000.parquet"
                                for table, part, name in _merged(tmp_path)]
    assert answers(tmp_path) == before and len(before["pages"]) == 60 and len(before["glob"]) == 60
    body = json.loads((tmp_path / "_dataset.json").read_text())
    assert len(body["shards"]) == 4 and all(len(s["units"]) == 30 and s["rows"] == 30 for s in body["shards"])
    fs = fsspec.filesystem("file")
    for unit in units:  # a resumed run finds every unit done: nothing is read again or written twice
        done = read_done_unit(fs, str(tmp_path), unit)
        assert done is not None and done.rows == 2 and len(done.shards) == 4
    assert compaction.compact(str(tmp_path)).groups == 0  # nothing small left to merge


def _merged(root: Path) -> list[tuple[str, str, str]]:
    journals = [json.loads(p.read_text()) for p in (root / "_compactions").glob("*.json")]
    merged = [j["shard"]["path"].split("/") for j in journals]
    return sorted((parts[0], "/".join(parts[1:-1]), parts[-1].removeprefix("part-compact-").split("-")[0])
                  for parts in merged)


def test_shards_of_different_schema_versions_are_not_merged_together(tmp_path):
    small_units(tmp_path, 3, "old")
    for unit in ("old0000", "old0001", "old0002"):
        as_schema_version(tmp_path, unit, 5)
    small_units(tmp_path, 3, "new")
    before = answers(tmp_path)
    assert compaction.compact(str(tmp_path)).shards_after == 8
    assert answers(tmp_path)["pages"] == before["pages"]
    versions = json.loads((tmp_path / "_dataset.json").read_text())["schema_versions"]
    assert versions == {"5": 4, "7": 4}


def test_units_larger_than_half_a_shard_are_left_alone(tmp_path):
    small_units(tmp_path, 4)
    limits = OutputOptions(shard_max_rows=2)  # every one-row shard is half of it: not small
    assert compaction.compact(str(tmp_path), limits).groups == 0
    limits = OutputOptions(shard_max_rows=3)  # per partition: three merged into one, the fourth left on its own
    result = compaction.compact(str(tmp_path), limits)
    assert (result.shards_after, result.groups, result.rows) == (8, 4, 12)


@pytest.mark.parametrize("killed_after", ["the merged shard", "the journal", "one marker"])
def test_a_compaction_killed_at_any_step_is_seen_whole_and_finished_by_the_next(tmp_path, monkeypatch, killed_after):
    small_units(tmp_path, 6)
    before = answers(tmp_path)
    steps = {"the merged shard": (LocalFileSystem, "mv"),
             "the journal": (compaction, "write_text"), "one marker": (compaction, "write_text")}
    owner, name = steps[killed_after]
    original = getattr(owner, name)
    calls = {"n": 0}
    kill_at = {"the merged shard": 1, "the journal": 1, "one marker": 2}[killed_after]

    class Killed(BaseException):
        pass

    def dying(*args, **kwargs):
        result = original(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == kill_at:
            raise Killed
        return result

    monkeypatch.setattr(owner, name, dying)
    with pytest.raises(Killed):
        compaction.compact(str(tmp_path))
    monkeypatch.undo()
    during = answers(tmp_path)
    assert during["pages"] == before["pages"] and during["pairs"] == before["pairs"]  # every row once, even now
    assert during["arrow"] == before["arrow"]
    fs = fsspec.filesystem("file")
    assert all(read_done_unit(fs, str(tmp_path), f"u{n:04d}") for n in range(6))
    compaction.compact(str(tmp_path))
    after = answers(tmp_path)
    assert after["pages"] == before["pages"] and after["glob"] == sorted(p[0] for p in before["pages"])
    assert len(shards(tmp_path)) == 4 and not list(tmp_path.rglob("*.tmp"))


def test_lontar_compact_killed_with_sigkill_again_and_again_loses_and_doubles_nothing(tmp_path, prefect_home):
    small_units(tmp_path, 150)
    expected = answers(tmp_path)["pages"]
    half_done = 0
    for delay in (0.0, 1.0, 2.0, 3.0, 5.0, 8.0):  # after the merging began; later ones only on a slow machine
        sigkill_when(["compact", str(tmp_path)], tmp_path, ".part-compact-*", delay)
        names = [p.name for p in tmp_path.rglob("*.parquet")]
        half_done += any(n.startswith("part-compact-") for n in names) and any(n.startswith("part-u") for n in names)
        assert answers(tmp_path)["pages"] == expected
        if half_done and delay >= 2.0:
            break
    assert half_done, "no kill fell between a merged shard and the removal of the shards it replaces"
    result = run_cli("compact", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("before;")[1].startswith(" 4 shards")
    assert answers(tmp_path)["pages"] == expected and len(answers(tmp_path)["glob"]) == len(expected)


@pytest.mark.parametrize("command", ["compact", "migrate"])
def test_a_missing_dataset_is_a_usage_error_and_nothing_is_made(command, tmp_path, prefect_home):
    result = run_cli(command, str(tmp_path / "no-such-dataset"))
    assert result.returncode == 2 and "no dataset at" in result.stderr
    assert not (tmp_path / "no-such-dataset").exists()
