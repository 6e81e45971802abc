"""The unit layer keeps its promise: a test here that starts a child process or a Ray cluster fails at once,
saying where it belongs (tests/unit/conftest.py)."""

from __future__ import annotations

import subprocess

import pytest
import ray


def test_a_child_process_is_refused():
    with pytest.raises(AssertionError, match="starts no child process: this test belongs in tests/e2e/"):
        subprocess.run(["true"], check=True)


def test_a_ray_cluster_is_refused():
    with pytest.raises(AssertionError, match="starts no Ray cluster"):
        ray.init(num_cpus=1)
    assert not ray.is_initialized()
