"""The archivists' queue, against a real Prefect server on loopback started by `lontar serve`: batches run in
priority order, oldest first; cancel, status and retry; a nightly run SIGKILLed mid-batch is resumed by the
next with every page exactly once; a finished batch run again does no OCR; the cron schedule fires for real."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from flows.dataset.views import read_table
from tests.support.browser import wait_for_text
from tests.support.cli import LONTAR, digitize_states, free_port, kill_tree, lontar_serve, run_cli, stop

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def served(prefect_home: Path):
    """`lontar serve` with the session's Prefect home (its database is made once) and its own server on a free
    loopback port; the CLI finds it through PREFECT_HOME. No other Prefect server uses that home meanwhile:
    the other tests' runs are CLI processes that have ended."""
    home = prefect_home
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5"}
    env.pop("PREFECT_API_URL", None)
    with lontar_serve("--port", str(free_port()), env=env, output=home / "serve.out") as process:
        deadline = time.monotonic() + 400
        while not (home / "lontar-serve.json").exists():
            assert process.poll() is None and time.monotonic() < deadline, (home / "serve.out").read_text()
            time.sleep(1)
        yield {"PREFECT_HOME": str(home)}
        # as Kubernetes stops a pod: SIGTERM, and SIGKILL 30 s later; `lontar serve` must be gone well before
        started = time.monotonic()
        stop(process)
    assert time.monotonic() - started <= 10, (home / "serve.out").read_text()[-2000:]
    assert not (home / "lontar-serve.json").exists()
    assert "Prefect UI: http://127.0.0.1:" in (home / "serve.out").read_text()


@pytest.fixture(scope="module")
def small_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = tmp_path_factory.mktemp("config") / "queue.yaml"
    config.write_text("layout: {kind: none}\noutput: {pages_per_unit: 1}\nqueue: {lease_s: 10}\n")
    return config


def lontar(served: dict, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    result = run_cli(*args, env=served)
    if ok:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def add(served: dict, dataset: Path, config: Path, name: str, priority: str, *inputs: Path) -> str:
    result = lontar(served, "queue", "add", *map(str, inputs), "--name", name, "--priority", priority,
                    "--out", str(dataset), "--config", str(config))
    return result.stdout.strip()


def batches(served: dict) -> dict[str, dict]:
    return {b["batch_id"]: b for b in json.loads(lontar(served, "queue", "list", "--json").stdout)}


def page_keys(out: Path) -> list[tuple[str, int]]:
    rows = read_table(str(out), "pages", ["source_sha256", "page_index"])
    return list(zip(rows["source_sha256"].to_pylist(), rows["page_index"].to_pylist(), strict=True))


def test_nightly_runs_the_queue_by_priority_then_age(served, sample_archive, small_config, tmp_path):
    dataset = tmp_path / "dataset"
    low = add(served, dataset, small_config, "Letters 1942", "low", sample_archive / "english-letter.png")
    high = add(served, dataset, small_config, "Minutes", "high", sample_archive / "minutes-born-digital.pdf")
    queued = batches(served)
    assert queued[low]["state_name"] == queued[high]["state_name"] == "Queued"

    result = lontar(served, "nightly", "--now")
    assert result.stdout.index(high) < result.stdout.index(low), result.stdout

    done = batches(served)
    assert done[high]["state_name"] == done[low]["state_name"] == "Completed"
    assert done[high]["started"] < done[low]["started"]
    assert done[low]["pages"] == {"ok": 1, "error": 0, "total": 1}
    # both batches in the one dataset, each row with its batch's id, each batch's report in its own folder
    ids = read_table(str(dataset), "pages", ["batch_id"])["batch_id"].to_pylist()
    assert set(ids) == {low, high} and ids.count(low) == 1  # the letter is one page, the minutes two
    assert {p.parent.name for p in (dataset / "_runs").glob("*/*.json")} == {low, high}
    answer = lontar(served, "query", "SELECT count(*) AS n FROM pages", "--dataset", str(dataset), "--format", "csv")
    assert answer.stdout.split() == ["n", str(len(ids))]
    status = lontar(served, "status", low, "--pages").stdout
    assert "Completed" in status and "english-letter.png page 1: Latn" in status
    table = lontar(served, "queue", "list").stdout
    assert table.splitlines()[0].split()[:4] == ["BATCH", "NAME", "PRIORITY", "STATE"]


def test_a_cancelled_batch_never_runs_and_unknown_batches_are_clear_errors(served, sample_archive, small_config,
                                                                            tmp_path):
    batch = add(served, tmp_path, small_config, "Mistake", "normal", sample_archive / "khmer.png")
    assert lontar(served, "queue", "cancel", batch).stdout.strip() == f"{batch}: Cancelled"
    again = lontar(served, "queue", "cancel", batch, ok=False)
    assert again.returncode == 2 and "already ended" in again.stderr
    assert "the queue is empty" in lontar(served, "nightly", "--now").stdout
    assert not (tmp_path / "_runs" / batch).exists() and not (tmp_path / "pages").exists()
    missing = lontar(served, "status", "no-such-batch", ok=False)
    assert missing.returncode == 2 and "no batch 'no-such-batch'" in missing.stderr
    nothing = lontar(served, "queue", "add", str(tmp_path / "absent"), "--name", "x", ok=False)
    assert nothing.returncode == 5


@pytest.mark.slow  # three nightly runs, two local Ray clusters: about 8 min here (`pytest -m slow`)
def test_a_nightly_run_killed_mid_batch_is_resumed_by_the_next_with_every_page_once(
        served, sample_archive, small_config, tmp_path):
    scans = [sample_archive / name for name in ("english-letter.png", "khmer.png", "myanmar.jpg")]
    batch = add(served, tmp_path, small_config, "Crash test", "normal", *scans)
    out = tmp_path
    nightly = subprocess.Popen([LONTAR, "nightly", "--now", "--config", str(small_config)],
                               env={**os.environ, **served}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list((out / "_units").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert nightly.poll() is None, "the batch ended before a unit was committed"
    kill_tree(nightly)
    committed = len(list((out / "_units").glob("*.json")))
    assert batches(served)[batch]["state_name"] == "Running"  # nobody is left to say otherwise

    result = lontar(served, "nightly", "--now", "--config", str(small_config))
    assert f"{batch}: queued again" in result.stdout
    assert batches(served)[batch]["state_name"] == "Completed"
    # the digitize run inside the killed batch process ends Crashed, not Running for ever
    states = digitize_states(Path(served["PREFECT_HOME"]))
    assert "RUNNING" not in states and "CRASHED" in states and states[-1] == "COMPLETED"
    keys = page_keys(out)
    assert len(keys) == len(set(keys)) == 3
    (report,) = [json.loads(p.read_text()) for p in (out / "_runs" / batch).glob("*.json")]
    assert 1 <= committed < 3 and report["units"]["skipped"] == committed

    # a finished batch queued again does no OCR: every unit is already committed
    lontar(served, "queue", "retry", batch)
    lontar(served, "nightly", "--now", "--config", str(small_config))
    reports = sorted((json.loads(p.read_text()) for p in (out / "_runs" / batch).glob("*.json")),
                     key=lambda r: r["finished_at"])
    assert reports[-1]["units"] == {"total": 3, "written": 0, "skipped": 3} and page_keys(out) == keys


def nightly_runs(api_url: str) -> list:
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        return client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["nightly"])))


