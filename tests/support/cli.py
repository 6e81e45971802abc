"""Helpers for tests that run the real `lontar` command line in child processes, `lontar serve` included."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
LONTAR = shutil.which("lontar") or str(REPO / ".venv" / "bin" / "lontar")


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the real `lontar` command line in a child process."""
    return subprocess.run([LONTAR, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def digitize_states(prefect_home: Path) -> list[str]:
    """The state of every `lontar-digitize` flow run in the Prefect database of `prefect_home`, oldest first."""
    with sqlite3.connect(prefect_home / "prefect.db") as db:
        return [state for (state,) in db.execute(
            "SELECT fr.state_type FROM flow_run fr JOIN flow f ON fr.flow_id = f.id "
            "WHERE f.name = 'lontar-digitize' ORDER BY fr.created")]


def sigkill_when(args: list[str], folder: Path, pattern: str, delay: float) -> None:
    """Run `lontar ARGS` and SIGKILL it `delay` seconds after a file matching `pattern` appears under `folder`
    (or when it ends, or after two minutes)."""
    child = subprocess.Popen([LONTAR, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=os.environ.copy(), stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while child.poll() is None and time.monotonic() < deadline and not list(folder.rglob(pattern)):
        time.sleep(0.01)
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL the run and everything it started (Ray's processes, Prefect's server): nothing may clean up."""
    parent = psutil.Process(process.pid)
    tree = [parent, *parent.children(recursive=True)]
    for proc in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)
    psutil.wait_procs(tree, timeout=30)
    process.wait(timeout=30)


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 30) -> None:
    """As Kubernetes stops a pod (or, with SIGINT, as Ctrl-C does): the signal, then after `timeout_s` SIGKILL
    to the process and all it started."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            kill_tree(process)


@contextlib.contextmanager
def lontar_serve(*args: str, env: dict[str, str], output: Path,
                 stop_with: signal.Signals = signal.SIGTERM) -> Iterator[subprocess.Popen]:
    """`lontar serve ARGS` in the background, its output in `output`; stopped on the way out (`stop`) unless
    the test has stopped it itself."""
    with output.open("w") as log:
        process = subprocess.Popen([LONTAR, "serve", *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        try:
            yield process
        finally:
            stop(process, stop_with)
