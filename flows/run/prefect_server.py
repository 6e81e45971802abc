"""Prefect's embedded server for one `lontar run`, started first thing.

With no PREFECT_API_URL, Prefect starts a temporary server (its own app under uvicorn, SQLite in PREFECT_HOME,
on loopback) inside the first flow call: the calling process first imports the whole server package to launch
it (about 3 s of CPU on this 2-core machine), then waits for it (another 3.5 s). Started here before Lontar's
own imports, the same server comes up while they run, and the command never imports the server: a one-page
run is about 5 s shorter (docs/benchmarks.md). It is Prefect's server, launched as Prefect launches it
(`SubprocessASGIServer` in prefect/server/api/server.py), and it stops with the command.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from flows.child_process import die_with_parent
from ocr_models.lontar_errors import OrchestratorError

EMBEDDED = "LONTAR_EMBEDDED_PREFECT"  # set while PREFECT_API_URL names the server started here


class EmbeddedServer:
    """Prefect's server in a child process, on a loopback port held for it from the start: PREFECT_API_URL is
    set at once, so Prefect may be imported while the server starts (its settings read the address then)."""

    def __init__(self) -> None:
        # Bound with SO_REUSEADDR and never listening: uvicorn (which sets it too) binds and listens on the same
        # port, and nothing else can take the port meanwhile.
        self._held = socket.socket()
        self._held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._held.bind(("127.0.0.1", 0))
        self.port = self._held.getsockname()[1]
        spec = importlib.util.find_spec("prefect")
        assert spec is not None and spec.origin is not None
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(spec.origin).parent.parent), "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "error", "--lifespan", "on"],
            env={**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                 "PREFECT__SERVER_FINAL": "1"},
            preexec_fn=die_with_parent)  # however the command ends (a crash in Ray's C++ aborts it)
        os.environ["PREFECT_API_URL"], os.environ[EMBEDDED] = self.api_url, "1"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def wait_ready(self) -> None:
        """Until the server answers."""
        limit = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180"))
        started = time.monotonic()
        while time.monotonic() - started < limit:
            if (status := self.process.poll()) is not None:
                raise OrchestratorError(f"Prefect's embedded server exited with status {status} before it "
                                        "answered (its output is in the run log)")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise OrchestratorError(f"Prefect's embedded server did not answer within {limit:g} s "
                                "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)")

    def stop(self) -> None:
        os.environ.pop("PREFECT_API_URL", None)
        os.environ.pop(EMBEDDED, None)
        self._held.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def embedded_server() -> Iterator[EmbeddedServer | None]:
    """Prefect's server for this command, started now; None (Prefect decides) where PREFECT_API_URL names a
    server already, or where Prefect is imported already (its settings would not see the new address)."""
    if os.environ.get("PREFECT_API_URL") or "prefect" in sys.modules:
        yield None
        return
    server = EmbeddedServer()
    try:
        yield server
    finally:
        server.stop()


def is_embedded() -> bool:
    """Whether the Prefect server in use dies with this process: Prefect's own temporary one, or ours."""
    return not os.environ.get("PREFECT_API_URL") or bool(os.environ.get(EMBEDDED))


def embedded_prefect_tuned() -> contextlib.AbstractContextManager:
    """With no Prefect server configured, the flow runs against an embedded one that dies with this process,
    so flow-run heartbeats (for finding crashed runs later) have no reader; their thread also holds every
    flow's end for up to a second. Off for such runs; a served or remote Prefect keeps them."""
    if not is_embedded():
        return contextlib.nullcontext()
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
