"""What happened to a batch: its queue state from Prefect, its files and pages from its rows in the dataset."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads

from flows.dataset.views import read_reports, read_table
from flows.queue.batches import Batch
from ocr_models.lontar_errors import UsageError

PAGE_DETAIL = ["source_uri", "page_index", "status", "script", "lang", "text_source", "error_kind", "error"]


def latest_report(dataset: str, batch_id: str) -> dict | None:
    """The batch's newest run report, or None before its first run has finished."""
    reports = read_reports(dataset, batch_id)
    return reports[-1] if reports else None


def _page_table(dataset: str, batch_id: str, columns: list[str], errors_only: bool = False) -> pa.Table:
    where = pads.field("batch_id") == batch_id
    if errors_only:
        where = where & (pads.field("status") == "error")
    return read_table(dataset, "pages", columns, where)


def page_counts(dataset: str, batch_id: str) -> dict[str, int | None]:
    """Pages ok / error / total: from the run report when there is one, else the rows committed so far (a
    batch still running, or one whose run died)."""
    report = latest_report(dataset, batch_id)
    if report:
        return {k: report["pages"][k] for k in ("ok", "error", "total")}
    statuses = _page_table(dataset, batch_id, ["status"]).column("status").to_pylist()
    return {"ok": statuses.count("ok"), "error": statuses.count("error"), "total": None}


def page_rows(dataset: str, batch_id: str, errors_only: bool) -> list[dict]:
    rows = _page_table(dataset, batch_id, PAGE_DETAIL, errors_only).to_pylist()
    return sorted(rows, key=lambda r: (r["source_uri"], r["page_index"]))


def batch_detail(batch: Batch, all_pages: bool = False) -> dict[str, Any]:
    """Everything `lontar status` shows of a queued batch, as one JSON-ready dict."""
    report = latest_report(batch.out, batch.batch_id)
    return {
        "batch_id": batch.batch_id, "name": batch.name, "priority": batch.priority, "state": batch.state_name,
        "message": batch.message, "attempts": batch.attempts, "submitted": _iso(batch.submitted),
        "started": _iso(batch.started), "finished": _iso(batch.finished), "output": batch.out,
        "inputs": batch.inputs, "flow_run_id": str(batch.flow_run_id), "pages": page_counts(batch.out, batch.batch_id),
        "run_id": report["run_id"] if report else None,
        "files": report["file_outcomes"] if report else [],
        "page_rows": page_rows(batch.out, batch.batch_id, errors_only=not all_pages),
    }


def dataset_batch_detail(dataset: str, batch_id: str, all_pages: bool = False) -> dict[str, Any]:
    """The same for a batch known only from its dataset (written by `lontar run`, or a queued batch whose Prefect
    server is gone): its state is its last run's. A UsageError when the dataset has no trace of it."""
    reports = read_reports(dataset, batch_id)
    counts = page_counts(dataset, batch_id)
    if not reports and not counts["ok"] and not counts["error"]:
        raise UsageError(f"no batch {batch_id!r} in the queue or in the dataset {dataset}")
    report = reports[-1] if reports else None
    return {
        "batch_id": batch_id, "name": None, "priority": None,
        "state": f"{report['status']} (lontar run)" if report else "unfinished (rows committed, no run report)",
        "message": None, "attempts": len(reports), "submitted": None, "started": None,
        "finished": report["finished_at"] if report else None, "output": dataset,
        "inputs": report["inputs"] if report else [], "flow_run_id": None, "pages": counts,
        "run_id": report["run_id"] if report else None,
        "files": report["file_outcomes"] if report else [],
        "page_rows": page_rows(dataset, batch_id, errors_only=not all_pages),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone().isoformat(timespec="seconds") if moment else None


def when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "-"


def pages_text(counts: dict[str, int | None]) -> str:
    if counts["total"] is None and not counts["ok"] and not counts["error"]:
        return "-"
    total = "?" if counts["total"] is None else counts["total"]
    return f"{counts['ok']}/{counts['error']}/{total}"


def detail_lines(detail: dict[str, Any]) -> list[str]:
    pages = detail["pages"]
    queued = f" ({detail['name']}), {detail['priority']} priority" if detail["priority"] else ""
    lines = [
        f"batch {detail['batch_id']}{queued}: {detail['state']}" + (f" - {detail['message']}" if detail["message"]
                                                                   else ""),
        f"submitted {detail['submitted'] or '-'}, started {detail['started'] or '-'}, finished "
        f"{detail['finished'] or '-'}, {'attempts' if queued else 'runs'} {detail['attempts']}",
        f"output: {detail['output']}",
        f"pages: {pages['ok']} ok, {pages['error']} error, {'?' if pages['total'] is None else pages['total']} "
        "total" + ("" if detail["run_id"] else " (committed so far)"),
    ]
    if detail["files"]:
        lines.append("files:")
        for f in detail["files"]:
            reason = f"  {f['error']}" if f["error"] else ""
            duplicate = f"  (same bytes as {f['duplicate_of']})" if f["duplicate_of"] else ""
            lines.append(f"  {f['outcome']:<9} {f['uri']}  pages {f['pages_ok']} ok, {f['pages_error']} error"
                         f"{reason}{duplicate}")
    if detail["page_rows"]:
        lines.append("pages:")
        for row in detail["page_rows"]:
            what = (f"{row['error_kind']}: {row['error']}" if row["status"] == "error"
                    else f"{row['script']} ({row['lang']}, {row['text_source']})")
            page = f"page {row['page_index'] + 1}" if row["page_index"] >= 0 else "(whole file)"
            lines.append(f"  {row['status']:<5} {row['source_uri']} {page}: {what}")
    return lines


def batch_table(batches: list[Batch]) -> list[str]:
    header = ("BATCH", "NAME", "PRIORITY", "STATE", "PAGES OK/ERR/TOTAL", "SUBMITTED", "FINISHED")
    rows = [header] + [(b.batch_id, b.name, b.priority, b.state_name, pages_text(page_counts(b.out, b.batch_id)),
                        when(b.submitted), when(b.finished)) for b in batches]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def json_text(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False, default=str)
