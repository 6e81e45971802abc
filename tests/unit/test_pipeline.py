"""The stages of a run and their share of the cluster: CPUs that fit, a GPU only where the cluster has one."""

from __future__ import annotations

import pytest

from configs.model import load_config
from flows.run.stages import build_stages
from ocr_models.lontar_errors import UsageError


def shares(config, resources):
    ingest, stages = build_stages(config, resources)
    return ingest.num_cpus, [(s.name, s.num_cpus, s.num_gpus, s.max_actors) for s in stages]


def test_default_stages_fit_two_cores_without_a_gpu():
    ingest, stages = shares(load_config(), {"CPU": 2.0})
    assert stages == [("layout", 0.2, 0.0, 1), ("ocr", 0.8, 0.0, 2)]
    assert ingest + sum(cpus for _, cpus, _, _ in stages) <= 2.0


def test_a_large_cluster_gets_a_layout_actor_per_8_cpus_and_one_ocr_engine_per_core_left():
    _, stages = shares(load_config(), {"CPU": 64.0})
    assert stages == [("layout", 0.2, 0.0, 8), ("ocr", 0.8, 0.0, 62)]  # 64 - 0.2 ingest - 8 x 0.2 layout
    _, stages = shares(load_config(**{"ray.max_layout_actors": 2}), {"CPU": 64.0})
    assert stages[0][3] == 2


def test_no_layout_means_no_layout_stage():
    _, stages = shares(load_config(**{"layout.kind": "none"}), {"CPU": 2.0})
    assert [s[0] for s in stages] == ["ocr"]


def test_model_stages_ask_for_a_gpu_only_when_the_cluster_has_one(tmp_path):
    config = load_config(**{"layout.kind": "transformers", "layout.model": str(tmp_path),
                            "caption.model": str(tmp_path)})
    _, on_gpus = shares(config, {"CPU": 16.0, "GPU": 2.0})
    assert [(name, gpus) for name, _, gpus, _ in on_gpus] == [("layout", 1.0), ("ocr", 0.0), ("caption", 1.0)]
    _, on_cpus = shares(config, {"CPU": 16.0})
    assert all(gpus == 0.0 for _, _, gpus, _ in on_cpus)  # never waits for a GPU that is not there
    _, rapid = shares(load_config(**{"caption.model": str(tmp_path)}), {"CPU": 16.0, "GPU": 1.0})
    assert rapid[0][:3] == ("layout", 0.2, 0.0)  # the ONNX CPU model gains nothing from a GPU


def test_stages_that_cannot_fit_the_cluster_stop_the_run_before_it_hangs(tmp_path):
    config = load_config(**{"caption.model": str(tmp_path), "ray.caption_cpus_per_actor": 1.0})
    with pytest.raises(UsageError, match=r"need 2\.2 CPUs"):
        build_stages(config, {"CPU": 2.0})


def test_a_stream_of_text_layer_units_runs_ingest_alone_at_its_own_share():
    ingest, stages = build_stages(load_config(), {"CPU": 2.0}, text_only=True)
    assert (ingest.num_cpus, stages) == (1.0, [])
    ingest, _ = build_stages(load_config(**{"ray.text_ingest_cpus_per_task": 0.5}), {"CPU": 2.0}, text_only=True)
    assert ingest.num_cpus == 0.5


def test_the_ocr_stage_tries_a_first_model_only_for_scripts_the_run_can_meet():
    """Latin is read with `eng` first by default; a Kannada-only run loads no language models for it."""
    ocr = build_stages(load_config(), {"CPU": 2.0})[1][-1]
    assert ocr.name == "ocr" and ocr.options.try_first == {"Latn": "eng"}
    kannada = build_stages(load_config(langs=["kan"]), {"CPU": 2.0})[1][-1]
    assert kannada.options.try_first == {}
