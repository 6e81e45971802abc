"""The generated reference pages agree with the code they describe."""

from __future__ import annotations

from pathlib import Path

from actors.records import PAGE_COLUMNS, PAIR_COLUMNS, schema_markdown
from configs.model import options_markdown
from ocr_models import lontar_errors as errors

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_schema_doc_is_generated_from_the_schemas():
    text = (DOCS / "schema.md").read_text()
    assert schema_markdown(PAGE_COLUMNS) in text, "regenerate with: lontar schema"
    assert schema_markdown(PAIR_COLUMNS) in text, "regenerate with: lontar schema --table pairs"


def test_configuration_doc_is_generated_from_the_config_model():
    assert options_markdown() in (DOCS / "configuration.md").read_text(), "regenerate with: lontar config-docs"


def test_every_error_kind_is_explained():
    kinds = {cls.kind for cls in vars(errors).values()
             if isinstance(cls, type) and issubclass(cls, errors.LontarError)}
    text = (DOCS / "errors.md").read_text()
    assert [kind for kind in sorted(kinds) if f"`{kind}`" not in text] == []
