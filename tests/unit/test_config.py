"""The config model: defaults, YAML files, command-line overrides, and clear errors."""

from __future__ import annotations

import pytest

from configs.model import PRESET_DIR, RunConfig, load_config
from ocr_models.lontar_errors import UsageError


def test_the_shipped_preset_is_the_embedded_default():
    assert load_config(PRESET_DIR / "default.yaml") == RunConfig()


def test_overrides_win_over_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("langs: [tam]\ningest: {text_layer: prefer}\n")
    config = load_config(path, langs=["hin", "eng"], **{"ingest.text_layer": None})
    assert config.langs == ["hin", "eng"] and config.ingest.text_layer == "prefer"
    assert config.candidate_scripts() == ["Latn", "Deva"]
    assert config.hinted_languages("Deva") == ["hin"]


@pytest.mark.parametrize(("text", "message"), [
    ("langs: [klingon]", "unknown language"),
    ("ingest: {text_layer: sometimes}", "ingest.text_layer"),
    ("tesseract: {no_such_knob: 1}", "no_such_knob"),
    ("[1, 2", "not valid YAML"),
    ("- a list", "must hold a mapping"),
])
def test_bad_config_files_are_usage_errors(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_config(path)


def test_every_knob_is_documented():
    def walk(model):
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                yield from walk(annotation)
            elif name != "kind":
                yield name, field.description
    undocumented = [name for name, doc in walk(RunConfig) if not doc]
    assert undocumented == []


def test_the_config_hash_ignores_where_the_run_happens():
    assert RunConfig().config_hash() == RunConfig(ray={"address": "ray://elsewhere:10001"}).config_hash()
    assert RunConfig().config_hash() != RunConfig(langs=["hin"]).config_hash()


def test_a_queued_batch_keeps_only_what_was_set_and_runs_after_an_upgrade(tmp_path):
    from configs.model import config_from_stored, load_config, stored_config

    path = tmp_path / "lontar.yaml"
    path.write_text("layout: {kind: none}\noutput: {pages_per_unit: 4}\n")
    stored = stored_config(load_config(path, langs=["hin", "eng"]))
    assert stored == {"langs": ["hin", "eng"], "layout": {"kind": "none"}, "output": {"pages_per_unit": 4}}
    # an older Lontar stored every default, and options this one no longer has
    old = {**load_config(path).model_dump(mode="json", exclude={"queue", "batch_id"}),
           "retired_option": 1, "ocr": {"retired_knob": True}}
    config, dropped = config_from_stored(old, "b-1")
    assert sorted(dropped) == ["ocr.retired_knob", "retired_option"]
    assert config.batch_id == "b-1" and config.output.pages_per_unit == 4 and config.layout.kind == "none"
    with pytest.raises(UsageError, match=r"queued with is not valid for this Lontar.*output.pages_per_unit"):
        config_from_stored({"output": {"pages_per_unit": 0}}, "b-2")
