"""Helpers for tests that run the real `lontar` command line in child processes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import time
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
