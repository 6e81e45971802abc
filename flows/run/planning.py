"""Planning: find the input files, fingerprint them, and cut the work into deterministic units.

A unit's id is a hash of what it reads (file hashes and page ranges) and of the output-relevant config, so
the same inputs and config always give the same units, and a unit already written can be recognised.
"""

from __future__ import annotations

import glob as globlib
import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import fsspec

from actors.sources.documents import all_text_layers, open_document, password_for, read_text_layers, sniff_format
from configs.model import IngestOptions, RunConfig
from ocr_models.lontar_errors import NoInputError, describe, error_kind, without_credentials
from ocr_models.registry import TesseractOptions

log = logging.getLogger(__name__)
GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class SourceFile:
    url: str  # how to open it (may carry credentials and undecodable bytes; never written anywhere)
    uri: str  # what rows and reports show: the url without credentials
    sha256: str
    format: str
    size: int
    page_count: int  # -1 when the file cannot be opened
    error_kind: str | None = None
    error: str | None = None
    duplicate_of: str | None = None  # uri of an earlier input with the same bytes: its pages are not repeated
    # its pages' text-layer judgements (`judge`), up to the first page not taken from its text layer
    text_layers: tuple[str, ...] = ()

    @property
    def text_only(self) -> bool:
        """Every page comes from its text layer: no layout or OCR actor is needed for it."""
        return all_text_layers(self.text_layers, self.page_count)

    @property
    def judgeable(self) -> bool:
        """A PDF to judge the text layers of (images have none; a duplicate or a broken file is not read)."""
        return self.format == "pdf" and not self.error_kind and not self.duplicate_of


@dataclass(frozen=True)
class Unit:
    unit_id: str
    tasks: list[dict]
    pages: int
    text_only: bool = False  # every page from a text layer (or a file error): streamed without model stages


@dataclass
class Plan:
    files: list[SourceFile]
    units: list[Unit] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return sum(unit.pages for unit in self.units)


def redact(url: str) -> str:
    """The url as rows and reports show it: credentials removed, undecodable name bytes escaped (\\xff)."""
    return without_credentials(url.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))


def discover(inputs: list[str]) -> list[str]:
    """Every file named by `inputs` (files, folders searched recursively, globs), sorted, deduplicated.

    Hidden files and folders (a leading dot) are skipped: they are system files, not scans.
    """
    found: set[str] = set()
    for item in inputs:
        fs, path = fsspec.core.url_to_fs(item)
        protocol = item.split("://", 1)[0] + "://" if "://" in item else ""
        root = path  # only names below what the user named can hide a file (a named file never hides)
        if GLOB_CHARS & set(path):
            root = path[:min(path.index(c) for c in GLOB_CHARS if c in path)].rsplit("/", 1)[0]
            matches = fs.glob(path) if protocol else globlib.glob(path, recursive=True)
        elif fs.isdir(path):
            matches = fs.find(path)
        elif fs.exists(path):
            matches = [path]
        else:
            raise NoInputError(f"input not found: {redact(item)}")
        for match in matches:
            if fs.isfile(match) and not hidden(match, root):
                if not protocol:  # rows name a local file by its plain path: /scans/a.png, not /work/../scans/a.png
                    found.add(os.path.normpath(match))
                else:
                    found.add(protocol + match if not match.startswith(protocol) else match)
    if not found:
        raise NoInputError(f"no files found in {', '.join(redact(i) for i in inputs)}")
    return sorted(found)


def hidden(match: str, root: str) -> bool:
    """Whether a file found below `root` is hidden: a file or folder name under `root` with a leading dot.
    `..` and `.` in the path are not names, and neither are the folders above `root` (`~/.cache/scans`)."""
    below = match[len(root):] if match.startswith(root) else match.rsplit("/", 1)[-1]
    return any(part.startswith(".") and part not in (".", "..") for part in below.split("/"))


def inspect(url: str, options: IngestOptions, pdf_passwords: dict[str, str] | None = None) -> SourceFile:
    """Hash the file, recognise its format and count its pages (errors are recorded, not raised); its text
    layers are judged apart (`judge`), on the cluster in a run."""
    uri = redact(url)
    with fsspec.open(url, "rb") as handle:
        data = handle.read()
    sha = hashlib.sha256(data).hexdigest()
    fmt = sniff_format(data[:2048])
    try:
        doc = open_document(data, fmt, options, password_for(uri, pdf_passwords or {}))
    except Exception as exc:
        return SourceFile(url, uri, sha, fmt, len(data), -1, error_kind(exc), describe(exc))
    doc.close()
    return SourceFile(url, uri, sha, fmt, len(data), doc.page_count)


Judge = Callable[[list[tuple[str, str, int, str | None]], IngestOptions, TesseractOptions | None], list[list[str]]]


def judge_here(files: list[tuple[str, str, int, str | None]], options: IngestOptions,
               tesseract: TesseractOptions | None) -> list[list[str]]:
    """The text-layer judgements of files (url, format, pages, password), made in this process (a run makes
    them on the cluster: actors/cluster/inspection.py)."""
    return [read_text_layers(url, fmt, 0, pages, options, password, tesseract) for url, fmt, pages, password in files]


def unjudged(files: list[SourceFile], judged: dict[str, list[str]]) -> list[SourceFile]:
    """The files whose text layers need judging: PDFs to read, none of the same bytes in `judged` (sha256 ->
    judgements: an earlier run's)."""
    return list({f.sha256: f for f in files if f.judgeable and f.sha256 not in judged}.values())


