"""Rows written where they are made: the run's dataset index as one Ray actor, and the write step that the last
stage of the stream runs on each batch (actors/store/unit_stream.write_batch), so that only file names and counts
reach the driver."""

from __future__ import annotations

from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import ray

from actors.store.dataset_index import DatasetIndex
from actors.store.unit_stream import write_batch
from actors.store.writer import ShardWriter
from configs.model import NearDuplicateOptions, OutputOptions


class IndexActor:
    """The run's DatasetIndex, loaded by the actor itself from the dataset's committed shards (their paths are
    all the driver sends): the signatures never pass through the driver."""

    def __init__(self, dataset: str, page_shards: list[str], pair_shards: list[str],
                 options: NearDuplicateOptions | None) -> None:
        self.index = DatasetIndex.load(dataset, page_shards, pair_shards, options)

    def mark(self, unit_id: str, pages: list, images: list) -> tuple[list, list]:
        return self.index.mark(unit_id, pages, images)

    def commit(self, unit_id: str) -> None:
        self.index.commit(unit_id)

    def drop(self, unit_id: str) -> None:
        self.index.drop(unit_id)


def start_index(dataset: str, page_shards: list[str], pair_shards: list[str],
                options: NearDuplicateOptions | None) -> RemoteIndex:
    """The index actor of a run (no CPU reserved: it only looks signatures up; the writers compute them)."""
    actor = ray.remote(num_cpus=0, max_restarts=0)(IndexActor).remote(dataset, page_shards, pair_shards, options)
    return RemoteIndex(actor, options)


class RemoteIndex:
    """A DatasetIndex held by an IndexActor, asked from any process of the cluster (picklable)."""

    def __init__(self, actor: Any, options: NearDuplicateOptions | None) -> None:
        self.actor, self.options = actor, options

    def mark(self, unit_id: str, pages: list[tuple[str, np.ndarray | None]], images: list[tuple[str, str]]
             ) -> tuple[list[str | None], list[str | None]]:
        return ray.get(self.actor.mark.remote(unit_id, pages, images))

    def commit(self, unit_id: str) -> None:
        ray.get(self.actor.commit.remote(unit_id))

    def drop(self, unit_id: str) -> None:
        ray.get(self.actor.drop.remote(unit_id))

    def stop(self) -> None:
        ray.kill(self.actor)


class UnitWriting:
    """The write step of a stream: a batch of rows in, one WRITTEN row per unit out (picklable; run by the last
    stage's Ray worker)."""

    def __init__(self, dataset: str, stamp: dict[str, str], limits: OutputOptions, index: RemoteIndex) -> None:
        self.dataset, self.stamp, self.limits, self.index = dataset, stamp, limits, index

    def __call__(self, batch: pa.Table) -> pa.Table:
        fs, root = fsspec.core.url_to_fs(self.dataset)
        return write_batch(batch, lambda unit_id: ShardWriter(fs, root, unit_id, self.stamp, limits=self.limits,
                                                              index=self.index))
