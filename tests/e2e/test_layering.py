"""The layering contract (pyproject.toml, [tool.importlinter]): `make test` runs `lint-imports` on the tree, and
the same contract fails a copy of the tree given an upward import, an import cycle, Ray outside actors/cluster/,
a room of actors/ importing one above it, or a concrete engine named outside ocr_models/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import REPO

PACKAGES = ("flows", "actors", "configs", "ocr_models")
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT_IMPORTS, "--no-cache", "--no-logo", str(tree / "pyproject.toml")], cwd=tree,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree)}, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """A copy of the project's packages and its pyproject.toml."""
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(tree: Path, module: str, statement: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{statement}\n")


def test_the_project_keeps_its_layering(tree):
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout


def test_an_engine_adapter_importing_the_orchestration_layer_breaks_it(tree):
    add_import(tree, "ocr_models.scripts", "import flows.run.digitize")
    result = lint(tree)
    assert result.returncode == 1
    assert "flows -> actors -> configs -> ocr_models BROKEN" in result.stdout
    assert "ocr_models.scripts -> flows.run.digitize" in result.stdout


def test_an_import_cycle_inside_a_package_breaks_it(tree):
    add_import(tree, "actors.store.records", "import actors.store.writer")  # the writer imports records
    result = lint(tree)
    assert result.returncode == 1
    assert "No import cycles between the modules of a package BROKEN" in result.stdout


def test_ray_or_prefect_below_the_orchestration_layer_breaks_it(tree):
    add_import(tree, "ocr_models.types", "import ray")
    add_import(tree, "actors.store.writer", "import prefect")
    result = lint(tree)
    assert result.returncode == 1
    assert "nothing imports Prefect BROKEN" in result.stdout
    assert "ocr_models.types -> ray" in result.stdout and "actors.store.writer -> prefect" in result.stdout


@pytest.mark.parametrize(("module", "statement", "broken"), [
    ("actors.store.writer", "import actors.stages.ingest", "actors.store.writer -> actors.stages.ingest"),
    ("actors.reading.pairs", "import actors.sources.documents", "actors.reading.pairs -> actors.sources.documents"),
    ("actors.stages.ocr", "import actors.cluster.stream", "actors.stages.ocr -> actors.cluster.stream"),
])
def test_a_room_of_actors_importing_one_it_should_not_breaks_it(tree, module, statement, broken):
    add_import(tree, module, statement)
    result = lint(tree)
    assert result.returncode == 1
    assert "actors/: cluster -> stages -> reading | sources -> store BROKEN" in result.stdout
    assert broken in result.stdout


def test_ray_in_a_stage_breaks_it(tree):
    add_import(tree, "actors.stages.ocr", "import ray")
    result = lint(tree)
    assert result.returncode == 1 and "actors.stages.ocr -> ray" in result.stdout


@pytest.mark.parametrize(("module", "engine"), [
    ("actors.stages.ocr", "ocr_models.tesseract.engine"),
    ("actors.stages.layout", "ocr_models.layout.rapid"),
    ("configs.model", "ocr_models.captioning.transformers"),
    ("flows.run.stages", "ocr_models.recognition.transformers"),
])
def test_a_concrete_engine_named_outside_ocr_models_breaks_it(tree, module, engine):
    add_import(tree, module, f"import {engine}")
    result = lint(tree)
    assert result.returncode == 1 and "1 broken" in result.stdout
    assert "Outside ocr_models/, no module names a concrete engine" in result.stdout
    assert f"{module} -> {engine}" in result.stdout
