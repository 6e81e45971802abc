"""DatasetIndex: what a run's writers ask of the whole dataset while they write, answered in one place (one Ray
actor during a run, or in process for a single writer): whether a page's text nearly repeats an earlier page's
(actors/store/near_duplicates.py), and whether a figure's or table's image is stored already.

The writers compute the signatures and image hashes themselves; the index only looks them up. A unit's pages
and images join the index when the unit commits (`commit`), never before: an aborted unit leaves no trace. Until
then they answer only for later pages of the same unit. Asking again for a page already answered (a write task
Ray retried after its worker died) gives the same answer.
"""

from __future__ import annotations

import logging

import fsspec
import numpy as np
import pyarrow.parquet as pq

from actors.store.near_duplicates import NearDuplicates
from configs.model import NearDuplicateOptions

log = logging.getLogger(__name__)
DEDUPLICATED_KINDS = ("figure", "table")  # a line's crop is its own: the same bytes twice are a coincidence


class DatasetIndex:
    """The dataset's page signatures and stored images, and those of each uncommitted unit apart."""

    def __init__(self, near: NearDuplicates | None = None, images: dict[str, str] | None = None) -> None:
        """`near`: the committed pages' signatures (None: near-duplicates are not looked for). `images`:
        image_sha256 -> pair_id of every figure and table image the dataset stores."""
        self.near = near
        self.images = dict(images or {})
        self._pending_near: dict[str, NearDuplicates] = {}
        self._pending_images: dict[str, dict[str, str]] = {}

    @property
    def options(self) -> NearDuplicateOptions | None:
        return self.near.options if self.near is not None else None

    def mark(self, unit_id: str, pages: list[tuple[str, np.ndarray | None]], images: list[tuple[str, str]]
             ) -> tuple[list[str | None], list[str | None]]:
        """For pages (page_id, text signature or None) and figure or table images (pair_id, image_sha256) of
        unit `unit_id`, in the order written: each page's `near_duplicate_of` (the cluster's earliest page, None
        for a page that repeats none) and each image's `duplicate_of` (the pair that stores it, None for the
        first)."""
        return [self._mark_page(unit_id, page_id, signature) for page_id, signature in pages], [
            self._mark_image(unit_id, pair_id, digest) for pair_id, digest in images]

    def _mark_page(self, unit_id: str, page_id: str, signature: np.ndarray | None) -> str | None:
        if signature is None or self.near is None:
            return None
        pending = self._pending_near.get(unit_id)
        if pending is None:
            pending = self._pending_near[unit_id] = self.near.sibling()
        cluster = pending.cluster.get(page_id) or self.near.cluster.get(page_id)
        if cluster is None:
            cluster = self.near.match(signature) or pending.match(signature) or page_id
            pending.add(page_id, cluster, signature)
        return None if cluster == page_id else cluster

    def _mark_image(self, unit_id: str, pair_id: str, digest: str) -> str | None:
        pending = self._pending_images.setdefault(unit_id, {})
        first = self.images.get(digest) or pending.setdefault(digest, pair_id)
        return None if first == pair_id else first

    def commit(self, unit_id: str) -> None:
        """The unit's pages and images now count for every later page."""
        pending = self._pending_near.pop(unit_id, None)
        if pending is not None:
            self.near.merge(pending)
        for digest, pair_id in self._pending_images.pop(unit_id, {}).items():
            self.images.setdefault(digest, pair_id)

    def drop(self, unit_id: str) -> None:
        """Forget an uncommitted unit's pages and images."""
        self._pending_near.pop(unit_id, None)
        self._pending_images.pop(unit_id, None)

    @classmethod
    def load(cls, dataset: str, page_shards: list[str], pair_shards: list[str],
             options: NearDuplicateOptions | None) -> DatasetIndex:
        """The index of the committed shards given (paths relative to `dataset`, e.g. a snapshot's): every page
        signature, oldest first (signatures of another length, from another `near_duplicates.num_perm`, cannot
        be compared and are left out), and every figure and table image stored."""
        fs, root = fsspec.core.url_to_fs(dataset)
        root = root.rstrip("/")
        near = NearDuplicates(options) if options is not None else None
        if near is not None:
            columns = ["created_at", "page_id", "near_duplicate_cluster", "text_minhash"]
            rows = []
            for path in page_shards:
                if "text_minhash" in pq.read_schema(f"{root}/{path}", filesystem=fs).names:
                    rows += pq.read_table(f"{root}/{path}", columns=columns, filesystem=fs).to_pylist()
            for row in sorted(rows, key=lambda r: (r["created_at"], r["page_id"])):
                if row["text_minhash"] is not None and len(row["text_minhash"]) == options.num_perm:
                    near.add(row["page_id"], row["near_duplicate_cluster"],
                             np.asarray(row["text_minhash"], dtype=np.uint32))
        images: dict[str, str] = {}
        for path in pair_shards:
            if not any(f"/kind={kind}/" in f"/{path}" for kind in DEDUPLICATED_KINDS):
                continue
            table = pq.read_table(f"{root}/{path}", columns=["image_sha256", "pair_id", "duplicate_of"],
                                  filesystem=fs)
            for row in table.to_pylist():
                if row["duplicate_of"] is None and row["image_sha256"] is not None:
                    first = images.get(row["image_sha256"])
                    images[row["image_sha256"]] = min(first, row["pair_id"]) if first else row["pair_id"]
        log.debug("dataset index: %d page signatures, %d images", len(near.order) if near else 0, len(images))
        return cls(near, images)
