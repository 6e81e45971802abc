"""RunConfig: every knob of a run, with its description. YAML presets and `--config` files load into it."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from types import UnionType
from typing import Annotated, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticUndefined

from ocr_models import registry
from ocr_models.lontar_errors import UsageError
from ocr_models.registry import RapidLayoutOptions, TesseractOptions, TesseractRouteOptions
from ocr_models.scripts import BY_CODE, LANGUAGE_SCRIPT

PRESET_DIR = Path(__file__).parent
DEFAULT_ROUTE = "default"  # the key of `ocr.routes` for every script not named
CPUS_PER_LAYOUT_ACTOR = 8  # the default share of one layout actor (RayOptions.layout_actors)


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Legacy Indic fonts (non-Unicode encodings) by name: Hindi/Marathi (Kruti Dev, DevLys, Walkman-Chanakya,
# Shree-Lipi, Sushma, Akruti, Kundli, Shivaji, the DV-TT/DVBW-TT and GIST families, APS-DV, Shusha), Tamil
# (Bamini, TSCII, Kalaham, Amudham, Mylai), Kannada (Nudi's ASCII fonts, Baraha's BRH).
LEGACY_FONTS = (r"kruti ?dev|devlys|walkman|chanakya|shree[-_ ]?(dev|lipi)|sushma|akruti|kundli|shivaji|"
                r"\bdv-?tt|dvbw|gist-|aps-?dv|shusha|baa?mini|tscii|tsc_|kalaham|amudham|mylai|^nudi|^brh")


class IngestOptions(_Options):
    text_layer: Literal["auto", "prefer", "ignore"] = Field(
        "auto", description="PDF text layers: auto = use a visible layer that passes validation, else OCR; "
                            "prefer = use any non-empty layer, hidden OCR layers included; ignore = always OCR.")
    render_dpi: int = Field(300, ge=50, le=1200,
                            description="Resolution for rendering PDF pages that have no single scan image.")
    text_layer_image_dpi: int = Field(
        96, ge=36, le=600, description="Resolution of the page image stored for pages read from a text layer.")
    max_image_pixels: int = Field(
        200_000_000, gt=0, description="Largest page (width x height) decoded; larger is an error row, not OOM.")
    min_text_layer_chars: int = Field(
        20, ge=1, description="A text layer with fewer letters than this is treated as absent.")
    legacy_fonts: str = Field(
        LEGACY_FONTS, description="Regular expression (case-insensitive) matching the names of legacy fonts: "
                                  "fonts that draw Indic letters at the code points of ASCII (or other) "
                                  "characters, so their text layer is gibberish. A page with "
                                  "`min_legacy_font_share` of its characters in them is read by OCR.")
    min_legacy_font_share: float = Field(
        0.2, gt=0, le=1, description="Share of a page's characters drawn in `legacy_fonts` from which its text "
                                     "layer is not used.")
    max_private_use_share: float = Field(
        0.01, ge=0, le=1, description="Share of private-use code points above which a text layer is not used.")
    max_unmapped_glyph_share: float = Field(
        0.01, ge=0, le=1, description="Share of a page's drawn glyphs with no Unicode mapping above which its text "
                                       "layer is not used (each is a character or more missing from the text; "
                                       "docs/accuracy.md, \"Text layers\").")
    glyph_trial_below: float = Field(
        0.5, ge=0, le=1, description="A Latin text layer whose language fastText (alone) names with less "
                                     "confidence than this has its longest lines read by Tesseract from the "
                                     "page to compare (0: never). English layers score 0.31-0.95, Kruti Dev and "
                                     "Bamini gibberish 0.12-0.29 (docs/accuracy.md, \"Text layers\").")
    min_glyph_agreement: float = Field(
        0.5, ge=0, le=1, description="Agreement (1 - edit distance share) between a doubtful Latin layer and "
                                     "Tesseract's reading of its lines below which the layer is not used.")
    pdf_passwords_file: str | None = Field(
        None, description="YAML file mapping file-name patterns of encrypted PDFs to their passwords, e.g. "
                          "`minutes-19*.pdf: s3cret` (the first match is tried). A file of its own, so that "
                          "passwords never reach rows, reports, the queue or logs.")

    def pdf_passwords(self) -> dict[str, str]:
        """The password file's patterns and passwords ({} when none is configured)."""
        if self.pdf_passwords_file is None:
            return {}
        path = Path(self.pdf_passwords_file).expanduser()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise UsageError(f"cannot read ingest.pdf_passwords_file {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise UsageError(f"ingest.pdf_passwords_file {path} is not valid YAML") from exc  # no echo of it
        if not isinstance(data, dict) or not all(isinstance(v, str | int) for v in data.values()):
            raise UsageError(f"ingest.pdf_passwords_file {path} must map file-name patterns to passwords")
        return {str(pattern): str(password) for pattern, password in data.items()}


class PairOptions(_Options):
    """Which pairs are written to OUT/pairs/ and how captions are matched."""

    figures: bool = Field(True, description="Write figure and table pairs (needs a layout model).")
    lines: bool = Field(True, description="Write text-line pairs: each line's crop and its transcription.")
    line_min_confidence: float = Field(
        0.8, ge=0, le=1, description="Keep a line pair only when the line's mean character confidence is at "
                                     "least this.")
    caption_max_gap_in: float = Field(
        1.0, gt=0, description="Farthest a printed caption may lie from its figure or table, in inches.")


class NearDuplicateOptions(_Options):
    """Near-duplicate pages across the dataset: MinHash-LSH over each page's text (docs/dataset.md)."""

    threshold: float = Field(
        0.5, gt=0, le=1, description="Estimated Jaccard similarity of two pages' character shingles from which the "
                                     "later page is a near-duplicate of the earlier (on real scans another scan "
                                     "of a page scores 0.55 or more in Indic books, two pages of one book at "
                                     "most 0.24, two receipts of one shop 0.45; docs/accuracy.md).")
    shingle_chars: int = Field(3, ge=2, le=16, description="Characters in a shingle (characters, not words: Thai, "
                                                           "Khmer and Lao write no spaces).")
    num_perm: int = Field(256, ge=16, le=1024, description="MinHash permutations (the signature's length; the "
                                                           "similarity estimate's error is about 0.5 / sqrt of it).")
    min_chars: int = Field(100, ge=1, description="Pages with fewer characters of text (after normalising) get "
                                                  "no signature and are never near-duplicates.")


class LimitOptions(_Options):
    """Per-page limits of the OCR stage: a page over one is an error row and the run goes on."""

    page_timeout_s: float = Field(
        600.0, gt=0, description="Longest one page may take in the OCR stage, all its regions together; a page "
                                 "past it is an engine_timeout row and the stage loads a fresh engine.")
    page_memory_mb: int = Field(
        2048, ge=64, description="Most working memory one page may need in the OCR stage (estimated at 10 bytes "
                                 "a pixel); a larger page is a too_large row, never an out-of-memory worker.")
    page_retries: int = Field(1, ge=0, le=5, description="Further tries of a page whose engine failed in a "
                                                         "way worth retrying (transient), each with a fresh engine.")


# The choices of each model role, from the registry: a new layout detector, captioner or recognizer appears
# here (and in docs/configuration.md) by its registry line alone.
Route = Annotated[registry.options_for("route"), Field(discriminator="engine")]
LayoutChoice = Annotated[registry.options_for("layout"), Field(discriminator="kind")]
CaptionChoice = registry.options_for("captioner")
ScriptIdChoice = Annotated[registry.options_for("script_id"), Field(discriminator="kind")]


class OcrOptions(_Options):
    """Which engine reads each script, and the guards on what a model reads (docs/model-routes.md)."""

    routes: dict[str, Route] = Field(
        default_factory=dict,
        description="Engine per ISO 15924 script code (and `default`, for every script not named): "
                    "`{engine: tesseract}` or `{engine: transformers, kind: page|line, model: DIR, prompt, "
                    "max_new_tokens, batch_size, device}`. Tesseract decides each page's script and reads it; "
                    "the text regions of a script routed to a model are then read again by that model in its "
                    "own actor pool. Default: none (Tesseract reads everything).")
    script_id: ScriptIdChoice = Field(
        default_factory=registry.ScriptIdOptions,
        description="How each page's script is first proposed: `{kind: trained}` (the shipped script "
                    "identifier, docs/script-id.md) or `{kind: none}` (Tesseract's OSD alone).")
    guard_repeats: int = Field(
        8, ge=2, description="A model's reading of a region that repeats one piece of text (with a letter or "
                             "digit in it) this many times in a row, and twice as often in a row as Tesseract's "
                             "reading of it, is a generation loop: refused. The real scans' transcriptions "
                             "repeat a piece at most 4 times in a row (a receipt's `(RM)` column heads).")
    guard_script_share: float = Field(
        0.5, ge=0, le=1, description="A model's reading of a region is refused when fewer of its letters than "
                                     "this are in the region's script.")
    guard_chars_per_line_height: float = Field(
        8.0, gt=0, description="Most characters (spaces aside) a line may hold per line height of its width; a "
                               "model's reading longer than the region's lines allow is refused. Tesseract's "
                               "readings of real pages: median 1.5-3, 99th percentile 4.0-4.8.")

    @field_validator("routes")
    @classmethod
    def _known_scripts(cls, routes: dict) -> dict:
        unknown = [code for code in routes if code not in BY_CODE and code != DEFAULT_ROUTE]
        if unknown:
            raise ValueError(f"unknown script(s) {', '.join(unknown)}; routes are keyed by ISO 15924 codes "
                             f"({', '.join(BY_CODE)}) or `{DEFAULT_ROUTE}`")
        return routes

    def model_route(self, script: str | None) -> BaseModel | None:
        """The options of the model that reads `script`'s regions again; None when Tesseract's reading stands."""
        if script is None:
            return None
        route = self.routes.get(script, self.routes.get(DEFAULT_ROUTE))
        return None if route is None or isinstance(route, TesseractRouteOptions) else route

    def model_routes(self) -> dict[str, BaseModel]:
        """Script code (or `default`) -> options of each route to a model."""
        return {code: route for code, route in self.routes.items() if not isinstance(route, TesseractRouteOptions)}


class RayOptions(_Options):
    address: str | None = Field(None, description="Ray cluster to join (e.g. host:6379 or ray://host:10001); "
                                                  "default: RAY_ADDRESS from the environment, else a local "
                                                  "cluster started for this run.")
    ship_code: bool = Field(True, description="When joining a cluster, send Lontar's own packages with the job "
                                              "(Ray runtime_env py_modules) so that every node runs this "
                                              "code; the cluster's image must hold the dependencies.")
    num_cpus: int | None = Field(None, ge=1, description="CPUs of the local cluster; default: all cores.")
    ocr_cpus_per_actor: float = Field(
        0.8, gt=0, le=1, description="CPUs each OCR actor reserves (fractional, so that ingest fits beside).")
    ingest_cpus_per_task: float = Field(0.2, gt=0, le=1, description="CPUs each ingest task reserves.")
    text_ingest_cpus_per_task: float = Field(
        1.0, gt=0, le=1, description="CPUs each ingest task reserves in a stream of text-layer units, where no "
                                     "model stage runs beside it (at a fifth of a core Ray would start five worker "
                                     "processes a core, each holding a few hundred MiB, for no more speed).")
    max_ocr_actors: int | None = Field(None, ge=1, description="Most OCR actors; default: one per CPU.")
    layout_cpus_per_actor: float = Field(0.2, gt=0, description="CPUs each layout actor reserves.")
    max_layout_actors: int | None = Field(
        None, ge=1, description=f"Most layout actors; default: one per {CPUS_PER_LAYOUT_ACTOR} CPUs of the cluster "
                                "(one keeps pace with 10 or more OCR cores on CPU), at most one per GPU where it "
                                "uses GPUs.")
    recognize_cpus_per_actor: float = Field(
        0.5, gt=0, description="CPUs each recognizer actor reserves (the models of `ocr.routes`).")
    max_recognize_actors: int = Field(1, ge=1, description="Most recognizer actors (at most one per GPU "
                                                           "where they use GPUs).")
    caption_cpus_per_actor: float = Field(0.5, gt=0, description="CPUs each caption actor reserves.")
    max_caption_actors: int = Field(1, ge=1, description="Most caption actors.")
    gpus_per_model_actor: float = Field(
        1.0, ge=0, description="GPUs each transformers layout, recognizer or caption actor asks for when the "
                               "cluster has GPUs (decided from the cluster's resources; 0 = never use a GPU).")
    object_store_mb: int = Field(1024, ge=75, description="Object store of the local cluster, MiB.")

    def layout_actors(self, cluster_cpus: float) -> int:
        """`max_layout_actors`, or its default for a cluster of `cluster_cpus`: rapid-layout reads a page in
        0.3-0.4 s on one core, Tesseract in 3.9 s (docs/scale-out.md), so one actor per 8 CPUs leaves room."""
        return self.max_layout_actors or max(1, round(cluster_cpus / CPUS_PER_LAYOUT_ACTOR))


class OutputOptions(_Options):
    """How the work is cut into units and the tables into shards (docs/dataset.md)."""

    pages_per_unit: int = Field(
        256, ge=1, description="Pages per work unit: committed (or redone) as a whole; a run streams all its "
                               "units through one Ray Data job. A unit "
                               "writes one shard per partition (script; kind and script for pairs) it has rows "
                               "for, so at 300 dpi a unit of one script is a shard of about 100-250 MB.")
    pages_per_task: int = Field(8, ge=1, description="Pages one ingest task reads from a file.")
    text_pages_per_task: int | None = Field(
        None, ge=1, description="Pages one ingest task reads from a PDF whose every page comes from its text layer "
                                "(default: pages_per_task). Such a page takes milliseconds, not seconds: 32 read "
                                "1,000 real born-digital pages 23 % faster once flowing, with a third less driver "
                                "CPU (docs/scale-out.md). Not the default, so that a batch begun by an earlier "
                                "Lontar resumes into the same units.")
    shard_max_mb: int = Field(256, ge=1, description="A shard reaching this size (MiB, compressed) is closed "
                                                     "and the unit's next rows of that partition begin another.")
    shard_max_rows: int = Field(100_000, ge=1, description="A shard reaching this many rows is closed likewise.")
    row_group_mb: int = Field(32, ge=1, description="Rows are buffered into Parquet row groups of about this "
                                                    "many MiB (uncompressed): big enough for fast scans, small "
                                                    "enough that a filtered read skips most of a shard.")
    row_group_rows: int = Field(1024, ge=1, description="Most rows in one Parquet row group.")
    compression: Literal["zstd", "snappy", "none"] = Field("zstd", description="Parquet column compression.")


class QueueOptions(_Options):
    """The archivists' batch queue and its nightly run (`lontar queue`, `lontar serve`, `lontar nightly`)."""

    dataset: str = Field("lontar-dataset", description="The dataset every queued batch is written into (a folder "
                                                       "or fsspec URL); also what `lontar query`, `stats` and "
                                                       "`export` read when no --dataset is given.")
    nightly_cron: str = Field("0 2 * * *", description="When the nightly run processes the queue (cron).")
    timezone: str | None = Field(None, description="IANA time zone of `nightly_cron`, e.g. Asia/Jakarta; "
                                                   "default: this machine's zone.")
    batches_at_once: int = Field(1, ge=1, description="Batches processed side by side by one nightly run "
                                                      "(more than 1 is meant for a shared Ray cluster).")
    work_pool: str = Field("lontar", description="Prefect work pool of the queue and the nightly deployment.")
    lease_s: int = Field(60, ge=10, description="A nightly run holds the queue under a lease this long, "
                                                "renewed while it lives; a crashed run's lease lapses after it.")


class RunConfig(_Options):
    """One run's configuration. `config_hash` in every row is the hash of this model's JSON."""

    langs: list[str] | None = Field(
        None, description="Tesseract languages the archive may hold (e.g. [hin, eng]); restricts script "
                          "detection to their scripts and reads each script with its hinted languages. "
                          "Default: every script Lontar routes, each with its default model.")
    batch_id: str | None = Field(
        None, description="Batch this run belongs to (letters, digits, '.', '_', '-': it names folders of the "
                          "dataset); default: derived from inputs.")
    progress_every: int = Field(50, ge=1, description="Pages between progress log lines when not on a tty.")
    ingest: IngestOptions = Field(default_factory=IngestOptions)
    tesseract: TesseractOptions = Field(default_factory=TesseractOptions)
    ocr: OcrOptions = Field(default_factory=OcrOptions)
    layout: LayoutChoice = Field(
        default_factory=RapidLayoutOptions,
        description="Layout detector: rapid (the offline default), transformers (a model folder or cached "
                    "hub id), or none (each page read as one block; no figure or table pairs).")
    caption: CaptionChoice | None = Field(
        None, description="Caption generator for figure pairs; off (null) by default: no weights ship offline.")
    pairs: PairOptions = Field(default_factory=PairOptions)
    near_duplicates: NearDuplicateOptions = Field(default_factory=NearDuplicateOptions)
    limits: LimitOptions = Field(default_factory=LimitOptions)
    ray: RayOptions = Field(default_factory=RayOptions)
    output: OutputOptions = Field(default_factory=OutputOptions)
    queue: QueueOptions = Field(default_factory=QueueOptions)

    @field_validator("batch_id")
    @classmethod
    def _safe_batch_id(cls, batch_id: str | None) -> str | None:
        if batch_id is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", batch_id):
            raise ValueError(f"{batch_id!r} is not a batch id: letters, digits, '.', '_' and '-' only (at most "
                             "128, first a letter or digit), as it names folders inside the dataset")
        return batch_id

    @field_validator("langs")
    @classmethod
    def _known_langs(cls, langs: list[str] | None) -> list[str] | None:
        if langs is None:
            return None
        unknown = [lang for lang in langs if lang not in LANGUAGE_SCRIPT]
        if unknown:
            known = ", ".join(sorted(LANGUAGE_SCRIPT))
            raise ValueError(f"unknown language(s) {', '.join(unknown)}; known: {known}")
        return langs

    def config_hash(self) -> str:
        """Hash of everything that changes the output (not where it runs)."""
        ignored = {"ray", "batch_id", "progress_every", "queue"}
        if not self.ocr.routes:  # the guards change nothing without a route: configs from before `ocr` keep their hash
            ignored.add("ocr")
        payload = self.model_dump(mode="json", exclude=ignored)
        if self.output.text_pages_per_task is None:  # unset: the hash of configs from before it
            del payload["output"]["text_pages_per_task"]
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def candidate_scripts(self) -> list[str]:
        """ISO 15924 codes the run routes to, in table order."""
        if not self.langs:
            return list(BY_CODE)
        wanted = {LANGUAGE_SCRIPT[lang].code for lang in self.langs}
        return [code for code in BY_CODE if code in wanted]

    def hinted_languages(self, script: str) -> list[str]:
        return [lang for lang in self.langs or () if LANGUAGE_SCRIPT[lang].code == script]


def load_config(path: str | Path | None = None, **overrides: object) -> RunConfig:
    """The default config, updated by a YAML file, updated by command-line overrides (None = not given)."""
    data: dict = {}
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise UsageError(f"cannot read config file {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise UsageError(f"config file {path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise UsageError(f"config file {path} must hold a mapping of options")
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"invalid configuration: {problems}") from exc


def stored_config(config: RunConfig) -> dict:
    """What a queued batch keeps of its configuration: only what its config file and command line set, so that
    a Lontar upgraded before the batch runs applies its own defaults to the rest."""
    return config.model_dump(mode="json", exclude_unset=True, exclude={"queue", "batch_id"})


def config_from_stored(stored: dict, batch_id: str) -> tuple[RunConfig, list[str]]:
    """A queued batch's configuration under this Lontar, and the options it named that this Lontar no longer has
    (dropped, to be logged: a batch queued before an upgrade still runs)."""
    dropped: list[str] = []

    def known(model: type[BaseModel], data: dict, prefix: str) -> dict:
        kept = {}
        for key, value in data.items():
            info = model.model_fields.get(key)
            if info is None:
                dropped.append(prefix + key)
                continue
            nested = info.annotation
            is_model = isinstance(nested, type) and issubclass(nested, BaseModel)
            kept[key] = known(nested, value, f"{prefix}{key}.") if is_model and isinstance(value, dict) else value
        return kept

    data = known(RunConfig, stored, "")
    try:
        return RunConfig.model_validate({**data, "batch_id": batch_id}), dropped
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"the configuration batch {batch_id} was queued with is not valid for this Lontar: "
                         f"{problems}; queue it again with a valid config") from exc


def _default(info) -> object:
    default = info.get_default(call_default_factory=True)
    if default is PydanticUndefined:
        return "required"
    return default.model_dump(mode="json") if isinstance(default, BaseModel) else default


def options_markdown() -> str:
    """Every knob of RunConfig as a Markdown table (docs/configuration.md is made from this)."""
    rows = ["| key | default | description |", "|---|---|---|"]

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            annotation = info.annotation
            members = [a for a in get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)] \
                if get_origin(annotation) in (Union, UnionType) else []
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name}.")
            elif members:
                rows.append(f"| `{prefix}{name}` | `{_cell(json.dumps(_default(info)))}` | {_cell(info.description)} |")
                for member in members:
                    kind = member.model_fields["kind"].default
                    rows.append(f"| `{prefix}{name}.kind: {kind}` | | {member.__doc__.strip()} |")
                    walk(member, f"{prefix}{name}.")
            elif name != "kind":
                rows.append(f"| `{prefix}{name}` | `{_cell(json.dumps(_default(info)))}` | {_cell(info.description)} |")

    walk(RunConfig, "")
    return "\n".join(rows)


def _cell(text: str | None) -> str:
    """Text inside a Markdown table cell: a `|` (a regular expression's) would end the cell."""
    return (text or "").replace("|", "\\|")
