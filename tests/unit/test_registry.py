"""The model registry: one entry per options model, for every role; the config's choices, the stages' models and
preflight's checks all come from it."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from configs.model import RunConfig, load_config
from ocr_models import base, registry
from ocr_models.lontar_errors import UsageError
from ocr_models.registry import ENTRIES

CONTRACTS = {"ocr": base.OcrEngine, "route": base.CropRecognizer, "layout": base.LayoutDetector,
             "captioner": base.Captioner, "script_id": base.ScriptIdentifying}


def members(protocol: type) -> set[str]:
    return {name for klass in protocol.__mro__ if klass not in (object,) and getattr(klass, "_is_protocol", False)
            for name in vars(klass) if not name.startswith("_")}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.options.__name__)
def test_every_entry_builds_what_its_role_promises_and_says_whether_it_wants_a_gpu(entry):
    assert issubclass(entry.options, BaseModel) and entry.options.model_config.get("extra") == "forbid"
    if entry.engine is None:  # layout `none`, a route to Tesseract: nothing to build
        assert entry.check is None and not entry.uses_gpu
        return
    missing = members(CONTRACTS[entry.role]) - set(dir(entry.engine))
    assert not missing, f"{entry.engine.__name__} lacks {missing}"
    assert isinstance(entry.engine.uses_gpu, bool) if hasattr(entry.engine, "uses_gpu") else entry.role == "ocr"


def test_the_configs_choices_are_the_registrys():
    config = RunConfig()
    assert type(config.layout) is registry.RapidLayoutOptions and config.caption is None
    for layout_options in [e.options for e in ENTRIES if e.role == "layout"]:
        kind = layout_options.model_fields["kind"].default
        extra = {"model": "/models/layout"} if "model" in layout_options.model_fields else {}
        assert type(load_config(None, layout={"kind": kind, **extra}).layout) is layout_options
    engines = {e.options.model_fields["engine"].default for e in ENTRIES if e.role == "route"}
    assert engines == {"tesseract", "transformers"}
    with pytest.raises(UsageError, match="layout"):
        load_config(None, layout={"kind": "no-such-detector"})
    assert type(config.ocr.script_id) is registry.ScriptIdOptions
    assert registry.builds_nothing(load_config(None, ocr={"script_id": {"kind": "none"}}).ocr.script_id)


def test_options_no_entry_knows_are_refused_by_name():
    class Unknown(BaseModel):
        pass

    with pytest.raises(TypeError, match="no model is registered for Unknown"):
        registry.make(Unknown())
    with pytest.raises(TypeError, match="builds no model"):
        registry.make(load_config(None, layout={"kind": "none"}).layout)
    assert registry.builds_nothing(load_config(None, layout={"kind": "none"}).layout)
    assert not registry.builds_nothing(RunConfig().layout)


def test_the_ocr_engine_is_built_from_its_options_and_reads_single_lines():
    engine = registry.make(RunConfig().tesseract)
    try:
        assert isinstance(engine, base.OcrEngine) and isinstance(engine, base.LineReader)
        assert engine.name == "tesseract" and not registry.uses_gpu(RunConfig().tesseract)
    finally:
        engine.close()
