"""The queue's lease: one nightly run at a time takes batches."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from ocr_models.lontar_errors import OrchestratorError

NIGHTLY_LEASE = "lontar_nightly_lease"  # a Prefect variable: which nightly run holds the queue, until when
LEASE_SETTLE_S = 1.0


class QueueLease:
    """One nightly run at a time holds the queue: a lease in the Prefect variable NIGHTLY_LEASE, renewed while
    the run lives. A run that dies lets go when its lease lapses; the next run then knows that batches left
    Pending or Running belong to nobody (requeue_orphans).

    Prefect's own global concurrency leases are not used: their default store is the server's memory and
    their repossessor does not run in the embedded server, so a crashed holder kept the queue for ever.
    """

    def __init__(self, client: Any, owner: str, lease_s: int) -> None:
        self.client, self.owner, self.lease_s = client, owner, lease_s
        self._written = 0.0

    def _read(self) -> dict | None:
        variable = self.client.read_variable_by_name(NIGHTLY_LEASE)
        return variable.value if variable is not None and isinstance(variable.value, dict) else None

    def _write(self) -> None:
        from prefect.client.schemas.actions import VariableCreate, VariableUpdate

        until = datetime.now(UTC).timestamp() + self.lease_s
        value = {"owner": self.owner, "until": until,
                 "until_text": datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds")}
        if self.client.read_variable_by_name(NIGHTLY_LEASE) is None:
            self.client.create_variable(VariableCreate(name=NIGHTLY_LEASE, value=value))
        else:
            self.client.update_variable(VariableUpdate(name=NIGHTLY_LEASE, value=value))
        self._written = time.monotonic()

    def acquire(self, wait_s: float) -> bool:
        """Take the lease when it is free or lapsed, waiting up to `wait_s` for a holder's lease to lapse."""
        deadline = time.monotonic() + wait_s
        while True:
            held = self._read()
            if held is None or held["owner"] == self.owner or held["until"] < datetime.now(UTC).timestamp():
                self._write()
                time.sleep(LEASE_SETTLE_S)  # two runs that wrote at once: the last write wins, the other yields
                if (self._read() or {}).get("owner") == self.owner:
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(LEASE_SETTLE_S)

    def renew(self) -> None:
        """Extend the lease (at most every third of its length); an error if another run has taken it."""
        if time.monotonic() - self._written < self.lease_s / 3:
            return
        held = self._read()
        if held is not None and held["owner"] != self.owner:
            raise OrchestratorError(f"the queue's lease was taken by nightly run {held['owner']}")
        self._write()

    def release(self) -> None:
        held = self._read()
        if held is not None and held["owner"] == self.owner:
            self.client.delete_variable_by_name(NIGHTLY_LEASE)
