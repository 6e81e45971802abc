"""The cluster's life for a run, without a cluster: which cluster a run uses, how it fails when there is none, and
the hand-over of the local cluster started early. Ray's own start and stop are replaced by stand-ins here; the
real ones are in tests/e2e/test_ray_cluster_started_early.py."""

from __future__ import annotations

import socket
import threading

import pytest
import ray

from actors.cluster import lifecycle
from actors.cluster.lifecycle import (
    EarlyCluster,
    check_reachable,
    cluster_address,
    join,
    let_go,
    ray_cluster,
    start_local,
    started_early,
)
from ocr_models.lontar_errors import LontarError, TransientError, UsageError

SETTINGS = {"num_cpus": 1, "object_store_mb": 100}


@pytest.fixture()
def local_cluster(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """Stand-ins for starting and stopping a local cluster, noting which thread did each."""
    calls: dict[str, list] = {"start": [], "stop": []}
    monkeypatch.setattr(lifecycle, "start_local_cluster",
                        lambda *settings: calls["start"].append((settings, threading.current_thread().name)))
    monkeypatch.setattr(lifecycle, "shutdown_ray", lambda: calls["stop"].append(threading.current_thread().name))
    return calls


def test_a_run_joins_the_configured_address_else_ray_address_else_starts_its_own(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert cluster_address(None) is None
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    assert cluster_address(None) == "10.0.0.1:6379"
    assert cluster_address("ray://head:10001") == "ray://head:10001"


def test_an_address_where_nothing_listens_is_a_usage_error_at_once():
    with pytest.raises(UsageError, match="not of the form host:port"):
        check_reachable("head-without-port")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(UsageError, match=f"no Ray cluster answers at 127.0.0.1:{port}"):
        check_reachable(f"127.0.0.1:{port}")
    with pytest.raises(UsageError, match="no Ray cluster answers"), \
            ray_cluster(f"ray://127.0.0.1:{port}", **SETTINGS):
        raise AssertionError("the run went on without a cluster")
    with socket.create_server(("127.0.0.1", 0)) as server:
        check_reachable(f"ray://127.0.0.1:{server.getsockname()[1]}")


def test_a_cluster_that_refuses_the_driver_names_the_token_settings(monkeypatch):
    """A token-auth cluster refuses a driver without its token at the first call of a GCS client (within
    milliseconds; ray.init would retry for a minute); were ray.init the one to refuse, the same words."""
    def refused_token(**kwargs):
        raise ray.exceptions.AuthenticationError("Authentication token is missing or incorrect")

    def refused(**kwargs):
        raise ConnectionError("Failed to connect to the GCS")

    monkeypatch.setattr(ray._raylet, "GcsClient", refused_token)
    monkeypatch.setattr(ray, "init", refused)
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    with socket.create_server(("127.0.0.1", 0)) as server, \
            pytest.raises(UsageError, match=r"missing or incorrect.*RAY_AUTH_TOKEN_PATH .*RAY_AUTH_MODE here: token"):
        join(f"127.0.0.1:{server.getsockname()[1]}", {})
    monkeypatch.setattr(ray._raylet, "GcsClient", lambda **kwargs: None)
    with socket.create_server(("127.0.0.1", 0)) as server, \
            pytest.raises(UsageError, match=r"Failed to connect.*RAY_AUTH_TOKEN_PATH .*RAY_AUTH_MODE here: token"):
        join(f"127.0.0.1:{server.getsockname()[1]}", {})


def test_an_address_where_something_other_than_a_ray_cluster_listens_is_a_usage_error(monkeypatch):
    def no_gcs(**kwargs):
        raise ray.exceptions.RpcError("Timed out while waiting for GCS to become available.")

    monkeypatch.setattr(ray._raylet, "GcsClient", no_gcs)
    monkeypatch.setattr(ray, "init", lambda **kwargs: pytest.fail("ray.init after no GCS answered"))
    with socket.create_server(("127.0.0.1", 0)) as server, \
            pytest.raises(UsageError, match="something listens there, but not a Ray GCS"):
        join(f"127.0.0.1:{server.getsockname()[1]}", {})


def test_a_local_cluster_that_misses_rays_start_window_is_tried_again_then_is_a_transient_error(monkeypatch):
    tries = []

    def slow(**kwargs):
        tries.append(kwargs)
        raise RuntimeError("The raylet timed out during startup")

    monkeypatch.setattr(ray, "init", slow)
    with pytest.raises(TransientError, match="did not start 3 times"):
        start_local(num_cpus=1)
    assert len(tries) == 3

    def broken(**kwargs):
        raise ValueError("object_store_memory too small")

    monkeypatch.setattr(ray, "init", broken)
    with pytest.raises(ValueError, match="too small"):  # any other failure is the run's error at once
        start_local(num_cpus=1)


def test_the_run_takes_over_the_cluster_started_early_and_its_thread_stops_it(local_cluster, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    with started_early(None, **SETTINGS), ray_cluster(None, **SETTINGS):
        assert lifecycle.own_cluster()
        assert local_cluster["start"] == [((1, 100), "lontar-ray")]  # started in the cluster's own thread
    assert not lifecycle.own_cluster()
    assert local_cluster["stop"] == ["lontar-ray"]  # and shut down by it: Ray ties its processes to that thread


def test_a_cluster_of_other_settings_is_not_taken_over(local_cluster, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    with started_early(None, **SETTINGS):
        assert lifecycle._take_early(2, 100) is None
    assert local_cluster["stop"] == ["lontar-ray"]  # the command stops what it started, used or not


def test_nothing_starts_early_for_a_run_that_joins_a_cluster(local_cluster, monkeypatch):
    with started_early("127.0.0.1:1", **SETTINGS):
        assert lifecycle._take_early(SETTINGS["num_cpus"], SETTINGS["object_store_mb"]) is None
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    with started_early(None, **SETTINGS):
        assert lifecycle._take_early(SETTINGS["num_cpus"], SETTINGS["object_store_mb"]) is None
    assert local_cluster["start"] == [] and not ray.is_initialized()


def test_a_failed_start_is_the_runs_error_where_it_asks_for_its_cluster(monkeypatch):
    def broken(num_cpus: int | None, object_store_mb: int) -> None:
        raise RuntimeError("no room for a raylet")

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(lifecycle, "start_local_cluster", broken)
    with started_early(None, **SETTINGS), pytest.raises(RuntimeError, match="no room for a raylet"), \
            ray_cluster(None, **SETTINGS):
        raise AssertionError("the run went on without a cluster")
    assert not ray.is_initialized()


def test_a_cluster_that_does_not_stop_cleanly_says_so_when_the_command_waits_for_it(monkeypatch):
    def stuck() -> None:
        raise OSError("raylet still running")

    monkeypatch.setattr(lifecycle, "start_local_cluster", lambda *settings: None)
    monkeypatch.setattr(lifecycle, "shutdown_ray", stuck)
    early = EarlyCluster(**SETTINGS)
    early.wait()
    with pytest.raises(LontarError, match=r"did not stop cleanly .*OSError: raylet still running"):
        early.stop()


def test_letting_go_of_a_joined_cluster_disconnects_at_once(local_cluster):
    let_go(None, in_background=True)
    assert local_cluster["stop"] == [threading.current_thread().name]
