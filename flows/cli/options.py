"""Options several commands share, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from flows import environment


def config_option(help: str = "YAML config file (docs/configuration.md).") -> Callable[[Any], Any]:
    """`--config FILE`, passed to the command as `config_file`."""
    return click.option("--config", "config_file", type=click.Path(dir_okay=False), help=help)


DATASET_CONFIG = config_option("YAML config whose queue.dataset is the default dataset.")


def _turn_verbose_on(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        environment.configure_logging(verbose=True)


def verbose_everywhere(group: click.Group) -> None:
    """`-v` after every command's name (`lontar run DIR --out D -v`), as well as before it (`lontar -v run`)."""
    for command in group.commands.values():
        if not any("-v" in getattr(param, "opts", ()) for param in command.params):
            command.params.append(click.Option(
                ["-v", "--verbose"], is_flag=True, expose_value=False, is_eager=True, callback=_turn_verbose_on,
                help="Log debug detail (same as `lontar -v`)."))
        if isinstance(command, click.Group):
            verbose_everywhere(command)