def judge(files: list[SourceFile], config: RunConfig, by: Judge = judge_here) -> dict[str, list[str]]:
    """sha256 -> the judgements of each file's pages, made by `by` (in this process, or on the cluster). A page
    that fails to be judged is read with the model stages, where its error is recorded."""
    passwords = config.ingest.pdf_passwords()
    answers = by([(f.url, f.format, f.page_count, password_for(f.uri, passwords)) for f in files],
                 config.ingest, config.tesseract) if files else []
    return {f.sha256: reasons for f, reasons in zip(files, answers, strict=True)}


def with_text_layers(files: list[SourceFile], judged: dict[str, list[str]]) -> list[SourceFile]:
    """The files, each PDF to read with its pages' judgements (`judged`, sha256 -> judgements)."""
    return [replace(f, text_layers=tuple(judged.get(f.sha256, ()))) if f.judgeable else f for f in files]


def read_tasks(file: SourceFile, pages_per_task: int) -> list[dict]:
    # the url travels as bytes: file names may hold bytes that are not UTF-8, which Arrow strings cannot carry
    base = {"url": os.fsencode(file.url), "source_uri": file.uri, "source_sha256": file.sha256,
            "source_format": file.format, "page_count": file.page_count,
            "error_kind": file.error_kind, "error": file.error}
    if file.error_kind:
        return [dict(base, page_start=-1, page_stop=0, text_layers=[])]
    # each task carries its pages' judgements, so that ingest does not judge them again
    return [dict(base, page_start=start, page_stop=min(start + pages_per_task, file.page_count),
                 text_layers=list(file.text_layers[start:start + pages_per_task]))
            for start in range(0, file.page_count, pages_per_task)]


def make_units(files: list[SourceFile], config: RunConfig) -> list[Unit]:
    """Consecutive read tasks grouped into units of at most `pages_per_unit` pages. A unit holds either
    text-layer files or files to read from their images (files that failed at planning join either), so that
    text-only units stream without layout and OCR actors."""
    units: list[Unit] = []
    current: list[dict] = []
    size = 0
    kind: bool | None = None  # text_only of the last file with pages: the current unit's kind

    def flush() -> None:
        nonlocal current, size
        if current:
            key = json.dumps([[t["source_sha256"], t["page_start"], t["page_stop"]] for t in current]
                             + [config.config_hash()])
            unit_id = hashlib.sha256(key.encode()).hexdigest()[:20]
            for index, task in enumerate(current):  # how the run's one stream finds each row's unit
                task["work"] = {"unit_id": unit_id, "task": index, "task_rows": None}
            units.append(Unit(unit_id, current, size, text_only=kind is not False))
        current, size = [], 0

    for file in files:
        if file.duplicate_of:
            continue
        if not file.error_kind:  # a file that failed at planning joins whatever unit is being filled
            if kind is not None and file.text_only != kind:
                flush()
            kind = file.text_only
        output = config.output
        for task in read_tasks(file, (output.text_pages_per_task or output.pages_per_task) if file.text_only
                               else output.pages_per_task):
            pages = max(1, task["page_stop"] - task["page_start"])
            if size and size + pages > config.output.pages_per_unit:
                flush()
            current.append(task)
            size += pages
    flush()
    return units


def find_files(inputs: list[str], options: IngestOptions) -> list[SourceFile]:
    """Every input file, inspected; a file with the same bytes as an earlier one is marked its duplicate."""
    files: list[SourceFile] = []
    first_uri: dict[str, str] = {}
    passwords = options.pdf_passwords()
    for url in discover(inputs):
        file = inspect(url, options, passwords)
        if file.sha256 in first_uri:
            file = replace(file, duplicate_of=first_uri[file.sha256])
        first_uri.setdefault(file.sha256, file.uri)
        files.append(file)
    return files


def batch_id_of(files: list[SourceFile]) -> str:
    """The batch id of a run given none: the same files always make the same batch."""
    return "b-" + hashlib.sha256("".join(sorted(f.sha256 for f in files)).encode()).hexdigest()[:12]


def skip_committed(files: list[SourceFile], owners: dict[str, dict[str, str]], batch_id: str,
                   config_hash: str) -> list[SourceFile]:
    """Files the dataset already has rows of, from another batch or another configuration, become duplicates
    of those rows: the same bytes and page never make two rows. Rows of this batch and configuration are this
    run's own earlier work, which it resumes."""
    result = []
    for file in files:
        owner = owners.get(file.sha256)
        if owner and not file.duplicate_of and (owner["batch_id"], owner["config_hash"]) != (batch_id, config_hash):
            file = replace(file, duplicate_of=f"{owner['source_uri']} (batch {owner['batch_id']}, "
                                              f"config {owner['config_hash']})")
        result.append(file)
    return result


def plan(inputs: list[str], config: RunConfig, files: list[SourceFile] | None = None) -> Plan:
    """The run's files and units; `files` when they were found (checked against the dataset, judged) already."""
    if files is None:
        found = find_files(inputs, config.ingest)
        files = with_text_layers(found, judge(unjudged(found, {}), config))
    result = Plan(files=files, units=make_units(files, config))
    log.info("planned %d files, %d pages, %d units", len(files), result.pages, len(result.units))
    return result
