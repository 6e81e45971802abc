"""The Prefect server the queue lives in: a client for it, and what to do when it does not answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ocr_models.lontar_errors import OrchestratorError


@contextmanager
def prefect_client() -> Iterator[Any]:
    """A synchronous Prefect client for the configured server (PREFECT_API_URL), or for Prefect's embedded one.

    Raises OrchestratorError, with what to do, when the server does not answer.
    """
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL

    with get_client(sync_client=True) as client:
        failure = client.api_healthcheck()
        if failure is not None:
            where = PREFECT_API_URL.value() or "the embedded Prefect server"
            raise OrchestratorError(f"the Prefect server at {where} does not answer ({failure}); start it with "
                                    "`lontar serve`, or unset PREFECT_API_URL to use the embedded one")
        yield client
