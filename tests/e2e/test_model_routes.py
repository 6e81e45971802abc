"""Routing scripts to transformers models through the real `lontar run` (the recognize stage in its own actor
pool), and on a GPU machine. The routes' parts, one by one, are in tests/unit/test_model_routes.py."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from configs.model import load_config
from flows.run.stages import build_stages
from ocr_models.types import PageImage
from tests.support.cli import run_cli
from tests.support.tiny_models import route_models


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return route_models(tmp_path_factory.mktemp("readers"))


def test_lontar_run_reads_a_routed_scripts_pages_with_the_model_and_the_rest_with_tesseract(
        sample_archive, models, tmp_path, prefect_home):
    config = tmp_path / "routes.yaml"
    config.write_text(json.dumps({"ocr": {"routes": {"Taml": {
        "engine": "transformers", "kind": "page", "model": str(models["tamil"]), "max_new_tokens": 2}}}}))
    out = tmp_path / "out"
    result = run_cli("run", str(sample_archive / "tamil-thai.tiff"), "--out", str(out), "--config", str(config),
                     "--langs", "tam,tha,eng", "--no-progress", env={"PREFECT_HOME": str(prefect_home)})
    assert result.returncode == 0, result.stderr
    rows = {row["script"]: row for row in pq.read_table(out / "pages").to_pylist()}
    assert set(rows) == {"Taml", "Thai"}
    tamil = [r for r in rows["Taml"]["regions"] if r["text"] is not None and r["script"] == "Taml"]
    assert tamil and all(r["engine"] == "transformers" and r["text"] == "தமிழ் தமிழ்" for r in tamil)
    assert "தமிழ் தமிழ்" in rows["Taml"]["text"]
    assert {r["engine"] for r in rows["Thai"]["regions"] if r["text"] is not None} == {"tesseract"}
    assert [r["engine"] for r in rows["Thai"]["read_by"]] == ["tesseract"]
    assert {r["engine"] for r in rows["Taml"]["read_by"]} >= {"transformers"}
    report = next(json.loads(path.read_text()) for path in (out / "_runs").rglob("*.json"))
    assert "recognize" in report["pages_by_node"]  # its own actor pool
    assert report["regions_by_engine"]["transformers"] == len(tamil) and report["refused_by_guard"] == {}
    summary = next(line for line in result.stdout.splitlines() if line.startswith("text regions read by: "))
    assert f"transformers {len(tamil)}" in summary and summary.endswith("refused (Tesseract's kept): none")


@pytest.mark.gpu
def test_on_a_gpu_machine_the_recognizer_reads_on_cuda_and_its_pool_asks_for_a_gpu(models):
    import ray

    from actors.cluster.lifecycle import cluster_resources
    from ocr_models.recognition.transformers import TransformersRecognizer, TransformersRecognizerOptions
    from ocr_models.scripts import BY_CODE

    recognizer = TransformersRecognizer(TransformersRecognizerOptions(kind="line", model=str(models["tamil-line"]),
                                                                      max_new_tokens=1))
    assert recognizer.device == "cuda"
    crops = [PageImage(np.zeros((40, 200, 3), np.uint8), 300)] * 3
    assert [r.text for r in recognizer.read(crops, BY_CODE["Taml"])] == ["தமிழ்"] * 3
    ray.init(num_cpus=4, include_dashboard=False)
    try:
        routed = load_config(None, **{"ocr.routes": {"Taml": {"engine": "transformers", "kind": "line",
                                                              "model": str(models["tamil-line"])}}})
        stages = {s.name: s for s in build_stages(routed, cluster_resources())[1]}
        assert stages["recognize"].num_gpus == 1.0
    finally:
        ray.shutdown()
