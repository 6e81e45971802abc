"""Export pairs as WebDataset tar shards for streaming loaders.

A sample is `<pair_id>.<png|jpg>` (the crop), `<pair_id>.txt` (its text, when it has one) and
`<pair_id>.json` (kind, script, lang, confidence, alignment, provenance). Pairs marked `duplicate_of` are
left out: the pair holding the same bytes is exported once. Each tar is written under a temporary name and
renamed when complete.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass, field

import duckdb
import fsspec

from actors.store.writer import write_text
from flows.dataset.views import connect
from ocr_models.lontar_errors import UsageError

META_COLUMNS = ("pair_id", "kind", "script", "lang", "ocr_confidence", "page_id", "source_uri", "source_sha256",
                "page_index", "bbox", "width", "height", "printed_caption", "generated_caption", "caption_model",
                "text_chars", "script_purity", "garbage_score", "repetition_score", "batch_id")
EXTENSIONS = {"png": "png", "jpeg": "jpg"}


@dataclass
class ExportResult:
    shards: list[str] = field(default_factory=list)
    samples: int = 0
    bytes: int = 0


def export_webdataset(dataset: str, out: str, *, where: str | None = None, shard_max_mb: int = 256,
                      shard_max_samples: int = 10_000, batch_rows: int = 256) -> ExportResult:
    """Write the dataset's pairs (those matching the SQL `where`, if given) to `out/pairs-000000.tar`, ...;
    `out/_export.json` lists the shards and the query."""
    fs, root = fsspec.core.url_to_fs(out)
    root = root.rstrip("/")
    fs.makedirs(root, exist_ok=True)
    if fs.glob(f"{root}/pairs-*.tar"):
        raise UsageError(f"{out} already holds exported shards; export into an empty folder")
    columns = ", ".join(("image", "image_format", "text", "alignment", *META_COLUMNS))
    sql = f"SELECT {columns} FROM pairs WHERE duplicate_of IS NULL" + (f" AND ({where})" if where else "")
    try:
        reader = connect(dataset).sql(sql).to_arrow_reader(batch_rows)
    except duckdb.Error as exc:
        raise UsageError(f"cannot select pairs with {where!r}: {exc}") from exc
    result = ExportResult()
    writer = _TarWriter(fs, root)
    for batch in reader:
        for row in batch.to_pylist():
            if writer.samples >= shard_max_samples or writer.bytes >= shard_max_mb << 20:
                result.shards.append(writer.commit())
                writer = _TarWriter(fs, root, len(result.shards))
            writer.add(row)
            result.samples += 1
    if writer.samples:
        result.shards.append(writer.commit())
    else:
        writer.abort()
    result.bytes = sum(fs.size(f"{root}/{name}") for name in result.shards)
    write_text(fs, f"{root}/_export.json", json.dumps(
        {"format": "webdataset", "dataset": dataset, "where": where, "samples": result.samples,
         "shards": result.shards}, indent=1))
    return result


class _TarWriter:
    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, number: int = 0) -> None:
        self.fs, self.name = fs, f"pairs-{number:06d}.tar"
        self.final, self.temp = f"{root}/{self.name}", f"{root}/.{self.name}.tmp"
        self._file = fs.open(self.temp, "wb")
        self._tar = tarfile.TarFile(fileobj=self._file, mode="w", format=tarfile.PAX_FORMAT)
        self.samples = self.bytes = 0

    def add(self, row: dict) -> None:
        key = row["pair_id"]
        meta = {name: row[name] for name in META_COLUMNS} | {"alignment": row["alignment"]}
        members = [(f"{key}.{EXTENSIONS.get(row['image_format'], row['image_format'])}", row["image"]),
                   (f"{key}.json", json.dumps(meta, ensure_ascii=False).encode())]
        if row["text"] is not None:
            members.append((f"{key}.txt", row["text"].encode()))
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            self._tar.addfile(info, io.BytesIO(data))
            self.bytes += len(data) + 512
        self.samples += 1

    def commit(self) -> str:
        self._tar.close()
        self._file.close()
        self.fs.mv(self.temp, self.final)
        return self.name

    def abort(self) -> None:
        self._tar.close()
        self._file.close()
        self.fs.rm(self.temp)
