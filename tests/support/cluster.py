"""A real multi-node Ray cluster and a real S3 endpoint, both on loopback, for the scale-out tests.

The nodes are separate `ray start --block` processes with their own resources, as on separate machines; the
S3 endpoint is moto's server (the S3 REST protocol, served in this process). Each helper stops exactly the
processes it started: never `ray stop`, which would kill every Ray process on the machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from configs.environment import WORKER_ENV
from tests.support.cli import free_port

RAY = str(Path(sys.executable).parent / "ray")
TOKEN = "lontar-test-token-0123456789abcdef"  # the cluster's; the lontar run gets it from a file
S3_SECRET = "lontar-test-secret-9f8e7d6c"  # must appear in no row, log or report


@contextlib.contextmanager
def s3_server() -> Iterator[dict[str, str]]:
    """An S3 endpoint on loopback; yields the environment that points boto (and so s3fs) at it."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield {"AWS_ACCESS_KEY_ID": "lontar-test", "AWS_SECRET_ACCESS_KEY": S3_SECRET,
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    finally:
        server.stop()


def node_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    """What every node process runs with: token auth on, and no traffic off the machine. A `ray start` head
    sends a "usage stats disabled" note to Ray's server and asks the cloud-metadata address for its provider
    unless ~/ray_bootstrap_config.yaml exists: both are kept on loopback here. A node told to stop (SIGTERM)
    stops at once: by default Ray drains it for up to 30 s first, for Ray Serve's sake (40 s of the scale-out
    tests' 80)."""
    (home / "ray_bootstrap_config.yaml").write_text("{}\n")
    return {**os.environ, **WORKER_ENV, **extra, "HOME": str(home), "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": TOKEN, "RAY_USAGE_STATS_REPORT_URL": "http://127.0.0.1:9/",
            "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}


@dataclass
class Cluster:
    address: str
    sessions: set[int]  # the `ray start` processes, each the leader of its node's session


@contextlib.contextmanager
def ray_nodes(workdir: Path, cpus: list[int], extra_env: dict[str, str]) -> Iterator[Cluster]:
    """Start a head and one further node per entry of `cpus` after the first (each with that many CPUs) on
    loopback; yield the cluster once every node has joined; stop them all at the end."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = node_env(home, extra_env)
    common = ["--block", "--node-ip-address=127.0.0.1", "--object-store-memory=100000000",
              "--disable-usage-stats"]
    commands = [[RAY, "start", "--head", f"--port={port}", "--include-dashboard=false",
                 f"--temp-dir={workdir / 'ray'}", f"--num-cpus={cpus[0]}", *common]]
    commands += [[RAY, "start", f"--address={address}", f"--num-cpus={n}", *common] for n in cpus[1:]]
    nodes: list[subprocess.Popen] = []
    try:
        for i, command in enumerate(commands):
            log = open(workdir / f"node-{i}.log", "wb")  # noqa: SIM115 (closed with the process)
            nodes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True))
            if i == 0:
                wait_for_port(port, nodes[0], timeout_s=60)
        wait_for_nodes(address, len(commands), env)
        yield Cluster(address, {node.pid for node in nodes})
    finally:
        stop_nodes(nodes)


def wait_for_port(port: int, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Ray head exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.5)
    raise TimeoutError(f"the Ray head did not listen on {port} in {timeout_s} s")


def wait_for_nodes(address: str, count: int, env: dict[str, str], timeout_s: float = 120) -> None:
    """Ask the cluster (from a separate driver process) until `count` nodes are alive."""
    probe = ("import sys, time, ray\n"
             f"ray.init(address={address!r}, logging_level='ERROR')\n"
             f"deadline = time.monotonic() + {timeout_s}\n"
             f"while sum(n['Alive'] for n in ray.nodes()) < {count}:\n"
             "    if time.monotonic() > deadline: sys.exit('nodes missing')\n"
             "    time.sleep(0.5)\n")
    subprocess.run([sys.executable, "-c", probe], env=env, check=True, timeout=timeout_s + 60,
                   stdin=subprocess.DEVNULL, capture_output=True)


def stop_nodes(nodes: list[subprocess.Popen]) -> None:
    """SIGTERM each `ray start --block` (it stops its own node's processes); then kill whatever of their
    sessions is left. Only the sessions these processes lead are touched."""
    sessions = {node.pid for node in nodes}
    for node in reversed(nodes):
        if node.poll() is None:
            node.send_signal(signal.SIGTERM)
    for node in nodes:
        try:
            node.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
    deadline = time.monotonic() + 10
    while (left := session_processes(sessions)) and time.monotonic() < deadline:
        time.sleep(0.5)
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.kill()


def session_processes(sessions: set[int]) -> list[psutil.Process]:
    """The live processes of these sessions (a zombie has exited: it only waits for a parent to reap it,
    which in a container whose PID 1 reaps nothing may be never)."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getsid(process.pid) in sessions and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
    return found
