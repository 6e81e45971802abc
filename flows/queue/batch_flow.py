"""One queued batch, run as a Prefect flow: the `lontar-batch/queue` deployment's flow.

`python -m flows.queue.batch_flow FLOW_RUN_ID` executes one queued run in this process; the nightly run starts one such
process per batch, so a batch that crashes takes nothing else down.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from uuid import UUID

from flows import environment

environment.apply()

from prefect import flow  # noqa: E402  (the environment must be set before Prefect and Ray import)

from configs.model import config_from_stored  # noqa: E402
from flows.run.dead_runs import owned_by_this_process  # noqa: E402
from flows.run.digitize import digitize  # noqa: E402
from flows.run.report import summary_lines  # noqa: E402

log = logging.getLogger(__name__)


@flow(name="lontar-batch", validate_parameters=False, log_prints=False)
def process_batch(batch_id: str, inputs: list[str], out: str, name: str = "", config: dict | None = None) -> dict:
    """Digitize one batch's inputs into the dataset (rows carry `batch_id`; reports go to _runs/BATCH_ID/)."""
    from prefect.artifacts import create_markdown_artifact

    run_config, dropped = config_from_stored(config or {}, batch_id)
    if dropped:  # queued before an upgrade that removed them
        log.warning("batch %s was queued with option(s) this Lontar no longer has, ignored: %s", batch_id,
                    ", ".join(dropped))
    with owned_by_this_process():  # if this process dies, the next nightly run marks the digitize run Crashed
        report = digitize(inputs, out, run_config)
    lines = summary_lines(report)
    create_markdown_artifact(key=f"batch-{batch_id}"[:100], description=f"Lontar batch {name or batch_id}",
                             markdown="\n".join(["```", *lines, "```"]))
    return {"batch_id": batch_id, "pages": report["pages"], "files": report["files"],
            "report_path": report["report_path"]}


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the run: the local Ray cluster stops with it


def main(argv: list[str]) -> int:
    """Execute the queued flow run `argv[1]` (claimed Pending by the caller); 0 when it completed."""
    from prefect.flow_engine import load_flow_run, run_flow

    if "flows" not in os.environ.get("PREFECT_LOGGING_EXTRA_LOGGERS", "").split(","):  # else Prefect's handlers do
        environment.configure_logging(verbose=False)
    signal.signal(signal.SIGTERM, _stop)
    flow_run = load_flow_run(UUID(argv[1]))
    state = run_flow(process_batch, flow_run=flow_run, return_type="state")
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
