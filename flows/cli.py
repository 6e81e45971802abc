"""The `lontar` command line. The only place where errors become exit codes."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from flows import _env

_env.apply()

from ocr_models.errors import (  # noqa: E402  (the environment must be set before these import Ray/Prefect)
    LontarError,
    MissingDependencyError,
    NoInputError,
    OutputError,
    UsageError,
)

EXIT_CODES: dict[type[LontarError], int] = {
    UsageError: 2,
    MissingDependencyError: 3,
    OutputError: 4,
    NoInputError: 5,
}
EXIT_INTERNAL = 1


def exit_code(exc: LontarError) -> int:
    for kind, code in EXIT_CODES.items():
        if isinstance(exc, kind):
            return code
    return EXIT_INTERNAL


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
def main(verbose: bool) -> None:
    """Lontar: scanned archives in, Parquet training data out."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    for noisy in ("ray", "prefect", "httpx", "fsspec", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "-o", required=True, help="Dataset folder or fsspec URL to write to.")
@click.option("--langs", help="Languages the archive may hold, e.g. hin,eng (default: detect any script).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--ray-address", help="Join this Ray cluster instead of starting a local one.")
@click.option("--text-layer", type=click.Choice(["auto", "prefer", "ignore"]),
              help="Use PDF text layers: auto (validated, visible), prefer (any), ignore (always OCR).")
@click.option("--batch-id", help="Batch id written into every row (default: derived from the inputs).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
def run(inputs: tuple[str, ...], out: str, langs: str | None, config_file: str | None,
        ray_address: str | None, text_layer: str | None, batch_id: str | None, progress: bool | None) -> None:
    """Digitize INPUT files, folders or globs (local or fsspec URLs) into the dataset at --out."""
    from configs.model import load_config
    from flows.progress import BarReporter, LogReporter, default_reporter

    try:
        config = load_config(config_file, langs=langs.split(",") if langs else None,
                             **{"ray.address": ray_address, "ingest.text_layer": text_layer,
                                "batch_id": batch_id})
        reporter = (default_reporter(config.progress_every) if progress is None
                    else BarReporter() if progress else LogReporter(config.progress_every))
        from flows.digitize import digitize
        from flows.report import summary_lines

        result = digitize(list(inputs), out, config, reporter=reporter)
    except LontarError as exc:
        click.echo(f"lontar: error: {exc}", err=True)
        sys.exit(exit_code(exc))
    for line in summary_lines(result):
        click.echo(line)


@main.command()
@click.argument("folder", type=click.Path(file_okay=False))
def sample(folder: str) -> None:
    """Write a small mixed sample archive (PDFs, TIFF, PNG, JPEG in seven scripts) into FOLDER."""
    from flows.sample_archive import write_sample_archive

    for path in write_sample_archive(Path(folder)):
        click.echo(path)


@main.command()
def schema() -> None:
    """Print the page table's columns as Markdown (docs/schema.md is made from this)."""
    from actors.records import schema_markdown

    click.echo(schema_markdown())


if __name__ == "__main__":
    main()
