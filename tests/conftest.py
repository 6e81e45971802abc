"""Shared fixtures. Tests render their own pages; nothing is downloaded."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows import environment
from tests.support.cli import run_cli

environment.apply()


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Prefect home for the whole session: its SQLite database is made once."""
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def migrated_prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Prefect home whose database is made and migrated but holds nothing: `own_prefect_home` copies it."""
    home = tmp_path_factory.mktemp("prefect-migrated")
    made = subprocess.run([str(Path(sys.executable).parent / "prefect"), "server", "database", "upgrade", "-y"],
                          env={**os.environ, "PREFECT_HOME": str(home)}, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    return home


@pytest.fixture
def own_prefect_home(migrated_prefect_home: Path, tmp_path: Path) -> Path:
    """A Prefect home (and database) of the test's own, for tests that read every flow run in it: a copy of an
    empty migrated one, as a fresh home would make its database with 20 s of migrations in the first run."""
    home = tmp_path / "prefect"
    shutil.copytree(migrated_prefect_home, home)
    return home


@pytest.fixture(scope="session")
def sample_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flows.synth.archive import write_sample_archive

    folder = tmp_path_factory.mktemp("archive")
    write_sample_archive(folder)
    return folder


@pytest.fixture(scope="session")
def archive(sample_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample archive with a file of every bad-input class, a truncated scan and a legacy-font PDF."""
    from flows.synth.legacy_fonts import legacy_pdf
    from flows.synth.text import SAMPLE_TEXT
    from tests.support.bad_inputs import input_classes

    folder = tmp_path_factory.mktemp("mixed")
    shutil.copytree(sample_archive, folder, dirs_exist_ok=True)
    for name, case in input_classes().items():
        (folder / name).write_bytes(case.data)
    scan = (sample_archive / "hindi-bengali-scan.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(scan[: len(scan) // 2])
    (folder / "legacy-kruti-dev.pdf").write_bytes(legacy_pdf(list(SAMPLE_TEXT["hin"]) * 2, "kruti_dev"))
    return folder


@pytest.fixture(scope="session")
def first_run(archive: Path, tmp_path_factory: pytest.TempPathFactory, prefect_home: Path) -> tuple[Path, dict, str]:
    """One real `lontar run` of the mixed archive, shared by the CLI and export tests: (dataset, report, stdout)."""
    from tests.support.bad_inputs import PASSWORDS_FILE

    here = tmp_path_factory.mktemp("out")
    (here / "passwords.yaml").write_text(PASSWORDS_FILE)
    (here / "lontar.yaml").write_text(f"ingest: {{pdf_passwords_file: {here / 'passwords.yaml'}}}\n")
    out = here / "dataset"
    result = run_cli("run", str(archive), "--out", str(out), "--config", str(here / "lontar.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    (here / "stderr.txt").write_text(result.stderr)
    (report_path,) = (out / "_runs").glob("*/*.json")
    return out, json.loads(report_path.read_text()), result.stdout
