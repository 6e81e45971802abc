"""`lontar run` starts Prefect's embedded server first thing, on loopback, and stops it when it ends; a served
Prefect (PREFECT_API_URL) is used as it is."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.cli import REPO

A_RUN = """
import os, sys
from flows import environment
environment.apply()
from flows.run.prefect_server import embedded_server, is_embedded
assert "prefect" not in sys.modules
with embedded_server() as server:
    assert os.environ["PREFECT_API_URL"] == f"http://127.0.0.1:{server.port}/api" and is_embedded()
    from prefect import flow, get_client  # imported while the server starts: its settings see the address

    @flow
    def answer() -> int:
        return 42

    server.wait_ready()
    assert answer() == 42
    with get_client(sync_client=True) as client:  # the flow ran against this server
        runs = client.read_flow_runs()
    assert [run.state.type.value for run in runs] == ["COMPLETED"], runs
assert "PREFECT_API_URL" not in os.environ and server.process.poll() is not None
print("stopped")
"""

SERVED = """
import os
from flows.run.prefect_server import embedded_server, is_embedded
with embedded_server() as server:
    assert server is None and not is_embedded()
print("left alone")
"""


def run_python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_embedded_server_serves_the_run_and_stops_with_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path)  # a fresh database: the run's flow is the only one in it
    assert run_python(A_RUN, env).strip() == "stopped"


def test_a_served_prefect_is_used_and_no_server_is_started():
    env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    assert run_python(SERVED, env).strip() == "left alone"