def test_the_cron_schedule_fires_a_nightly_run_that_the_worker_runs(served, tmp_path):
    api_url = json.loads((Path(served["PREFECT_HOME"]) / "lontar-serve.json").read_text())["api_url"]
    # a second `lontar serve` joins the same server (PREFECT_API_URL) with a schedule that fires every minute
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(tmp_path / "home"),
           "PREFECT_WORKER_QUERY_SECONDS": "2"}
    output = tmp_path / "serve.out"
    with lontar_serve("--cron", "* * * * *", env=env, output=output, stop_with=signal.SIGINT) as every_minute:
        deadline = time.monotonic() + 240
        while not [run for run in nightly_runs(api_url) if run.auto_scheduled and run.state.is_completed()]:
            assert every_minute.poll() is None and time.monotonic() < deadline, output.read_text()[-3000:]
            time.sleep(5)
    assert every_minute.returncode == 0, output.read_text()[-3000:]


def test_the_prefect_ui_shows_a_queued_batch_on_its_runs_page_and_the_batch_deployment_ready(
        served, sample_archive, small_config, tmp_path):
    """What an archivist sees in the Prefect UI (headless Chromium, Debian's package): the queued batch on the
    Runs page's default view (the past 7 days), and the batch deployment Ready, not a red Not Ready."""
    batch = add(served, tmp_path / "dataset", small_config, "UI check", "low", sample_archive / "english-letter.png")
    api_url = json.loads((Path(served["PREFECT_HOME"]) / "lontar-serve.json").read_text())["api_url"]
    try:
        deadline = time.monotonic() + 90  # the worker polls every 10 s
        while (status := json.load(urllib.request.urlopen(f"{api_url}/deployments/name/lontar-batch/queue"))
               ["status"]) != "READY":
            assert time.monotonic() < deadline, status
            time.sleep(3)
        # a desktop window (in the default 800 x 600 the UI lays the runs list out for a phone, and leaves it
        # out), watched until it renders: on a loaded machine the app's first render can take a while
        wait_for_text(f"{api_url.removesuffix('/api')}/runs", tmp_path / "chromium",
                      shows=lambda text: batch in text and "Queued" in text)
    finally:
        lontar(served, "queue", "cancel", batch)

