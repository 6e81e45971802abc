"""The `lontar` command line. The only place where errors become exit codes."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import click

from flows import environment

environment.apply()

from flows.cli import dataset_commands, queue_commands  # noqa: E402  (after the environment)
from flows.cli.exit_codes import errors_to_exit_codes, exit_on_sigterm  # noqa: E402
from flows.cli.options import config_option, verbose_everywhere  # noqa: E402


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
def main(verbose: bool) -> None:
    """Lontar: scanned archives in, Parquet training data out."""
    # SIGTERM (a scheduler, `kill`) exits like Ctrl-C: cleanup runs, so the local Ray cluster and Prefect's
    # embedded server stop with us instead of living on as orphans.
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    environment.configure_logging(verbose)
    from flows.queue.serve import served

    if not os.environ.get("PREFECT_API_URL") and (state := served()):
        os.environ["PREFECT_API_URL"] = state["api_url"]  # `lontar serve` runs here: its server, not an embedded one
        if "auth_string" in state:
            os.environ.setdefault("PREFECT_API_AUTH_STRING", state["auth_string"])


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "-o", required=True, help="Dataset folder or fsspec URL to write to.")
@click.option("--langs", help="Languages the archive may hold, e.g. hin,eng (default: detect any script).")
@config_option()
@click.option("--ray-address", help="Join this Ray cluster instead of starting a local one.")
@click.option("--text-layer", type=click.Choice(["auto", "prefer", "ignore"]),
              help="Use PDF text layers: auto (validated, visible), prefer (any), ignore (always OCR).")
@click.option("--batch-id", help="Batch id written into every row (default: derived from the inputs).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
def run(inputs: tuple[str, ...], out: str, langs: str | None, config_file: str | None,
        ray_address: str | None, text_layer: str | None, batch_id: str | None, progress: bool | None) -> None:
    """Digitize INPUT files, folders or globs (local or fsspec URLs) into the dataset at --out."""
    from configs.model import load_config
    from flows.run.progress import BarReporter, LogReporter, default_reporter

    with errors_to_exit_codes():
        config = load_config(config_file, langs=langs.split(",") if langs else None,
                             **{"ray.address": ray_address, "ingest.text_layer": text_layer,
                                "batch_id": batch_id})
        reporter = (default_reporter(config.progress_every) if progress is None
                    else BarReporter() if progress else LogReporter(config.progress_every))
        import psutil

        from flows.run.report import new_run_id, summary_lines
        from flows.run.startup import run_started

        run_id = new_run_id()
        launched_at = psutil.Process().create_time()
        result = None
        try:
            with run_started(config, run_id, verbose=logging.getLogger().level <= logging.DEBUG) as started:
                result = started.digitize(list(inputs), out, config, run_id=run_id, reporter=reporter,
                                          run_log=started.run_log, launched_at=launched_at)
        except BaseException as exc:
            if result is not None:  # what failed came after the run (Ray's stop, the log's move)
                exc.add_note(f"the run completed and its report is written: {result['report_path']}")
            raise
    for line in summary_lines(result):
        click.echo(line)


@main.command()
@click.argument("folder", type=click.Path(file_okay=False))
def sample(folder: str) -> None:
    """Write a small mixed sample archive (PDFs, TIFF, PNG, JPEG in seven scripts) into FOLDER."""
    from flows.synth.archive import write_sample_archive

    for path in write_sample_archive(Path(folder)):
        click.echo(path)


@main.command("eval-set")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--per-language", type=click.IntRange(1), default=2, show_default=True,
              help="Pages per language (16 languages; degradations rotate over the pages).")
@click.option("--langs", help="Only these languages, e.g. hin,tha (default: all 16).")
@click.option("--seed", type=int, default=0, show_default=True, help="Another seed gives other pages.")
def eval_set(folder: str, per_language: int, langs: str | None, seed: int) -> None:
    """Write the accuracy benchmark set into FOLDER: scans/ (16 languages, 15 scripts, degraded like real
    scans), truth/<lang>/ (one .txt per page, for `lontar eval`) and pages.json."""
    from flows.synth.eval_set import LANGUAGES, write_eval_set

    with errors_to_exit_codes():
        languages = tuple(langs.split(",")) if langs else LANGUAGES
        pages = write_eval_set(Path(folder), per_language, languages, seed)
    click.echo(f"{len(pages)} pages in {len({p.script for p in pages})} scripts: {folder}/scans, "
               f"truth in {folder}/truth")


@main.command()
@click.option("--table", type=click.Choice(["pages", "pairs"]), default="pages", show_default=True)
def schema(table: str) -> None:
    """Print a table's columns as Markdown (docs/schema.md is made from this)."""
    from actors.store.records import PAGE_COLUMNS, PAIR_COLUMNS, schema_markdown

    click.echo(schema_markdown(PAGE_COLUMNS if table == "pages" else PAIR_COLUMNS))


@main.command("config-docs")
def config_docs() -> None:
    """Print every configuration key with its default and description, as Markdown."""
    from configs.model import options_markdown

    click.echo(options_markdown())


main.add_command(dataset_commands.query)
main.add_command(dataset_commands.stats)
main.add_command(dataset_commands.export)
main.add_command(dataset_commands.compact)
main.add_command(dataset_commands.migrate)
main.add_command(dataset_commands.eval_command)
main.add_command(queue_commands.queue)
main.add_command(queue_commands.status)
main.add_command(queue_commands.report)
main.add_command(queue_commands.nightly)
main.add_command(queue_commands.serve)
verbose_everywhere(main)

if __name__ == "__main__":
    main()
