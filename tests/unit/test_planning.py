"""Planning: inputs found the same way every time, cut into units whose ids depend only on content."""

from __future__ import annotations

import pytest

from configs.model import RunConfig
from flows.run.planning import discover, plan, redact
from flows.synth.archive import scanned_pdf
from flows.synth.text import png_bytes, render_page
from ocr_models.lontar_errors import NoInputError


@pytest.fixture(scope="module")
def scans() -> tuple[bytes, bytes]:
    """A page as a PNG and three of it as a scanned PDF, drawn once for the module."""
    page = render_page("eng", seed=41)
    return png_bytes(page.image), scanned_pdf([page, page, page])


@pytest.fixture()
def archive(tmp_path, scans):
    png, pdf = scans
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "a.png").write_bytes(png)
    (tmp_path / "sub" / "b.pdf").write_bytes(pdf)
    (tmp_path / "sub" / "copy of a.png").write_bytes(png)
    (tmp_path / ".hidden" / "x.png").write_bytes(b"skip me")
    (tmp_path / "notes.txt").write_text("not a scan")
    return tmp_path


def test_folders_are_searched_recursively_and_hidden_files_skipped(archive):
    names = [p.rsplit("/", 1)[1] for p in discover([str(archive)])]
    assert names == ["a.png", "notes.txt", "b.pdf", "copy of a.png"]


def test_only_names_below_the_input_hide_a_file(archive, monkeypatch):
    hidden_parent = archive / ".cache" / "scans"
    hidden_parent.mkdir(parents=True)
    (hidden_parent / "c.png").write_bytes(b"a scan kept under a hidden folder")
    monkeypatch.chdir(archive / "sub")
    assert discover(["../sub"]) == [str(archive / "sub" / "b.pdf"), str(archive / "sub" / "copy of a.png")]
    assert [p.rsplit("/", 1)[1] for p in discover([str(hidden_parent)])] == ["c.png"]
    assert [p.rsplit("/", 1)[1] for p in discover(["../.cache/scans/*.png"])] == ["c.png"]
    assert [p.rsplit("/", 1)[1] for p in discover([str(archive / ".hidden" / "x.png")])] == ["x.png"]  # named


def test_globs_and_missing_inputs(archive):
    assert [p.rsplit("/", 1)[1] for p in discover([str(archive / "**" / "*.pdf")])] == ["b.pdf"]
    with pytest.raises(NoInputError, match="not found"):
        discover([str(archive / "nope")])


def test_units_are_deterministic_and_cover_every_page_once(archive):
    config = RunConfig.model_validate({"output": {"pages_per_unit": 2, "pages_per_task": 1}})
    first, second = plan([str(archive)], config), plan([str(archive)], config)
    assert [u.unit_id for u in first.units] == [u.unit_id for u in second.units]
    covered = [(t["source_uri"], p) for u in first.units for t in u.tasks
               for p in range(t["page_start"], max(t["page_stop"], t["page_start"] + 1))]
    assert len(covered) == len(set(covered)) == 1 + 3 + 1  # a.png, b.pdf's 3 pages, notes.txt's error row
    assert all(u.pages <= 2 for u in first.units)


def test_identical_files_are_read_once(archive):
    result = plan([str(archive)], RunConfig())
    copy = next(f for f in result.files if f.uri.endswith("copy of a.png"))
    assert copy.duplicate_of.endswith("/a.png")
    assert all(t["source_uri"] != copy.uri for u in result.units for t in u.tasks)


def test_a_config_change_changes_the_unit_ids(archive):
    a = plan([str(archive)], RunConfig())
    b = plan([str(archive)], RunConfig(langs=["eng"]))
    assert {u.unit_id for u in a.units}.isdisjoint({u.unit_id for u in b.units})


def test_credentials_never_leave_the_url():
    assert redact("s3://key:secret@bucket/scans") == "s3://bucket/scans"
    assert redact("/local/path with spaces.pdf") == "/local/path with spaces.pdf"


def test_text_layer_files_make_units_of_their_own_that_need_no_model_stages(archive):
    from flows.synth.archive import born_digital_pdf
    from flows.synth.text import SAMPLE_TEXT

    (archive / "sub" / "c.pdf").write_bytes(born_digital_pdf([SAMPLE_TEXT["eng"]] * 2))
    (archive / "sub" / "d.pdf").write_bytes(born_digital_pdf([SAMPLE_TEXT["eng"]]))
    result = plan([str(archive)], RunConfig())
    kinds = [(u.text_only, sorted({t["source_uri"].rsplit("/", 1)[1] for t in u.tasks})) for u in result.units]
    # in file order: a.png and notes.txt (an error joins any unit), b.pdf scanned, c and d with text layers
    assert kinds == [(False, ["a.png", "b.pdf", "notes.txt"]), (True, ["c.pdf", "d.pdf"])]
    ignored = plan([str(archive)], RunConfig(ingest={"text_layer": "ignore"}))
    assert [u.text_only for u in ignored.units] == [False]  # text layers ignored: every page is OCR'd


def test_each_read_task_carries_its_pages_text_layer_judgements(archive):
    from flows.synth.archive import born_digital_pdf
    from flows.synth.text import SAMPLE_TEXT

    (archive / "sub" / "long.pdf").write_bytes(born_digital_pdf([SAMPLE_TEXT["eng"]] * 11))
    result = plan([str(archive)], RunConfig(output={"pages_per_task": 8}))
    tasks = [t for u in result.units for t in u.tasks if t["source_uri"].endswith("long.pdf")]
    assert [(t["page_start"], t["text_layers"]) for t in tasks] == [(0, ["text_layer"] * 8), (8, ["text_layer"] * 3)]
    scanned = [t for u in result.units for t in u.tasks if t["source_uri"].endswith("b.pdf")]
    assert scanned and all(len(t["text_layers"]) <= 1 for t in scanned)  # judged up to its first scanned page


def test_text_layer_files_may_be_cut_into_larger_tasks_without_changing_other_configs_hash(archive):
    from flows.synth.archive import born_digital_pdf
    from flows.synth.text import SAMPLE_TEXT

    (archive / "sub" / "long.pdf").write_bytes(born_digital_pdf([SAMPLE_TEXT["eng"]] * 11))
    config = RunConfig(output={"pages_per_task": 2, "text_pages_per_task": 32})
    tasks: dict[str, list[int]] = {}
    for unit in plan([str(archive)], config).units:
        for t in unit.tasks:
            tasks.setdefault(t["source_uri"].rsplit("/", 1)[1], []).append(t["page_stop"] - t["page_start"])
    assert tasks["long.pdf"] == [11] and max(tasks["b.pdf"]) <= 2  # scans keep their small tasks
    assert RunConfig(output={"text_pages_per_task": None}).config_hash() == RunConfig().config_hash()


def test_a_long_pdf_is_judged_in_ranges_whose_answers_join_up_to_its_first_page_to_read():
    from actors.cluster.inspection import PAGES_PER_JUDGEMENT, joined, ranges

    assert ranges(2 * PAGES_PER_JUDGEMENT + 1)[-1] == (2 * PAGES_PER_JUDGEMENT, 2 * PAGES_PER_JUDGEMENT + 1)
    assert sum(stop - start for start, stop in ranges(150)) == 150 and ranges(0) == []
    layer = ["text_layer"] * PAGES_PER_JUDGEMENT
    assert joined([layer, layer[:3]]) == layer + layer[:3]  # every page from its layer
    assert joined([[*layer[:5], "no_text_layer"], layer, ["legacy_font"]]) == [*layer[:5], "no_text_layer"]
