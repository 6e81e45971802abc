"""The run report: a fold over the units' stats, accounting for every input file."""

from __future__ import annotations

import platform
import secrets
from collections import Counter
from datetime import UTC, datetime
from importlib import metadata

from actors.store.writer import UnitStats
from flows.run.planning import Plan

VERSIONED = ("lontar", "ray", "prefect", "pymupdf", "pyarrow", "tesserocr", "pillow")


def new_run_id() -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def versions(tesseract: str) -> dict[str, str]:
    found = {"python": platform.python_version(), "tesseract": tesseract}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def file_outcomes(plan: Plan, stats: list[UnitStats]) -> list[dict]:
    """One entry per input file: ok (every page ok), partial, error, or duplicate."""
    pages: dict[str, Counter] = {}
    first_error: dict[str, dict] = {}
    for unit in stats:
        for uri, counts in unit.files.items():
            pages.setdefault(uri, Counter()).update({k: counts[k] for k in ("ok", "error")})
            if "error_kind" in counts:
                first_error.setdefault(uri, counts)
    entries = []
    for file in plan.files:
        counts = pages.get(file.uri, Counter())
        page_error = first_error.get(file.uri, {})
        if file.duplicate_of:
            outcome = "duplicate"
        elif file.error_kind or not counts["ok"]:
            outcome = "error"
        else:
            outcome = "partial" if counts["error"] else "ok"
        entries.append({"uri": file.uri, "sha256": file.sha256, "format": file.format, "bytes": file.size,
                        "page_count": file.page_count, "pages_ok": counts["ok"], "pages_error": counts["error"],
                        "outcome": outcome, "error_kind": file.error_kind or page_error.get("error_kind"),
                        "error": file.error or page_error.get("reason"),
                        "duplicate_of": file.duplicate_of})
    return entries


def fold(plan: Plan, stats: list[UnitStats]) -> dict:
    """Pages by status, script, text source and error kind; files by outcome; units written and skipped."""
    total: dict[str, Counter] = {k: Counter() for k in ("status", "script", "text_source", "error_kind",
                                                         "pairs", "engine", "guard")}
    for unit in stats:
        total["status"].update(unit.by_status)
        total["script"].update(unit.by_script)
        total["text_source"].update(unit.by_text_source)
        total["error_kind"].update(unit.by_error_kind)
        total["pairs"].update(unit.pairs_by_kind)
        total["engine"].update(unit.regions_by_engine)
        total["guard"].update(unit.refused_by_guard)
    nodes: dict[str, Counter] = {}
    for unit in stats:
        for stage, counts in unit.pages_by_node.items():
            nodes.setdefault(stage, Counter()).update(counts)
    files = file_outcomes(plan, stats)
    return {
        "pages": {"total": sum(total["status"].values()), "ok": total["status"]["ok"],
                  "error": total["status"]["error"]},
        "pages_by_script": dict(total["script"]),
        "pages_by_text_source": dict(total["text_source"]),
        "errors_by_kind": dict(total["error_kind"]),
        "files": {"total": len(files), **Counter(f["outcome"] for f in files)},
        "file_outcomes": files,
        "pairs": {"total": sum(total["pairs"].values()), **total["pairs"]},
        "duplicate_images": sum(unit.duplicate_images for unit in stats),
        "near_duplicate_pages": sum(unit.near_duplicate_pages for unit in stats),
        "regions_by_engine": dict(total["engine"]),
        "refused_by_guard": dict(total["guard"]),
        "shards": [shard["path"] for unit in stats for shard in unit.shards],
        "ocr_seconds": round(sum(unit.ocr_seconds for unit in stats), 3),
        "pages_by_node": {stage: dict(counts) for stage, counts in sorted(nodes.items())},
    }


def throughput_line(timings: dict) -> str:
    line = f"throughput: {timings['pages_per_s']:.2f} pages/s after the cluster started"
    if "steady_pages_per_s" in timings:
        line += (f", {timings['steady_pages_per_s']:.2f} once the first pages were out "
                 f"({timings['first_batch_s']:.1f} s)")
    if "launch_s" in timings:
        line += f"; {timings['launch_s']:.1f} s to start Lontar and Prefect, {timings.get('ray_start_s', 0):.1f} s Ray"
    return line


def routed_lines(report: dict) -> list[str]:
    """What models `ocr.routes` sent regions to read, and how many of their readings the guards refused; nothing
    when every region was Tesseract's."""
    engines, refused = report.get("regions_by_engine", {}), report.get("refused_by_guard", {})
    if set(engines) <= {"tesseract"} and not refused:
        return []
    by_engine = ", ".join(f"{engine} {n}" for engine, n in sorted(engines.items(), key=lambda kv: -kv[1]))
    by_guard = ", ".join(f"{guard} {n}" for guard, n in sorted(refused.items(), key=lambda kv: -kv[1]))
    return [f"text regions read by: {by_engine}; model readings refused (Tesseract's kept): {by_guard or 'none'}"]


def summary_lines(report: dict) -> list[str]:
    pages, files = report["pages"], report["files"]
    scripts = ", ".join(f"{k} {v}" for k, v in sorted(report["pages_by_script"].items(), key=lambda kv: -kv[1]))
    pair_kinds = ", ".join(f"{k} {v}" for k, v in report["pairs"].items() if k != "total")
    lines = [
        f"run {report['run_id']} ({report['status']}) in {report['timings']['total_s']:.1f} s",
        f"files: {files['total']} ({', '.join(f'{k} {v}' for k, v in files.items() if k != 'total')})",
        f"pages: {pages['total']} ({pages['ok']} ok, {pages['error']} error); by script: {scripts or 'none'}"
        + (f"; {near} nearly repeat an earlier page (near_duplicate_of)" if (near := report["near_duplicate_pages"])
           else ""),
        f"pairs: {report['pairs']['total']} ({pair_kinds or 'none'}); "
        f"{report['duplicate_images']} repeated figure/table image(s) stored once (duplicate_of)",
        *routed_lines(report),
        f"units: {report['units']['written']} written, {report['units']['skipped']} already done",
        throughput_line(report["timings"]) if report["units"]["written"] else "throughput: nothing left to process",
        f"report: {report['report_path']}",
    ]
    if report.get("review_path"):
        lines.append(f"review: {report['review_path']} (the pages that need a look, with pictures)")
    if report.get("log_path"):
        lines.append(f"log: {report['log_path']} (what Ray and Prefect printed; -v shows it on the terminal)")
    by_node = report.get("pages_by_node", {})
    if len({node for counts in by_node.values() for node in counts}) > 1:  # a multi-node cluster: who did what
        lines.insert(-1, "pages by node: " + "; ".join(
            f"{stage} " + ", ".join(f"{node[:8]} {pages}" for node, pages in sorted(counts.items()))
            for stage, counts in by_node.items()))
    for f in report["file_outcomes"]:
        if f["outcome"] in ("error", "partial"):
            failed = f"{f['pages_error']} of {f['page_count']} page(s) failed, the first: " \
                if f["page_count"] > 0 else ""
            lines.append(f"  {f['outcome']}: {f['uri']}: {failed}{f['error']}")
        elif f["outcome"] == "duplicate":
            lines.append(f"  duplicate: {f['uri']}: same bytes as {f['duplicate_of']}; not read again")
    return lines
