"""`lontar serve`: a Prefect server (started, or the one PREFECT_API_URL names), the queue's work pool and
deployments, and a process worker that runs the nightly deployment when its cron schedule fires.

The worker runs only the pool's `default` queue, where the nightly deployment lives: batches are started by
the nightly run alone, never by the worker, so no batch can run twice at once. It polls the batch queues too,
which are paused (a paused queue gives a worker no runs): Prefect marks a deployment Ready only when a worker
polls its queue, and the batch deployment would otherwise show a red "Not Ready" for the normal state. While it
runs, the address of the server is kept in PREFECT_HOME/lontar-serve.json, so that `lontar queue ...` in another
shell finds it.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from configs.environment import LOGGER_ROOTS
from configs.model import QueueOptions
from flows.child_process import die_with_parent
from ocr_models.lontar_errors import OrchestratorError, UsageError

log = logging.getLogger(__name__)
SERVER_START_S = 180  # first start migrates the SQLite database: slow on a busy 2-core machine
# Seconds a child has to stop after SIGINT before it is killed. The worker and the server are told to stop at
# once, so `lontar serve` ends within about twice this after SIGTERM, inside Kubernetes' 30 s grace period (the
# worker, told alone, took 30 s). A batch that was running is left Running and its process is SIGTERMed as its
# parent dies (it stops its Ray cluster); the next nightly run queues it again and it resumes.
STOP_GRACE_S = 4.0


def state_file() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser() / "lontar-serve.json"


def served() -> dict[str, str] | None:
    """The API address (`api_url`) of a `lontar serve` still running on this machine, and its `auth_string` when
    its server has one, if there is one."""
    try:
        state = json.loads(state_file().read_text())
        os.kill(state["pid"], 0)
    except (OSError, ValueError, KeyError):
        return None
    return state


def auth_string(env: dict[str, str]) -> str | None:
    """The server's basic-auth string (user:password): the server's setting, else the clients' (one secret)."""
    return env.get("PREFECT_SERVER_API_AUTH_STRING") or env.get("PREFECT_API_AUTH_STRING") or None


def check_exposure(host: str, auth: str | None) -> None:
    """A server listening beyond this machine without an auth string would let anyone who reaches it queue, cancel
    or read batches: refused."""
    if auth is None and not _loopback(host):
        raise UsageError(f"`lontar serve --host {host}` would let anyone who reaches this machine queue, cancel and "
                         "read batches: set PREFECT_SERVER_API_AUTH_STRING (user:password) first, or serve on "
                         "127.0.0.1 (docs/queue.md, 'The server in production')")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def answers(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _prefect(*args: str) -> list[str]:
    return [sys.executable, "-m", "prefect", *args]


@contextmanager
def _running(command: list[str], env: dict[str, str], what: str, log_file: Path | None = None
             ) -> Iterator[subprocess.Popen]:
    """A child process stopped on the way out: SIGINT first (Prefect's graceful stop), then SIGKILL."""
    output = log_file.open("ab") if log_file else None
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                               start_new_session=True, preexec_fn=die_with_parent)
    try:
        yield process
    finally:
        if process.poll() is None:
            log.info("stopping the %s", what)
            _interrupt(process)
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                log.info("the %s did not stop within %g s: killed", what, STOP_GRACE_S)
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if output:
            output.close()


_interrupted: set[int] = set()


def _interrupt(process: subprocess.Popen) -> None:
    """SIGINT, once: a second one makes Prefect's server skip its own shutdown."""
    if process.pid not in _interrupted and process.poll() is None:
        _interrupted.add(process.pid)
        process.send_signal(signal.SIGINT)


