"""Near-duplicate pages: a page whose text nearly repeats an earlier page's (another scan, a reprint) points at
the earliest page of its cluster, within a unit and across runs; different pages do not; an aborted unit's
pages are never pointed at."""

from __future__ import annotations

import random

import fsspec

from actors.store.dataset_index import DatasetIndex
from actors.store.near_duplicates import NearDuplicates
from actors.store.records import batch_table
from actors.store.writer import ShardWriter
from configs.model import NearDuplicateOptions
from flows.dataset.views import dataset_index, read_table

OPTIONS = NearDuplicateOptions()
STAMP = {"run_id": "r1", "batch_id": "b1", "config_hash": "c1"}
WORDS = ["".join(random.Random(i).choices("abcdefghijklmnoprstuvwy", k=random.Random(-i).randint(2, 9)))
         for i in range(3000)]
BOOK = [" ".join(random.Random(seed).choices(WORDS, k=180)) + "." for seed in range(6)]  # six pages of one book


def misread(text: str, share: float, seed: int = 0) -> str:
    """The text as another scan's OCR reads it: `share` of its letters wrong."""
    rng = random.Random(seed)
    return "".join(rng.choice("abcdefghij") if char.isalpha() and rng.random() < share else char for char in text)


def page(page_id: str, text: str, status: str = "ok") -> dict:
    return {"page_id": page_id, "source_uri": f"/a/{page_id}.png", "source_sha256": page_id, "page_index": 0,
            "source_format": "png", "status": status, "text": text, "script": "Latn"}


def write(root, unit: str, rows: list[dict], index: DatasetIndex, commit: bool = True) -> None:
    writer = ShardWriter(fsspec.filesystem("file"), str(root), unit, STAMP, index=index)
    writer.write(batch_table(rows))
    writer.close() if commit else writer.abort()


def marks(root) -> dict[str, tuple]:
    rows = read_table(str(root), "pages", ["page_id", "near_duplicate_of", "near_duplicate_cluster"]).to_pylist()
    return {r["page_id"]: (r["near_duplicate_of"], r["near_duplicate_cluster"]) for r in rows}


def test_another_reading_of_a_page_matches_it_and_another_page_of_the_book_does_not():
    index = NearDuplicates(OPTIONS)
    index.add("p0", "p0", index.signature(BOOK[0]))
    assert index.match(index.signature(misread(BOOK[0], 0.03))) == "p0"
    assert index.match(index.signature(BOOK[0].upper().replace(".", " ."))) == "p0"  # case and punctuation
    assert all(index.match(index.signature(text)) is None for text in BOOK[1:])
    assert index.signature("Page 12") is None  # too short to compare


def test_a_second_copy_in_the_same_unit_points_at_the_first(tmp_path):
    write(tmp_path, "u1", [page("a", BOOK[0]), page("b", BOOK[1]), page("a2", misread(BOOK[0], 0.03)),
                           page("e", "", status="error")], DatasetIndex(NearDuplicates(OPTIONS)))
    assert marks(tmp_path) == {"a": (None, "a"), "b": (None, "b"), "a2": ("a", "a"), "e": (None, None)}


def test_copies_in_later_runs_point_at_the_earliest_page_and_an_aborted_unit_leaves_no_trace(tmp_path):
    write(tmp_path, "u1", [page("a", BOOK[0])], dataset_index(str(tmp_path), OPTIONS))
    write(tmp_path, "u2", [page("x", BOOK[2])], dataset_index(str(tmp_path), OPTIONS), commit=False)
    second_run = dataset_index(str(tmp_path), OPTIONS)  # what the next run loads from the dataset
    write(tmp_path, "u3", [page("a2", misread(BOOK[0], 0.03, seed=1)), page("x2", BOOK[2])], second_run)
    write(tmp_path, "u4", [page("a3", misread(BOOK[0], 0.03, seed=2))], second_run)  # same run, after u3 committed
    assert marks(tmp_path) == {"a": (None, "a"), "a2": ("a", "a"), "x2": (None, "x2"), "a3": ("a", "a")}


def test_asking_again_for_a_page_gives_the_same_answer():
    index = DatasetIndex(NearDuplicates(OPTIONS))
    first, copy = (index.near.signature(text) for text in (BOOK[0], misread(BOOK[0], 0.03)))
    assert index.mark("u1", [("a", first), ("a2", copy)], [])[0] == [None, "a"]
    # a write task Ray ran again after its worker died asks for the same pages: the same verdicts
    assert index.mark("u1", [("a", first), ("a2", copy)], [])[0] == [None, "a"]
    index.drop("u1")
    assert index.mark("u2", [("a2", copy)], [])[0] == [None]  # a dropped unit's pages are gone
