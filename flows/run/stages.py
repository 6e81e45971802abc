"""The stages of one run and the share of the cluster each gets, from the config and the cluster's resources.

Every stage asks for explicit, fractional CPUs that together fit the cluster (Ray Data hangs silently when
they do not), and model stages ask for a GPU only when the cluster has one.
"""

from __future__ import annotations

import logging

from actors.stages.base import Stage
from actors.stages.caption import CaptionStage
from actors.stages.ingest import IngestStage
from actors.stages.layout import LayoutStage
from actors.stages.ocr import OcrStage
from actors.stages.recognize import RecognizeStage
from configs.model import RunConfig
from ocr_models import registry
from ocr_models.lontar_errors import UsageError

log = logging.getLogger(__name__)


def build_stages(config: RunConfig, resources: dict, text_only: bool = False) -> tuple[Stage, list[Stage]]:
    """The ingest stage and the model stages (layout, OCR, the routes' recognizers, captioning), resources set:
    the model stages' actors first (a GPU each where the cluster has GPUs), then as many OCR actors as the CPUs
    left hold.
    `text_only`: for a stream of text-layer units, ingest alone (no model stage)."""
    cpus, gpus = float(resources.get("CPU", 1)), float(resources.get("GPU", 0))
    ray = config.ray
    ingest = IngestStage(config.ingest, config.ingest.pdf_passwords(), config.tesseract)
    ingest.num_cpus = ray.text_ingest_cpus_per_task if text_only else ray.ingest_cpus_per_task
    ingest.num_gpus, ingest.max_actors = 0.0, 1  # Ray tasks, not actors
    if text_only:
        return ingest, []
    before: list[Stage] = []
    after: list[Stage] = []
    if not registry.builds_nothing(config.layout):
        layout = LayoutStage(config.layout)
        _share(layout, ray.layout_cpus_per_actor, ray.layout_actors(cpus), gpus, ray.gpus_per_model_actor)
        before.append(layout)
    if config.ocr.model_routes():
        recognize = RecognizeStage(config.ocr, config.pairs)
        _share(recognize, ray.recognize_cpus_per_actor, ray.max_recognize_actors, gpus, ray.gpus_per_model_actor)
        after.append(recognize)
    if config.caption is not None:
        caption = CaptionStage(config.caption)
        _share(caption, ray.caption_cpus_per_actor, ray.max_caption_actors, gpus, ray.gpus_per_model_actor)
        after.append(caption)
    scripts = config.candidate_scripts()
    # a script the run cannot meet needs no first model (nor the language models that judge its readings)
    tesseract = config.tesseract.model_copy(
        update={"try_first": {code: m for code, m in config.tesseract.try_first.items() if code in scripts}})
    ocr = OcrStage(tesseract, scripts, {code: config.hinted_languages(code) for code in scripts}, config.pairs,
                   config.limits, script_id=config.ocr.script_id)
    ocr.num_cpus, ocr.num_gpus = ray.ocr_cpus_per_actor, 0.0
    # each pool may grow to its max_actors, every actor holding its CPUs: they must all fit beside OCR
    others = ingest.num_cpus + sum(s.num_cpus * s.max_actors for s in (*before, *after))
    if others + ocr.num_cpus > cpus + 1e-9:
        raise UsageError(f"the stages need {others + ocr.num_cpus:g} CPUs at least but the cluster has {cpus:g}; "
                         "lower ray.*_cpus_per_actor or add CPUs")
    # one Tesseract per core left (fractional CPUs let 2 engines share 2 cores with the light stages, but 80
    # cores must not run 97 engines), and never more than the reservations hold
    fit = min(int((cpus - others) / ocr.num_cpus + 1e-9), max(1, round(cpus - others)))
    ocr.max_actors = max(1, min(ray.max_ocr_actors or fit, fit))
    return ingest, [*before, ocr, *after]


def _share(stage: Stage, cpus: float, actors: int, cluster_gpus: float, gpus_per_actor: float) -> None:
    stage.num_cpus, stage.num_gpus, stage.max_actors = cpus, 0.0, actors
    if stage.uses_gpu and cluster_gpus > 0 and gpus_per_actor > 0:
        stage.num_gpus = gpus_per_actor
        stage.max_actors = max(1, min(actors, int(cluster_gpus / gpus_per_actor)))
        log.info("%s actors use %g GPU each", stage.name, gpus_per_actor)
