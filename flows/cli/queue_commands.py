"""The archivist's commands: `lontar queue add|list|cancel|retry`, `lontar status`, `lontar nightly --now`,
`lontar serve`."""

from __future__ import annotations

import os

import click

from flows.cli.exit_codes import errors_to_exit_codes
from flows.cli.options import config_option
from flows.queue.batches import PRIORITIES

CONFIG = config_option()
RAY_ADDRESS = click.option("--ray-address", help="Ray cluster every batch joins (default: RAY_ADDRESS, else a local "
                                                  "cluster per batch).")
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def absolute(location: str) -> str:
    """Local paths made absolute (the nightly run works elsewhere); URLs kept as they are."""
    return location if "://" in location else os.path.abspath(location)


@click.group()
def queue() -> None:
    """The batch queue, kept in Prefect; the nightly run processes it (see `lontar serve`)."""


@queue.command("add")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--name", required=True, help="What the archivist calls this batch.")
@click.option("--priority", type=click.Choice(PRIORITIES), default="normal", show_default=True)
@click.option("--langs", help="Languages the batch may hold, e.g. hin,eng (default: detect any script).")
@click.option("--out", help="Dataset to write the batch into (default: queue.dataset); its rows carry the batch id.")
@CONFIG
def add(inputs: tuple[str, ...], name: str, priority: str, langs: str | None, out: str | None,
        config_file: str | None) -> None:
    """Queue INPUT files, folders or globs as one batch; prints the batch id."""
    from configs.model import load_config, stored_config
    from flows.dataset.manifest import check_writable_version
    from flows.queue.batches import add_batch
    from flows.queue.deployments import batch_deployment
    from flows.queue.schedule import check_options, next_nightly
    from flows.queue.status import when
    from flows.run.planning import discover
    from flows.run.prefect_api import prefect_client
    from flows.run.preflight import check_output

    with errors_to_exit_codes():
        config = load_config(config_file, langs=langs.split(",") if langs else None)
        check_options(config.queue)
        paths = [absolute(i) for i in inputs]
        files = discover(paths)  # a batch that names nothing is refused now, not at night
        dataset = absolute(out or config.queue.dataset)
        check_output(dataset)
        check_writable_version(dataset)
        with prefect_client() as client:
            deployment = batch_deployment(client, config.queue)  # created on a server's first batch
            batch = add_batch(client, config.queue, deployment, name=name, inputs=paths, priority=priority,
                              dataset=dataset, config=stored_config(config))
    click.echo(batch.batch_id)
    click.echo(f"queued {name!r}: {len(files)} file(s), {priority} priority, for the nightly run at "
               f"{when(next_nightly(config.queue))} (or `lontar nightly --now`); output {batch.out}", err=True)


@queue.command("list")
@JSON
def list_(as_json: bool) -> None:
    """Every batch, newest first: priority, state, pages ok/error/total, when submitted and finished."""
    from flows.queue.batches import list_batches
    from flows.queue.status import batch_table, json_text, page_counts
    from flows.run.prefect_api import prefect_client

    with errors_to_exit_codes(), prefect_client() as client:
        batches = list_batches(client)
    if as_json:
        click.echo(json_text([{**b.__dict__, "pages": page_counts(b.out, b.batch_id)} for b in batches]))
        return
    for line in batch_table(batches) if batches else ["the queue is empty (`lontar queue add` queues a batch)"]:
        click.echo(line)


@queue.command()
@click.argument("batch")
def cancel(batch: str) -> None:
    """Cancel BATCH: a queued batch never runs; a running one is stopped (its finished units are kept)."""
    from flows.queue.batches import cancel_batch
    from flows.run.prefect_api import prefect_client

    with errors_to_exit_codes(), prefect_client() as client:
        cancelled = cancel_batch(client, batch)
    click.echo(f"{cancelled.batch_id}: {cancelled.state_name}")


@queue.command()
@click.argument("batch")
@CONFIG
def retry(batch: str, config_file: str | None) -> None:
    """Queue an ended BATCH again; only its unfinished work is redone."""
    from configs.model import load_config
    from flows.queue.batches import retry_batch
    from flows.run.prefect_api import prefect_client

    with errors_to_exit_codes():
        config = load_config(config_file)
        with prefect_client() as client:
            queued = retry_batch(client, config.queue, batch)
    click.echo(f"{queued.batch_id}: {queued.state_name} ({queued.priority} priority)")


@click.command()
@click.argument("batch")
@click.option("--dataset", "-d", help="Read BATCH from this dataset (a batch of `lontar run --out D`) instead of "
                                      "asking the queue.")
