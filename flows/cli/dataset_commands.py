"""`lontar query`, `lontar stats` and `lontar export`: the dataset for data engineers."""

from __future__ import annotations

import base64
import json
import shutil
import sys
from contextlib import nullcontext
from typing import IO, Any

import click

from flows.cli.exit_codes import errors_to_exit_codes
from flows.cli.options import DATASET_CONFIG

FORMATS = ("table", "csv", "json", "parquet")


def _dataset_option(function: Any) -> Any:
    function = DATASET_CONFIG(function)
    return click.option("--dataset", "-d", help="Dataset folder or fsspec URL (default: queue.dataset, "
                                                "./lontar-dataset).")(function)


def _resolve(dataset: str | None, config_file: str | None) -> str:
    from configs.model import load_config

    return dataset or load_config(config_file).queue.dataset


@click.command()
@click.argument("sql")
@_dataset_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table (for people), csv, json (one object per line), parquet (needs --output).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--max-rows", type=int, default=40, show_default=True, help="Rows shown by --format table.")
@click.option("--since", metavar="RUN_ID|TIME", help="Only what was committed after this run of the dataset "
                                                     "(or ISO 8601 time): the rows later runs added.")
def query(sql: str, dataset: str | None, config_file: str | None, fmt: str, output: str | None,
          max_rows: int, since: str | None) -> None:
    """Run SQL (DuckDB) over the dataset's views: pages, pairs and runs.

    \b
    lontar query "SELECT script, count(*) FROM pages GROUP BY 1"
    lontar query "SELECT image, text FROM pairs WHERE kind = 'line' AND script = 'Orya'" \\
        --format parquet -o odia-lines.parquet
    lontar query "SELECT page_id, text FROM pages" --since 20261206T021500Z-3f2a9c --format json
    """
    import duckdb

    from flows.dataset.views import connect
    from ocr_models.lontar_errors import UsageError

    with errors_to_exit_codes():
        if fmt == "parquet" and not output:
            raise UsageError("--format parquet writes a file: give it with --output")
        if fmt == "table" and output:
            raise UsageError("--format table is for the terminal; write files as csv, json or parquet")
        con = connect(_resolve(dataset, config_file), since=since)
        try:
            result = con.sql(sql)
        except duckdb.Error as exc:
            raise UsageError(f"query failed: {exc}") from exc
        if result is None:
            raise UsageError("the query returned no table (use SELECT)")
        if fmt == "table":
            result.show(max_rows=max_rows, max_width=shutil.get_terminal_size().columns, max_col_width=48)
            return
        reader = result.to_arrow_reader(1024)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            with pq.ParquetWriter(output, reader.schema, compression="zstd") as writer:
                for batch in reader:
                    writer.write_batch(batch)
            return
        with open(output, "w", encoding="utf-8", newline="") if output else nullcontext(sys.stdout) as handle:
            _write_rows(reader, fmt, handle)


@click.command("eval")
@click.argument("dataset")
@click.option("--truth", required=True, type=click.Path(file_okay=False),
              help="Folder of ground truth: one UTF-8 <source stem>.txt per page (<stem>.<page>.txt from page 2).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write the report, with every page's scores, to this JSON file.")
def eval_command(dataset: str, truth: str, json_path: str | None) -> None:
    """Score DATASET's text against ground truth: CER, WER, order-free word error and script detection, per
    script and per language (docs/accuracy.md).

    \b
    lontar eval-set bench && lontar run bench/scans --out bench-out
    lontar eval bench-out --truth bench/truth --json eval.json
    """
    from pathlib import Path

    from flows.dataset.evaluate import evaluate, report_lines, write_json

    with errors_to_exit_codes():
        report = evaluate(dataset, Path(truth))
        for line in report_lines(report):
            click.echo(line)
        if json_path:
            write_json(report, json_path)


