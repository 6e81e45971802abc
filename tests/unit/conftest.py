"""The unit layer (`make test-fast`): no Ray, no Prefect server, no child process. Each is refused here, so a
test that needs one says so at once and belongs in tests/e2e/."""

from __future__ import annotations

import subprocess

import pytest


def _refuse(what: str):
    def refused(*args, **kwargs):
        raise AssertionError(f"a unit test starts no {what}: this test belongs in tests/e2e/")

    return refused


@pytest.fixture(autouse=True)
def no_cluster_server_or_child_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    monkeypatch.setattr(ray, "init", _refuse("Ray cluster"))
    monkeypatch.setattr(subprocess, "Popen", _refuse("child process"))