def _wait_until_answers(api_url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while not answers(api_url):
        if server.poll() is not None:
            raise OrchestratorError(f"the Prefect server exited with code {server.returncode} while starting "
                                    f"(is port {api_url.split(':')[-1].split('/')[0]} taken?)")
        if time.monotonic() > deadline:
            raise OrchestratorError(f"the Prefect server did not answer at {api_url} within {SERVER_START_S} s")
        time.sleep(0.5)


def serve(options: QueueOptions, host: str, port: int, on_ready=print) -> None:
    """Run until SIGINT or SIGTERM (or until the server or the worker dies, which is an error)."""
    from flows.queue.batches import PRIORITIES
    from flows.queue.schedule import nightly_timezone
    from flows.run.prefect_api import prefect_client

    env = dict(os.environ)
    api_url = env.get("PREFECT_API_URL")
    auth = auth_string(env)
    if not api_url:
        check_exposure(host, auth)
    if auth:  # the server started here checks it; the worker, its runs and this process send it
        env["PREFECT_SERVER_API_AUTH_STRING"] = env["PREFECT_API_AUTH_STRING"] = auth
        os.environ["PREFECT_API_AUTH_STRING"] = auth
    with _maybe_server(api_url, host, port, env) as (api_url, server):
        env["PREFECT_API_URL"] = os.environ["PREFECT_API_URL"] = api_url
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: api_url}), prefect_client() as client:
            from flows.queue.deployments import ensure_queue

            ensure_queue(client, options)
        queues = [arg for name in ("default", *PRIORITIES) for arg in ("--work-queue", name)]
        worker = _prefect("worker", "start", "--pool", options.work_pool, "--type", "process", *queues,
                          "--install-policy", "never",
                          "--no-create-pool-if-not-found", "--name", f"lontar-{os.uname().nodename}")
        # the worker's runs (the nightly run and its batches) log to the Prefect UI as well as here
        worker_env = {**env, "PREFECT_LOGGING_EXTRA_LOGGERS": ",".join(LOGGER_ROOTS), "PREFECT_LOGGING_LEVEL": "INFO"}
        with _running(worker, worker_env, "worker") as worker_process:
            state_file().parent.mkdir(parents=True, exist_ok=True)
            state = {"api_url": api_url, "pid": os.getpid(), **({"auth_string": auth} if auth else {})}
            with suppress(FileNotFoundError):  # one a killed `lontar serve` left: made again, so 0600
                state_file().unlink()
            with os.fdopen(os.open(state_file(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
                handle.write(json.dumps(state))  # only this user may read the auth string, as Prefect's profiles
            try:
                on_ready(f"Prefect UI: {api_url.removesuffix('/').removesuffix('/api')}")
                on_ready(f"nightly run: '{options.nightly_cron}' ({nightly_timezone(options)}), "
                         f"{options.batches_at_once} batch(es) at a time; work pool '{options.work_pool}'")
                on_ready("serving; Ctrl-C stops the worker and the server")
                while worker_process.poll() is None:
                    time.sleep(1)
                raise OrchestratorError(f"the Prefect worker exited with code {worker_process.returncode}")
            finally:
                if server is not None:  # stop the server while the worker stops, not after it
                    _interrupt(server)
                with suppress(OSError):
                    state_file().unlink()


@contextmanager
def _maybe_server(api_url: str | None, host: str, port: int, env: dict[str, str]
                  ) -> Iterator[tuple[str, subprocess.Popen | None]]:
    """The server PREFECT_API_URL names (it must answer), or one already at host:port, or a new one there: its
    API address, and its process when this call started it."""
    if api_url:
        if not answers(api_url):
            raise OrchestratorError(f"PREFECT_API_URL is {api_url}, but no Prefect server answers there")
        yield api_url, None
        return
    api_url = f"http://{host}:{port}/api"
    if answers(api_url):
        log.info("a Prefect server already answers at %s: using it", api_url)
        yield api_url, None
        return
    server_log = state_file().parent / "lontar-server.log"
    server_log.parent.mkdir(parents=True, exist_ok=True)
    log.info("starting a Prefect server at %s (database and log %s in %s)", api_url, server_log.name,
             server_log.parent)
    command = _prefect("server", "start", "--host", host, "--port", str(port))
    # the UI in the browser asks the API at PREFECT_UI_API_URL, which otherwise stays at port 4200
    # and its late-runs service would rename every queued batch "Late" (they wait, scheduled when queued, for
    # the nightly run: flows/queue/batches.py)
    server_env = {**env, "PREFECT_UI_API_URL": api_url, "PREFECT_SERVER_API_HOST": host,
                  "PREFECT_SERVER_API_PORT": str(port), "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false"}
    with _running(command, server_env, "Prefect server", log_file=server_log) as srv:
        _wait_until_answers(api_url, srv)
        yield api_url, srv
