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