@config_option("YAML config whose queue.dataset is looked in when the queue does not know BATCH.")
@click.option("--pages", "all_pages", is_flag=True, help="List every page, not only the failed ones.")
@JSON
def status(batch: str, dataset: str | None, config_file: str | None, all_pages: bool, as_json: bool) -> None:
    """What happened to BATCH: its state, every file's outcome, and every failed page with its reason. A batch
    of the queue, or any batch of a dataset (`--dataset`; `lontar run` prints its batch id)."""
    from configs.model import load_config
    from flows.queue.batches import find_batch
    from flows.queue.status import batch_detail, dataset_batch_detail, detail_lines, json_text
    from flows.run.prefect_api import prefect_client
    from ocr_models.lontar_errors import UsageError

    with errors_to_exit_codes():
        if dataset is not None:
            detail = dataset_batch_detail(dataset, batch, all_pages)
        else:
            try:
                with prefect_client() as client:
                    detail = batch_detail(find_batch(client, batch), all_pages=all_pages)
            except UsageError:  # not in the queue: a batch of `lontar run` into the default dataset?
                detail = dataset_batch_detail(load_config(config_file).queue.dataset, batch, all_pages)
    click.echo(json_text(detail) if as_json else "\n".join(detail_lines(detail)))


@click.command()
@click.argument("batch")
@click.option("--dataset", "-d", help="Dataset folder or fsspec URL (default: queue.dataset).")
@config_option("YAML config whose queue.dataset is the default dataset.")
@click.option("--html", "html_path", required=True, help="The HTML file to write (one file, images inside).")
def report(batch: str, dataset: str | None, config_file: str | None, html_path: str) -> None:
    """Write BATCH's review page: every file's outcome, counts, a confidence chart, and a thumbnail of every page
    that needs a look (errors, script unknown, text layer not used, lowest OCR confidence) with why and its
    text. Each run also writes it beside its report."""
    import fsspec

    from actors.store.writer import write_text
    from configs.model import load_config
    from flows.dataset.review import review_html

    with errors_to_exit_codes():
        page = review_html(dataset or load_config(config_file).queue.dataset, batch)
        fs, path = fsspec.core.url_to_fs(html_path)
        write_text(fs, path, page)
    click.echo(html_path)


@click.command()
@click.option("--now", is_flag=True, help="Process the queue now, in the foreground.")
@RAY_ADDRESS
@CONFIG
def nightly(now: bool, ray_address: str | None, config_file: str | None) -> None:
    """Process the queued batches now (`--now`), as the nightly schedule would."""
    from configs.model import load_config
    from flows.queue.deployments import ensure_queue
    from flows.queue.schedule import next_nightly
    from flows.queue.status import when
    from flows.run.prefect_api import prefect_client

    with errors_to_exit_codes():
        config = load_config(config_file)
        use_cluster(ray_address)
        if not now:
            click.echo(f"the nightly run comes at {when(next_nightly(config.queue))} under `lontar serve`; "
                       "`lontar nightly --now` processes the queue now")
            return
        with prefect_client() as client:
            ensure_queue(client, config.queue)
        from flows import environment
        from flows.queue.nightly import nightly as nightly_flow

        environment.quiet_libraries(False)  # Prefect set its own levels on import

        result = nightly_flow(batches_at_once=config.queue.batches_at_once, lease_s=config.queue.lease_s)
    if result["busy"]:
        click.echo("another nightly run is processing the queue: it takes these batches too")
    for batch_id in result["requeued"]:
        click.echo(f"{batch_id}: queued again (the run processing it had died)")
    for batch in result["batches"]:
        click.echo(f"{batch['batch_id']} ({batch['name']}, {batch['priority']}): {batch['state']}"
                   + (f" - {batch['message']}" if batch["message"] else ""))
    if not result["busy"] and not result["batches"]:
        click.echo("the queue is empty")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the Prefect server listens on.")
@click.option("--port", default=4200, show_default=True, help="Port of the Prefect server (API and UI).")
@click.option("--cron", help="When the nightly run fires (default: queue.nightly_cron, 0 2 * * *).")
@click.option("--timezone", help="IANA time zone of the schedule (default: this machine's).")
@RAY_ADDRESS
@CONFIG
def serve(host: str, port: int, cron: str | None, timezone: str | None, ray_address: str | None,
          config_file: str | None) -> None:
    """Run the Prefect server (or use PREFECT_API_URL's), the work pool, a worker and the nightly schedule."""
    from configs.model import load_config
    from flows.queue.schedule import check_options
    from flows.queue.serve import serve as serve_forever

    with errors_to_exit_codes():
        config = load_config(config_file, **{"queue.nightly_cron": cron, "queue.timezone": timezone})
        check_options(config.queue)
        use_cluster(ray_address)
        try:
            serve_forever(config.queue, host, port, on_ready=click.echo)
        except KeyboardInterrupt:
            click.echo("stopped")


def use_cluster(address: str | None) -> None:
    """Every batch process started from here joins the Ray cluster at `address` (checked to answer now)."""
    if address:
        from actors.cluster.lifecycle import check_reachable

        check_reachable(address)
        os.environ["RAY_ADDRESS"] = address
