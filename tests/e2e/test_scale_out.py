"""Scale-out: `lontar run --ray-address` on a real two-node Ray cluster with token authentication, reading
its archive from and writing its dataset to object storage (S3 protocol), all on loopback."""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest

from flows.dataset.views import read_table
from tests.support.cli import run_cli
from tests.support.cluster import S3_SECRET, TOKEN, ray_nodes, s3_server, session_processes

pytestmark = pytest.mark.integration

ARCHIVE = "s3://archive/scans"
DATASET = "s3://lontar/dataset"


@pytest.fixture(scope="module")
def cluster_run(sample_archive: Path, tmp_path_factory, prefect_home, migrated_prefect_home) -> dict:
    work = tmp_path_factory.mktemp("cluster")
    (work / "token").write_text(TOKEN + "\n")
    with s3_server() as s3_env, mock.patch.dict(os.environ, s3_env):
        import s3fs

        s3 = s3fs.S3FileSystem()
        s3.mkdir("archive")
        s3.mkdir("lontar")
        s3.put(f"{sample_archive}/*.*", f"{ARCHIVE}/")
        with ray_nodes(work, cpus=[1, 1], extra_env=s3_env) as cluster, ThreadPoolExecutor(1) as background:
            # the run without the token, refused: it runs beside the real one (its own Prefect home, so that the
            # two embedded servers share no database)
            refused_home = tmp_path_factory.mktemp("refused") / "prefect-home"
            shutil.copytree(migrated_prefect_home, refused_home)
            refused_run = background.submit(timed, run_cli, "run", ARCHIVE, "--out", f"{DATASET}-refused",
                                            "--ray-address", cluster.address, env={"PREFECT_HOME": str(refused_home)})
            run = run_cli("run", ARCHIVE, "--out", DATASET, "--ray-address", cluster.address,
                          env={"RAY_AUTH_TOKEN_PATH": str(work / "token")})
            assert run.returncode == 0, run.stderr[-3000:]
            refused, refused_s = refused_run.result()
        (report_path,) = s3.glob(f"{DATASET}/_runs/*/*.json")
        report = json.loads(s3.cat_file(report_path))
        written = {path: s3.cat_file(path) for path in s3.find(DATASET)}
        pages = read_table(DATASET, "pages").to_pylist()
    return {"run": run, "report": report, "pages": pages, "written": written,
            "refused": refused, "refused_s": refused_s, "left": session_processes(cluster.sessions),
            "shipped": list((work / "ray").glob("session_*/runtime_resources/py_modules_files/*"))}


def timed(call, *args, **kwargs):
    """(what `call` returned, the seconds it took)."""
    started = time.monotonic()
    result = call(*args, **kwargs)
    return result, time.monotonic() - started


def test_both_nodes_do_work_and_the_dataset_is_complete(cluster_run, sample_archive):
    report, pages = cluster_run["report"], cluster_run["pages"]
    by_node = report["pages_by_node"]["ocr"]
    assert len(by_node) == 2 and all(count > 0 for count in by_node.values()), report["pages_by_node"]
    # every page read from its image passed an OCR actor; text-layer pages only when they rode with the scans
    assert 0 < len([p for p in pages if p["text_source"] != "text_layer"]) <= sum(by_node.values()) <= len(pages)
    assert sum(report["pages_by_node"]["ingest"].values()) == report["pages"]["total"] == len(pages) > 0
    assert report["pages"]["error"] == 0 and report["files"] == {"total": 8, "ok": 8}
    assert len({page["page_id"] for page in pages}) == len(pages)
    assert {page["source_uri"].rsplit("/", 1)[1] for page in pages} == {
        p.name for p in sample_archive.iterdir() if p.is_file()}
    assert all(page["source_uri"].startswith(ARCHIVE + "/") for page in pages)
    assert "pages by node: " in cluster_run["run"].stdout


def test_the_code_travels_with_the_job(cluster_run):
    # ray.ship_code (on by default) uploads Lontar's packages; the nodes unpack them beside the session
    assert cluster_run["shipped"], "no py_modules reached the cluster"


def test_a_cluster_with_token_auth_refuses_a_run_without_the_token_clearly_and_quickly(cluster_run):
    refused = cluster_run["refused"]
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "could not join the Ray cluster" in refused.stderr and "RAY_AUTH_TOKEN" in refused.stderr
    # ray.init retries an unauthenticated driver about once a second for about a minute (with the CLI's
    # start-up, 78-82 s alone and 114 s on a loaded machine); the run asks the cluster's GCS first, which
    # refuses at once: 6.8 s beside the real run, the CLI's start-up included.
    assert cluster_run["refused_s"] < 30, cluster_run["refused_s"]


def test_credentials_reach_no_row_log_or_report(cluster_run):
    run = cluster_run["run"]
    assert S3_SECRET not in run.stdout + run.stderr
    assert TOKEN not in run.stdout + run.stderr
    for path, data in cluster_run["written"].items():
        assert S3_SECRET.encode() not in data and TOKEN.encode() not in data, path
    assert not any(S3_SECRET in str(page) for page in cluster_run["pages"])


def test_the_cluster_processes_are_all_gone_after_stopping(cluster_run):
    assert cluster_run["left"] == []
