"""Locks under a dataset root (flock, local disks only): one run writes a batch at a time, and one rebuilds the
manifest at a time. Object storage has no locks (docs/dataset.md, "Two runs at once")."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator

import fsspec
from fsspec.implementations.local import LocalFileSystem

from actors.store import dataset_layout as layout
from ocr_models.lontar_errors import UsageError


@contextlib.contextmanager
def _flock(dataset: str, name: str, wait: bool) -> Iterator[bool]:
    """Hold `name` under the dataset root with flock; yields False when `wait` is off and another holds it.
    Object storage has no locks: there it yields True at once (see docs/dataset.md, "Two runs at once")."""
    fs, root = fsspec.core.url_to_fs(dataset)
    if not isinstance(fs, LocalFileSystem):
        yield True
        return
    path = f"{root.rstrip('/')}/{name}"
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def locked(dataset: str) -> Iterator[None]:
    """Hold the dataset's lock while rebuilding its manifest and card: two runs finishing at once must not
    write a manifest that misses the other's units."""
    with _flock(dataset, layout.DATASET_LOCK, wait=True):
        yield


@contextlib.contextmanager
def batch_lock(dataset: str, batch_id: str) -> Iterator[None]:
    """Only one run writes a batch at a time: a second is refused at once, before it reads a page, instead of
    racing the first over the same units. Other batches write beside it."""
    with _flock(dataset, layout.batch_lock(batch_id), wait=False) as held:
        if not held:
            raise UsageError(f"another run is writing batch {batch_id} into {dataset}; let it finish (or stop "
                             "it) and run again")
        yield


@contextlib.contextmanager
def compact_lock(dataset: str) -> Iterator[None]:
    """One compaction of a dataset at a time: a second is refused at once."""
    with _flock(dataset, layout.COMPACT_LOCK, wait=False) as held:
        if not held:
            raise UsageError(f"another `lontar compact` is compacting {dataset}; let it finish and run again")
        yield
