"""Shared fixtures. Tests render their own pages; nothing is downloaded."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from flows import environment

environment.apply()

REPO = Path(__file__).resolve().parent.parent
LONTAR = shutil.which("lontar") or str(REPO / ".venv" / "bin" / "lontar")


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Prefect home for the whole session: its SQLite database is made once."""
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def sample_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flows.synth.archive import write_sample_archive

    folder = tmp_path_factory.mktemp("archive")
    write_sample_archive(folder)
    return folder


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the real `lontar` command line in a child process."""
    return subprocess.run([LONTAR, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