def _plain(value: Any) -> Any:
    """A cell as JSON can carry it: bytes as base64, timestamps as ISO text."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _write_rows(reader: Any, fmt: str, handle: IO[str]) -> None:
    """csv (nested cells as JSON) or JSON lines; bytes as base64."""
    import csv

    names = reader.schema.names
    writer = csv.writer(handle) if fmt == "csv" else None
    if writer:
        writer.writerow(names)
    for batch in reader:
        for row in batch.to_pylist():
            cells = {k: _plain(v) for k, v in row.items()}
            if writer:
                writer.writerow(json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                                for v in cells.values())
            else:
                handle.write(json.dumps(cells, ensure_ascii=False) + "\n")


@click.command()
@click.argument("dataset", required=False)
@DATASET_CONFIG
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@click.option("--plots", type=click.Path(file_okay=False), help="Also write the card's charts (PNG) into this folder.")
def stats(dataset: str | None, config_file: str | None, as_json: bool, plots: str | None) -> None:
    """The dataset card's numbers: rows by status, script, language and kind, OCR confidence, quality,
    sources, models (DATASET default: queue.dataset)."""
    from pathlib import Path

    from flows.dataset import card, charts
    from flows.dataset.manifest import check_readable_version, manifest
    from flows.dataset.snapshot import snapshot
    from flows.dataset.views import connect

    with errors_to_exit_codes():
        dataset = _resolve(dataset, config_file)
        check_readable_version(dataset)
        committed = snapshot(dataset)
        con = connect(dataset, committed=committed)
        nums = card.numbers(con)
        body = manifest(committed.units)
        if plots:
            Path(plots).mkdir(parents=True, exist_ok=True)
            for name, png in charts.draw(con).items():
                (Path(plots) / f"{name}.png").write_bytes(png)
    if as_json:
        body.pop("shards")
        click.echo(json.dumps({"manifest": body, **nums}, indent=1, ensure_ascii=False))
    else:
        for line in card.terminal_lines(nums, body):
            click.echo(line)


def _rewritable(dataset: str | None, config_file: str | None, action: str) -> tuple[Any, str]:
    """The config and the dataset (default: queue.dataset) a command that rewrites shards works on, checked to be
    of versions it can `action`."""
    from configs.model import load_config
    from flows.dataset.snapshot import check_version, require_dataset

    config = load_config(config_file)
    dataset = dataset or config.queue.dataset
    require_dataset(dataset)
    check_version(dataset, action)
    return config, dataset


def _progress(verb: str, what: str, every: int) -> Any:
    def progress(done: int, total: int) -> None:
        if done == total or done % every == 0:
            click.echo(f"{verb} {done} of {total} {what}", err=True)

    return progress


@click.command()
@click.argument("dataset", required=False)
@DATASET_CONFIG
def compact(dataset: str | None, config_file: str | None) -> None:
    """Merge each partition's small shards into shards near output.shard_max_mb (DATASET default:
    queue.dataset). Rows, ids and every reader's answers stay the same; a compaction that is stopped is
    finished by the next one. Safe while runs write other units."""
    from flows.dataset.compaction import compact as compact_dataset

    with errors_to_exit_codes():
        config, dataset = _rewritable(dataset, config_file, "compact")
        result = compact_dataset(dataset, config.output, _progress("merged", "group(s) of small shards", 50))
    if result.finished:
        click.echo(f"finished {result.finished} compaction(s) an earlier one left half done", err=True)
    click.echo(f"{dataset}: {result.shards_before} shards, {result.bytes_before / 1e6:.1f} MB before; "
               f"{result.shards_after} shards, {result.bytes_after / 1e6:.1f} MB after "
               f"({result.groups} group(s) merged, {result.rows} rows moved)")


@click.command()
@click.argument("dataset", required=False)
@DATASET_CONFIG
@click.option("--dry-run", is_flag=True, help="Say what would be migrated and how each new column is filled.")
def migrate(dataset: str | None, config_file: str | None, dry_run: bool) -> None:
    """Bring a dataset's shards of older schema versions (4 and later) to this version without reading a page
    again (DATASET default: queue.dataset): the new columns are filled where the rows determine them and
    the rest stay null (it says which and why). A migration that is stopped is resumed by the next."""
    import time

    from flows.dataset.migration import columns_report, older_units
    from flows.dataset.migration import migrate as migrate_dataset
    from flows.dataset.snapshot import snapshot

    with errors_to_exit_codes():
        config, dataset = _rewritable(dataset, config_file, "migrate")
        units = older_units(snapshot(dataset).units)
        click.echo(f"{dataset}: {len(units)} unit(s) of an older version, "
                   f"{sum(unit.rows for unit in units)} page(s)")
        for column, filled, why in columns_report():
            click.echo(f"  {column}: {filled}: {why}")
        if dry_run or not units:
            return
        start = time.perf_counter()
        result = migrate_dataset(dataset, config.output, config.near_duplicates,
                                 _progress("migrated", "shard(s)", 100))
        seconds = time.perf_counter() - start
    click.echo(f"migrated {result.shards} shard(s) of {result.units} unit(s): {result.pages} page(s) and "
               f"{result.pairs} pair(s) in {seconds:.1f} s ({result.pages / max(seconds, 1e-9):.1f} pages/s)")


@click.command()
@_dataset_option
@click.option("--format", "fmt", type=click.Choice(["webdataset", "pdf", "alto", "hocr"]), default="webdataset",
              show_default=True, help="webdataset: the pairs as tar shards; pdf: a searchable PDF per source file; "
                                      "alto / hocr: per page its image and ALTO v4 XML or hOCR.")
@click.option("--out", "-o", required=True, help="Empty folder (or fsspec URL) for the export.")
@click.option("--where", help="SQL condition on the pairs view (webdataset), e.g. \"kind = 'line' AND "
                              "ocr_confidence > 0.9\", or on the pages view (pdf, alto, hocr), e.g. "
                              "\"batch_id = 'b-1'\".")
@click.option("--shard-mb", type=click.IntRange(1), default=256, show_default=True, help="Largest tar, MiB.")
@click.option("--shard-samples", type=click.IntRange(1), default=10_000, show_default=True,
              help="Most samples in one tar.")
def export(dataset: str | None, config_file: str | None, fmt: str, out: str, where: str | None, shard_mb: int,
           shard_samples: int) -> None:
    """Export pairs to WebDataset tar shards (image, .txt, .json per sample; repeated images once), or pages as
    searchable PDFs, ALTO or hOCR for an archive's repository."""
    from flows.dataset.export import export_webdataset

    if fmt != "webdataset":
        _export_pages(_resolve(dataset, config_file), out, fmt, where)
        return
    with errors_to_exit_codes():
        result = export_webdataset(_resolve(dataset, config_file), out, where=where, shard_max_mb=shard_mb,
                                   shard_max_samples=shard_samples)
    for shard in result.shards:
        click.echo(f"{out.rstrip('/')}/{shard}")
    click.echo(f"exported {result.samples} pair(s) into {len(result.shards)} shard(s), {result.bytes} bytes",
               err=True)


def _export_pages(dataset: str, out: str, fmt: str, where: str | None) -> None:
    from flows.dataset.manifest import lontar_version
    from flows.dataset.page_export import export_pages

    with errors_to_exit_codes():
        result = export_pages(dataset, out, fmt, where=where, software_version=lontar_version())
    for name in result.files:
        click.echo(f"{out.rstrip('/')}/{name}")
    copied = f", {result.originals} born-digital page(s) copied from their PDFs" if result.originals else ""
    left = f"; {len(result.left_out)} page(s) with errors left out (see _export.json)" if result.left_out else ""
    click.echo(f"exported {result.pages} page(s) into {len(result.files)} {fmt} file(s){copied}{left}", err=True)
