"""The local Ray cluster `lontar run` starts first thing: the run takes it over, and it is down when the command
ends, whether a run used it or not."""

from __future__ import annotations

import time

import psutil
import pytest
import ray

from actors import ray_adapter
from actors.ray_adapter import ray_cluster, started_early

SETTINGS = {"num_cpus": 1, "object_store_mb": 100}


@ray.remote(num_cpus=0.1)
def answer() -> str:
    return "ran"


def ray_processes() -> set[int]:
    names = ("raylet", "gcs_server")
    return {p.pid for p in psutil.process_iter(["name"]) if any(n in (p.info["name"] or "") for n in names)}


def test_the_run_takes_over_the_cluster_started_early_and_it_is_down_when_the_command_ends():
    before = ray_processes()
    with started_early(None, **SETTINGS):
        time.sleep(1)  # the command imports meanwhile
        with ray_cluster(None, **SETTINGS):
            assert ray.cluster_resources()["CPU"] == 1
            time.sleep(2)  # the processes Ray started outlive the start (they are tied to the thread holding them)
            assert ray.get(answer.remote(), timeout=60) == "ran"
            started = ray_processes() - before
            assert started
    assert not ray.is_initialized()
    assert not ray_processes() & started


def test_a_run_that_needs_no_cluster_leaves_it_to_the_command_which_stops_it():
    before = ray_processes()
    with started_early(None, **SETTINGS):
        time.sleep(1)
    assert not ray.is_initialized()
    assert ray_processes() <= before


def test_nothing_starts_early_for_a_run_that_joins_a_cluster(monkeypatch):
    with started_early("127.0.0.1:1", **SETTINGS):
        assert ray_adapter._take_early(SETTINGS["num_cpus"], SETTINGS["object_store_mb"]) is None
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    with started_early(None, **SETTINGS):
        assert ray_adapter._take_early(SETTINGS["num_cpus"], SETTINGS["object_store_mb"]) is None
    assert not ray.is_initialized()


def test_a_failed_start_is_the_runs_error_where_it_asks_for_its_cluster(monkeypatch):
    def broken(num_cpus: int | None, object_store_mb: int) -> None:
        raise RuntimeError("no room for a raylet")

    monkeypatch.setattr("actors.ray_adapter.start_local_cluster", broken)
    with started_early(None, **SETTINGS), pytest.raises(RuntimeError, match="no room for a raylet"), \
            ray_cluster(None, **SETTINGS):
        raise AssertionError("the run went on without a cluster")
    assert not ray.is_initialized()
