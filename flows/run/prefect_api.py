"""The Prefect server the queue lives in: a client for it, and what to do when it does not answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ocr_models.lontar_errors import OrchestratorError


@contextmanager
def prefect_client() -> Iterator[Any]:
    """A synchronous Prefect client for the configured server (PREFECT_API_URL), or for Prefect's embedded one.

    Raises OrchestratorError, with what to do, when the server does not answer or refuses Lontar's requests (a
    server with an auth string, and none or another in PREFECT_API_AUTH_STRING).
    """
    from prefect import get_client
    from prefect.exceptions import PrefectHTTPStatusError
    from prefect.settings import PREFECT_API_URL

    with get_client(sync_client=True) as client:
        where = PREFECT_API_URL.value() or "the embedded Prefect server"
        failure = client.api_healthcheck()  # /health answers without the auth string
        if failure is not None:
            raise OrchestratorError(f"the Prefect server at {where} does not answer ({failure}); start it with "
                                    "`lontar serve`, or unset PREFECT_API_URL to use the embedded one")
        try:
            client.hello()
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code != 401:
                raise
            raise OrchestratorError(f"the Prefect server at {where} refuses requests without its auth string: "
                                    "set PREFECT_API_AUTH_STRING to it (user:password; docs/queue.md, "
                                    "'The server in production')") from None
        yield client
