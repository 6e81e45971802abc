"""Options several commands share, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def config_option(help: str = "YAML config file (docs/configuration.md).") -> Callable[[Any], Any]:
    """`--config FILE`, passed to the command as `config_file`."""
    return click.option("--config", "config_file", type=click.Path(dir_okay=False), help=help)


DATASET_CONFIG = config_option("YAML config whose queue.dataset is the default dataset.")
