"""The generated reference pages agree with the code they describe."""

from __future__ import annotations

import re

import click

from actors.store.records import PAGE_COLUMNS, PAIR_COLUMNS, schema_markdown
from configs.model import options_markdown
from ocr_models import lontar_errors as errors
from tests.support.cli import REPO

DOCS = REPO / "docs"


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


COMMAND_LINE = re.compile(r"\blontar ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)(.*)")
OPTION = re.compile(r"(?<![\w.-])(--?[a-zA-Z][\w-]*)")


def documented_options() -> list[tuple[str, str, str]]:
    """(file, command, option) for every option a command line or a command's option table in the README and
    docs shows: `lontar run DIR --out D -v` in code, and the rows of the table after a command's example."""
    found = []
    for path in [DOCS.parent / "README.md", *sorted(DOCS.glob("*.md")), *sorted(DOCS.parent.glob("infra/**/*.md"))]:
        last_command = None
        for line in path.read_text().splitlines():
            if line.startswith("| `-") and last_command:
                found += [(path.name, last_command, opt) for opt in OPTION.findall(line.split("|")[1])]
                continue
            for match in COMMAND_LINE.finditer(line):
                words, rest = match.group(1), match.group(2)
                rest = re.split(r"`|\s#\s|\s\|", rest, maxsplit=1)[0]  # the end of the code span or a comment
                rest = re.sub(r"\"[^\"]*\"|'[^']*'", "", rest)  # quoted arguments are no options
                last_command = words
                found += [(path.name, words, opt) for opt in OPTION.findall(rest)]
    return found


def accepted(words: str) -> tuple[str, set[str]] | None:
    """The command a `lontar WORDS` line names and the options it takes; None when WORDS name no command."""
    from flows.cli.main import main

    command, names = main, []
    for word in words.split():
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        command = command.commands[word]
        names.append(word)
    if command is main:
        return None
    options = {"-h", "--help"}
    for param in command.params:
        options.update(getattr(param, "opts", ()), getattr(param, "secondary_opts", ()))
    return " ".join(names), options


def test_every_option_the_docs_show_is_one_the_command_takes():
    shown = documented_options()
    assert len(shown) > 50  # the docs show options: the parsing found them
    refused = []
    for file, words, option in shown:
        command = accepted(words)
        if command is not None and option not in command[1]:
            refused.append(f"{file}: lontar {command[0]} {option}")
    assert refused == []
