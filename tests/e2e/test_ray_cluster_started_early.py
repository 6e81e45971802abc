"""The local Ray cluster `lontar run` starts first thing: the run takes it over, and it is down when the command
ends, whether a run used it or not."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import ray

from actors.cluster.lifecycle import held_object_refs, ray_cluster, started_early
from actors.cluster.stream import run_stream
from actors.stages.base import Row, Stage
from tests.support.cli import REPO

SETTINGS = {"num_cpus": 1, "object_store_mb": 100}


@ray.remote(num_cpus=0.1)
def answer() -> str:
    return "ran"


class Identity(Stage):
    name, num_cpus, num_gpus, max_actors = "identity", 0.25, 0.0, 1

    def process(self, rows: list[Row]) -> list[Row]:
        return rows


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


LAST_MOMENTS = """
import gc, threading, time
import ray
from flows import environment
environment.apply()
from actors.cluster.lifecycle import ray_cluster, started_early

class Cycle:
    pass

stopping = threading.Event()
shutdown = ray.shutdown
def observed_shutdown(*args, **kwargs):
    stopping.set()
    shutdown(*args, **kwargs)
ray.shutdown = observed_shutdown

with started_early(None, num_cpus=1, object_store_mb=100):
    with ray_cluster(None, num_cpus=1, object_store_mb=100):
        for i in range(200):
            cycle = Cycle(); cycle.me = cycle; cycle.ref = ray.put(i)
        del cycle
        kept = [ray.put(i) for i in range(20000)]
    assert stopping.wait(60)
    while kept:
        kept.pop()
        if len(kept) % 500 == 0:
            gc.collect()
        time.sleep(0.0001)
print("let go of everything")
"""


def test_what_the_run_lets_go_of_while_ray_stops_never_ends_the_process():
    result = subprocess.run([sys.executable, "-c", LAST_MOMENTS], capture_output=True, text=True, timeout=300,
                            cwd=REPO, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "let go of everything" in result.stdout


def test_a_finished_stream_leaves_the_driver_holding_nothing_of_ray():
    """What lets the early cluster stop while the run writes its report: after one collection, no object
    reference of the stream is left (Ray Data's cycles held 12 after a one-page run)."""
    with ray_cluster(None, **SETTINGS):
        tasks = [{"source_uri": f"/page-{i}", "page_index": i} for i in range(8)]
        batches = list(run_stream(tasks, Identity(), [Identity()]))
        assert sum(batch.num_rows for batch in batches) == 8
        del batches
        assert held_object_refs() == 0
