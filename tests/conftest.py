"""Shared fixtures. Tests render their own pages; nothing is downloaded."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
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


def digitize_states(prefect_home: Path) -> list[str]:
    """The state of every `lontar-digitize` flow run in the Prefect database of `prefect_home`, oldest first."""
    with sqlite3.connect(prefect_home / "prefect.db") as db:
        return [state for (state,) in db.execute(
            "SELECT fr.state_type FROM flow_run fr JOIN flow f ON fr.flow_id = f.id "
            "WHERE f.name = 'lontar-digitize' ORDER BY fr.created")]


@pytest.fixture(scope="session")
def archive(sample_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample archive with a file of every bad-input class, a truncated scan and a legacy-font PDF."""
    from flows.synth.legacy_fonts import legacy_pdf
    from flows.synth.text import SAMPLE_TEXT
    from tests.bad_inputs import input_classes

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
    from tests.bad_inputs import PASSWORDS_FILE

    here = tmp_path_factory.mktemp("out")
    (here / "passwords.yaml").write_text(PASSWORDS_FILE)
    (here / "lontar.yaml").write_text(f"ingest: {{pdf_passwords_file: {here / 'passwords.yaml'}}}\n")
    out = here / "dataset"
    result = run_cli("run", str(archive), "--out", str(out), "--config", str(here / "lontar.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    (here / "stderr.txt").write_text(result.stderr)
    (report_path,) = (out / "_runs").glob("*/*.json")
    return out, json.loads(report_path.read_text()), result.stdout


def _without_fields(column: pa.ChunkedArray, fields: set[str]) -> pa.Array:
    """A list-of-struct column with these fields of its structs left out."""
    lists = column.combine_chunks()
    items = lists.flatten()
    kept = [(f.name, items.field(f.name)) for f in items.type if f.name not in fields]
    structs = pa.StructArray.from_arrays([a for _, a in kept], names=[n for n, _ in kept], mask=items.is_null())
    return pa.ListArray.from_arrays(lists.offsets, structs, mask=lists.is_null())


def as_schema_version(dataset: Path, unit_id: str, version: int) -> None:
    """Make one committed unit what an older Lontar wrote: its shards without the columns and struct fields added
    after `version` (records.ADDED_IN), stamped with that version, and its marker saying so."""
    from actors.dataset_layout import unit_marker
    from actors.records import ADDED_IN

    marker = Path(unit_marker(str(dataset), unit_id))
    stats = json.loads(marker.read_text())
    for shard in stats["shards"]:
        added = {name for v, tables in ADDED_IN.items() if v > version for name in tables[shard["table"]]}
        path = dataset / shard["path"]
        table = pq.read_table(path, partitioning=None)
        table = table.drop_columns([name for name in added if name in table.column_names])
        for nested in sorted({name.split(".")[0] for name in added if "." in name}):
            fields = {name.split(".")[1] for name in added if name.startswith(f"{nested}.")}
            table = table.set_column(table.schema.get_field_index(nested), nested,
                                     _without_fields(table.column(nested), fields))
        pq.write_table(table.replace_schema_metadata({"lontar.schema_version": str(version)}), path)
        shard["bytes"] = path.stat().st_size
    stats["schema_version"] = version
    marker.write_text(json.dumps(stats))


SMALL_UNIT_SCRIPTS = ("Deva", "Latn")


def small_page(unit: str, script: str) -> dict:
    text = {"Deva": "पुरानी पांडुलिपि का पृष्ठ", "Latn": "An old manuscript page"}[script] + f" {unit}"
    return {"page_id": f"{unit}-{script}", "source_uri": f"/archive/{unit}.pdf", "source_sha256": unit,
            "source_format": "pdf", "page_index": SMALL_UNIT_SCRIPTS.index(script), "page_count": 2, "status": "ok",
            "image": f"image {unit} {script}".encode(), "image_format": "png", "text": text, "text_source": "ocr",
            "script": script, "engine": "tesseract", "engine_version": "5.3.0",
            "pairs": [{"pair_id": f"{unit}-{script}-line", "kind": "line", "bbox": [0, 0, 10, 10],
                       "image": f"crop {unit}".encode(), "image_format": "png", "width": 10, "height": 10,
                       "text": text, "script": script, "alignment": {"method": "ocr", "score": 0.9}}]}


def small_units(root: Path, count: int, prefix: str = "u") -> list[str]:
    """`count` committed units of one page in each of two scripts (a page and a line pair each), as a run
    with `output.pages_per_unit: 1` commits them; returns their ids."""
    from actors.records import batch_table
    from actors.writer import ShardWriter

    units = [f"{prefix}{n:04d}" for n in range(count)]
    for unit in units:
        writer = ShardWriter(fsspec.filesystem("file"), str(root), unit,
                             {"run_id": "run-1", "batch_id": "b1", "config_hash": "c1"})
        writer.write(batch_table([small_page(unit, script) for script in SMALL_UNIT_SCRIPTS]))
        writer.close()
    return units


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
