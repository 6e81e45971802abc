"""Preflight: check every dependency and the output location before any work fans out."""

from __future__ import annotations

import uuid

import fsspec

from configs.model import RunConfig
from ocr_models import registry
from ocr_models.lontar_errors import MissingDependencyError, OutputError
from ocr_models.scripts import BY_CODE, apt_package_for_model
from ocr_models.tesseract import tesserocr_api as tess


def required_models(config: RunConfig) -> list[str]:
    models = {"osd"}
    for code in config.candidate_scripts():
        model = config.tesseract.model_for(BY_CODE[code], config.hinted_languages(code))
        models.update(model.split("+"))
        models.update(BY_CODE[code].model.split("+"))  # script detection reads with the default model
    return sorted(models)


def check_tesseract(config: RunConfig) -> str:
    """Tesseract's version, or MissingDependencyError naming the apt packages to install."""
    tessdata = config.tesseract.resolved_tessdata_dir()
    try:
        installed = tess.installed_models(tessdata)
    except Exception as exc:
        raise MissingDependencyError(f"no Tesseract models in {tessdata}: {exc} "
                                     "(apt-get install tesseract-ocr)") from exc
    missing = [m for m in required_models(config) if m not in installed]
    if missing:
        packages = " ".join(sorted({apt_package_for_model(m) for m in missing}))
        raise MissingDependencyError(f"missing Tesseract model(s) {', '.join(missing)} in {tessdata}; "
                                     f"install them with: apt-get install {packages}")
    return tess.version()


def check_models(config: RunConfig) -> None:
    """The layout, recognizer, caption and script identification models load (their configs, offline), before
    any work fans out."""
    for options in (config.layout, *config.ocr.model_routes().values(), config.caption, config.ocr.script_id):
        if options is not None and not registry.builds_nothing(options):
            registry.check(options)


def check_output(out: str) -> None:
    """The output location exists or can be made, and a file can be written and removed there."""
    try:
        fs, root = fsspec.core.url_to_fs(out)
        fs.makedirs(root, exist_ok=True)
        probe = f"{root.rstrip('/')}/.lontar-write-test-{uuid.uuid4().hex}"
        with fs.open(probe, "wb") as handle:
            handle.write(b"ok")
        fs.rm(probe)
    except (OSError, PermissionError, ValueError) as exc:
        raise OutputError(f"cannot write to output {out}: {getattr(exc, 'strerror', None) or exc}") from exc


def check_cluster(config: RunConfig) -> str | None:
    """The Ray cluster the run joins (ray.address, else RAY_ADDRESS; None: a local one), checked to answer."""
    from actors.cluster.lifecycle import check_reachable, cluster_address

    address = cluster_address(config.ray.address)
    if address:
        check_reachable(address)
    return address
