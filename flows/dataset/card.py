"""The dataset card (`OUT/README.md`) and `lontar stats`: the same numbers, from the dataset's DuckDB views."""

from __future__ import annotations

from typing import Any

import duckdb

from actors.store.dataset_layout import CHART_LINK, TABLES, shard_glob
from flows.dataset.charts import CHARTS

CONFIDENCE_BANDS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95)
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def numbers(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Rows by status, script, language, text source, error kind and pair kind; confidence and quality
    distributions; sources; models and versions."""

    def counts(sql: str) -> dict[str, int]:
        return {str(key): n for key, n in con.execute(sql).fetchall()}

    def one(sql: str) -> tuple:
        return con.execute(sql).fetchone()

    bands = ", ".join(f"count(*) FILTER (ocr_confidence >= {lo} AND ocr_confidence < {hi})"
                      for lo, hi in zip(CONFIDENCE_BANDS, (*CONFIDENCE_BANDS[1:], 1.01), strict=True))
    ocr = "FROM pages WHERE status = 'ok' AND ocr_confidence IS NOT NULL"
    quantiles = one(f"SELECT quantile_cont(ocr_confidence, {list(QUANTILES)}) {ocr}")[0]  # NULL: no OCR'd page
    files, first, last = one("SELECT count(DISTINCT source_sha256), min(created_at), max(created_at) FROM pages")
    medians = one("SELECT median(text_chars), median(script_purity), median(garbage_score), "
                  "median(repetition_score) FROM pages WHERE status = 'ok'")
    return {
        "pages": counts("SELECT status, count(*) FROM pages GROUP BY 1 ORDER BY 1"),
        "pages_by_script": counts("SELECT script, count(*) FROM pages WHERE status = 'ok' GROUP BY 1 "
                                  "ORDER BY 2 DESC, 1"),
        "pages_by_language": counts("SELECT coalesce(language, '(none)'), count(*) FROM pages "
                                    "WHERE status = 'ok' GROUP BY 1 ORDER BY 2 DESC, 1"),
        "pages_by_lang": counts("SELECT coalesce(lang, '(text layer)'), count(*) FROM pages WHERE status = 'ok' "
                                "GROUP BY 1 ORDER BY 2 DESC, 1"),
        "pages_by_text_source": counts("SELECT text_source, count(*) FROM pages WHERE status = 'ok' GROUP BY 1 "
                                       "ORDER BY 2 DESC"),
        "errors_by_kind": counts("SELECT error_kind, count(*) FROM pages WHERE status = 'error' GROUP BY 1 "
                                 "ORDER BY 2 DESC, 1"),
        "pairs_by_kind": counts("SELECT kind, count(*) FROM pairs GROUP BY 1 ORDER BY 2 DESC, 1"),
        "pairs_by_kind_script": counts("SELECT kind || ' ' || script, count(*) FROM pairs GROUP BY 1 "
                                       "ORDER BY 2 DESC, 1"),
        "duplicate_images": one("SELECT count(*) FROM pairs WHERE duplicate_of IS NOT NULL")[0],
        "ocr_confidence_bands": dict(zip(
            [f"{lo:.2f}-{hi:.2f}" for lo, hi in zip(CONFIDENCE_BANDS, (*CONFIDENCE_BANDS[1:], 1.0), strict=True)],
            one(f"SELECT {bands} {ocr}"), strict=True)),
        "ocr_confidence_quantiles": {f"p{round(q * 100)}": round(v, 3)
                                     for q, v in zip(QUANTILES, quantiles or (), strict=False)},
        "quality_medians": {name: None if value is None else round(float(value), 3) for name, value in zip(
            ("text_chars", "script_purity", "garbage_score", "repetition_score"), medians, strict=True)},
        "sources": {"files": files, "by_format": counts(
            "SELECT source_format, count(DISTINCT source_sha256) FROM pages GROUP BY 1 ORDER BY 2 DESC, 1"),
            "batches": one("SELECT count(DISTINCT batch_id) FROM pages")[0],
            "first_written": first.isoformat(timespec="seconds") if first else None,
            "last_written": last.isoformat(timespec="seconds") if last else None},
        "models": {
            "layout": counts("SELECT layout_model, count(*) FROM pages WHERE layout_model IS NOT NULL GROUP BY 1 "
                             "ORDER BY 2 DESC"),
            "engines": counts("SELECT CASE WHEN starts_with(engine_version, engine) THEN engine_version "
                              "ELSE engine || ' ' || engine_version END, count(*) FROM pages "
                              "WHERE engine IS NOT NULL GROUP BY 1 ORDER BY 2 DESC"),
            "captions": counts("SELECT caption_model, count(*) FROM pairs WHERE caption_model IS NOT NULL GROUP BY 1 "
                               "ORDER BY 2 DESC"),
            "lontar": counts("SELECT lontar_version, count(*) FROM runs GROUP BY 1 ORDER BY 1"),
            "config_hashes": counts("SELECT config_hash, count(*) FROM pages GROUP BY 1 ORDER BY 2 DESC"),
        },
        "runs": one("SELECT count(*) FROM runs")[0],
    }


def _table(counts: dict[str, int], header: str) -> list[str]:
    if not counts:
        return ["(none)", ""]
    return [f"| {header} | rows |", "|---|---:|", *(f"| {key} | {n} |" for key, n in counts.items()), ""]


def hub_configs(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """Hugging Face dataset configs: each table, each page script, each pair kind (`datasets` does not read
    partition folders as columns, so a subset is chosen by its files)."""
    configs = [(table, shard_glob(table)) for table in TABLES]
    for table, folder in sorted({tuple(shard["path"].split("/")[:2]) for shard in manifest["shards"]}):
        deeper = "*/" * (len(TABLES[table][1]) - 1)
        configs.append((f"{table}-{folder.split('=', 1)[1]}", f"{table}/{folder}/{deeper}*.parquet"))
    return configs


def older_versions(manifest: dict[str, Any]) -> str:
    """What the card says of shards of older schema versions: read by column name, newer columns null."""
    older = {v: n for v, n in manifest.get("schema_versions", {}).items() if int(v) != manifest["schema_version"]}
    if not older:
        return ""
    counts = ", ".join(f"{n} of version {v}" for v, n in older.items())
    return (f"; older shards: {counts}, read by column name with the newer columns null "
            "(`lontar migrate` rewrites them)")


def markdown(nums: dict[str, Any], manifest: dict[str, Any]) -> str:
    """The dataset card: Hugging Face front matter (one config per table), the numbers, how to load it."""
    tables = manifest["tables"]
    quant = ", ".join(f"{k} {v}" for k, v in nums["ocr_confidence_quantiles"].items()) or "no OCR pages"
    medians = ", ".join(f"`{k}` {v}" for k, v in nums["quality_medians"].items())
    lines = [
        "---",
        "configs:",
        *(f"- config_name: {name}\n  data_files: \"{files}\"" for name, files in hub_configs(manifest)),
        "---",
        "",
        "# Lontar dataset",
        "",
        "Text and images digitized from scanned archives by Lontar: one row per "
        "page in `pages/`, one per aligned text-image pair in `pairs/`. Generated after every run; do not edit.",
        "",
        f"Schema version {manifest['schema_version']} (columns: `lontar schema`, or docs/schema.md in Lontar)"
        f"{older_versions(manifest)}. Updated {manifest['updated_at']} by Lontar {manifest['lontar_version']}.",
        "",
        "| table | rows | shards | bytes | partitioned by |",
        "|---|---:|---:|---:|---|",
        *(f"| `{t}/` | {v['rows']} | {v['shards']} | {v['bytes']} | {', '.join(v['partitioning'])} |"
          for t, v in tables.items()),
        "",
        "## At a glance", "",
        *(f"![{title}]({CHART_LINK.format(name=name)})" for name, title in CHARTS.items()), "",
        "## Pages", "",
        "By status:", "", *_table(nums["pages"], "status"),
        "By script (pages read):", "", *_table(nums["pages_by_script"], "script"),
        "By language (ISO 639-3, identified from the text):", "", *_table(nums["pages_by_language"], "language"),
        "By Tesseract model:", "", *_table(nums["pages_by_lang"], "lang"),
        "By text source:", "", *_table(nums["pages_by_text_source"], "text_source"),
        "Errors by kind:", "", *_table(nums["errors_by_kind"], "error_kind"),
        "## OCR confidence", "",
        f"Quantiles over OCR'd pages: {quant}.", "",
        *_table(nums["ocr_confidence_bands"], "ocr_confidence"),
        f"Medians of the quality signals over pages read: {medians}.", "",
        "## Pairs", "",
        *_table(nums["pairs_by_kind"], "kind"),
        *_table(nums["pairs_by_kind_script"], "kind and script"),
        f"Figure and table images stored once and referenced by `duplicate_of` from "
        f"{nums['duplicate_images']} more pair(s).", "",
        "## Sources", "",
        f"{nums['sources']['files']} source file(s) in {nums['sources']['batches']} batch(es) and "
        f"{nums['runs']} run(s), written {nums['sources']['first_written']} to {nums['sources']['last_written']}.",
        "", *_table(nums["sources"]["by_format"], "format"),
        "## Models and versions", "",
        *_table(nums["models"]["layout"], "layout model"),
        *_table(nums["models"]["engines"], "OCR engine"),
        *_table(nums["models"]["captions"], "caption model"),
        *_table(nums["models"]["lontar"], "Lontar version (runs)"),
        *_table(nums["models"]["config_hashes"], "config_hash"),
        "## Loading it", "",
        "```python",
        "import duckdb",
        "duckdb.sql(\"SELECT script, count(*) FROM read_parquet('pages/*/*.parquet', hive_partitioning = true) "
        "GROUP BY 1\")",
        "",
        "import pyarrow.dataset as ds",
        "pages = ds.dataset('pages', format='parquet', partitioning='hive')",
        "table = pages.to_table(filter=(ds.field('script') == 'Deva') & (ds.field('ocr_confidence') > 0.9))",
        "",
        "import polars as pl",
        "lines = pl.scan_parquet('pairs/kind=line/*/*.parquet').filter(pl.col('ocr_confidence') > 0.9)",
        "",
        "# Hugging Face datasets reads the files but not the partition folders: choose a script or kind with",
        "# one of the configs at the top of this card (pages-Deva, pairs-line, ...)",
        "from datasets import load_dataset",
        "hindi = load_dataset('.', 'pages-Deva', split='train')",
        "```",
        "",
        "Or with Lontar: `lontar query \"SELECT script, count(*) FROM pages GROUP BY 1\" --dataset .`, "
        "`lontar stats .`, `lontar export --format webdataset --dataset . --out shards/`.",
        "",
    ]
    return "\n".join(lines)


def terminal_lines(nums: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """`lontar stats`: the card's numbers, a line each."""

    def inline(counts: dict[str, Any]) -> str:
        return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"

    tables = manifest["tables"]
    return [
        f"dataset: schema version {manifest['schema_version']}{older_versions(manifest)}, "
        f"updated {manifest['updated_at']}",
        *(f"{t}: {v['rows']} rows in {v['shards']} shards, {v['bytes']} bytes" for t, v in tables.items()),
        f"pages by status: {inline(nums['pages'])}",
        f"pages by script: {inline(nums['pages_by_script'])}",
        f"pages by language: {inline(nums['pages_by_language'])}",
        f"pages by tesseract model: {inline(nums['pages_by_lang'])}",
        f"pages by text source: {inline(nums['pages_by_text_source'])}",
        f"errors by kind: {inline(nums['errors_by_kind'])}",
        f"ocr confidence: {inline(nums['ocr_confidence_quantiles'])}; bands {inline(nums['ocr_confidence_bands'])}",
        f"quality medians: {inline(nums['quality_medians'])}",
        f"pairs by kind: {inline(nums['pairs_by_kind'])} ({nums['duplicate_images']} duplicate images)",
        f"sources: {nums['sources']['files']} files ({inline(nums['sources']['by_format'])}) in "
        f"{nums['sources']['batches']} batches, {nums['runs']} runs",
        f"layout models: {inline(nums['models']['layout'])}; engines: {inline(nums['models']['engines'])}; "
        f"caption models: {inline(nums['models']['captions'])}",
    ]
