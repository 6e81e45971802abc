"""The batch review page: one static HTML file (images inlined, no server) that shows an archivist what happened
to a batch and which pages need a look.

Written beside each run's report (`OUT/_runs/<batch>/<run_id>.html`) and by `lontar report BATCH --html FILE`.
It shows the batch's counts, every file's outcome, a chart of OCR confidence by script, and a thumbnail of every
page that needs a look, with why and the text read: pages with errors, pages whose script was not decided,
born-digital pages whose text layer was not used (legacy font, private-use code points, glyphs that do not
match), and the pages read least surely (OCR confidence under `LOW_CONFIDENCE`, lowest first).
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from typing import Any

import pyarrow.dataset as pads
from PIL import Image

from actors.store.records import TEXT_SOURCE_REASONS, UNKNOWN_SCRIPT
from flows.dataset.charts import confidence_boxes, png
from flows.dataset.views import read_reports, read_table
from ocr_models.lontar_errors import UsageError

LOW_CONFIDENCE = 0.6  # estimated share of characters read right under which a page is shown
MOST_LOW = 24  # low-confidence pages shown at most (the lowest); errors and the rest are all shown
THUMB_PX = 260
TEXT_CHARS = 400
REPLACED_LAYER = ("legacy_font", "private_use", "glyph_mismatch", "garbled", "ocr_layer")
COLUMNS = ["page_id", "source_uri", "page_index", "status", "error_kind", "error", "script", "lang", "language",
           "text_source", "text_source_reason", "ocr_confidence"]  # text and image: of the flagged pages only


def attention(rows: list[dict]) -> list[tuple[dict, str]]:
    """The pages that need a look, each with why, in the order the page shows them."""
    errors = [(r, f"error ({r['error_kind']}): {r['error']}") for r in rows if r["status"] == "error"]
    ok = [r for r in rows if r["status"] == "ok"]
    unknown = [(r, "script not decided: no text read") for r in ok if r["script"] == UNKNOWN_SCRIPT]
    replaced = [(r, f"text layer not used ({r['text_source_reason']}: "
                    f"{TEXT_SOURCE_REASONS[r['text_source_reason']].split(' (')[0].split(':')[0]}); read by OCR")
                for r in ok if r["text_source_reason"] in REPLACED_LAYER]
    shown = {r["page_id"] for r, _ in unknown}
    low = sorted((r for r in ok if r["text_source"] == "ocr" and r["page_id"] not in shown
                  and (r["ocr_confidence"] or 0.0) < LOW_CONFIDENCE), key=lambda r: r["ocr_confidence"] or 0.0)
    lowest = [(r, f"low OCR confidence: {r['ocr_confidence'] or 0.0:.2f} (estimated share of characters read "
                  f"right)") for r in low[:MOST_LOW]]
    return [*errors, *unknown, *replaced, *lowest]


def review_html(dataset: str, batch_id: str, report: dict | None = None) -> str:
    """The batch's review page; a UsageError when the dataset has no rows of the batch. `report`: the run's
    report when it is not written yet (default: the batch's newest in the dataset)."""
    where = pads.field("batch_id") == batch_id
    rows = read_table(dataset, "pages", COLUMNS, where).to_pylist()
    if not rows:
        raise UsageError(f"no batch {batch_id!r} in the dataset {dataset} (`lontar query \"SELECT DISTINCT "
                         f"batch_id FROM pages\" --dataset {dataset}` lists them)")
    rows.sort(key=lambda r: (r["source_uri"], r["page_index"]))
    if report is None:
        reports = read_reports(dataset, batch_id)
        report = reports[-1] if reports else None
    flagged = attention(rows)
    ids = [r["page_id"] for r, _ in flagged]
    shown = {r["page_id"]: r for r in read_table(dataset, "pages", ["page_id", "text", "image"],
                                                 where & pads.field("page_id").isin(ids)).to_pylist()} if ids else {}
    for row, _ in flagged:
        row["text"] = shown.get(row["page_id"], {}).get("text")
    images = {page_id: r["image"] for page_id, r in shown.items()}
    confidence = sorted(((script, [r["ocr_confidence"] for r in rows if r["script"] == script
                          and r["ocr_confidence"] is not None and r["text_source"] == "ocr"])
                         for script in {r["script"] for r in rows if r["status"] == "ok"}),
                        key=lambda item: -len(item[1]))
    confidence = [(script, values) for script, values in confidence if values]
    chart = png("OCR confidence by script (this batch)", confidence_boxes(confidence), bool(confidence))
    return _page(dataset, batch_id, rows, report, flagged, images, chart)


def _page(dataset: str, batch_id: str, rows: list[dict], report: dict | None, flagged: list[tuple[dict, str]],
          images: dict[str, bytes | None], chart: bytes) -> str:
    e = html.escape
    ok = sum(r["status"] == "ok" for r in rows)
    counts = {
        "pages": f"{len(rows)} ({ok} ok, {len(rows) - ok} with errors)",
        "by script": _counted(r["script"] for r in rows if r["status"] == "ok"),
        "by language": _counted(r["language"] or "(none)" for r in rows if r["status"] == "ok"),
        "text from": _counted(r["text_source_reason"] or "(unknown)" for r in rows if r["status"] == "ok"),
        "errors": _counted(r["error_kind"] for r in rows if r["status"] == "error") or "none",
    }
    head = [f"<h1>Batch {e(batch_id)}</h1>",
            f"<p class=meta>dataset <code>{e(dataset)}</code>"
            + (f" &middot; run <code>{e(report['run_id'])}</code> {e(report['status'])} "
               f"{e(report['finished_at'][:19].replace('T', ' '))} UTC" if report else "") + "</p>",
            "<table class=counts>" + "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in counts.items())
            + "</table>",
            f'<img class=chart alt="OCR confidence by script" src="data:image/png;base64,{_b64(chart)}">']
    files = report["file_outcomes"] if report else _files_from_rows(rows)
    file_rows = "".join(
        f"<tr class={e(f['outcome'])}><td>{e(f['outcome'])}</td><td>{e(f['uri'])}</td><td>{f['pages_ok']}</td>"
        f"<td>{f['pages_error']}</td><td>{e(f.get('error') or '')}"
        + (f" (same bytes as {e(f['duplicate_of'])})" if f.get("duplicate_of") else "") + "</td></tr>"
        for f in files)
    cards = "".join(_card(row, why, images.get(row["page_id"])) for row, why in flagged)
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Lontar review: batch {e(batch_id)}</title>", f"<style>{STYLE}</style></head><body>",
        *head,
        f"<h2>Files ({len(files)})</h2>",
        "<table class=files><tr><th>outcome</th><th>file</th><th>pages ok</th><th>pages with errors</th>"
        f"<th>why</th></tr>{file_rows}</table>",
        f"<h2>Pages that need a look ({len(flagged)})</h2>",
        f"<div class=cards>{cards}</div>" if flagged else "<p class=none>None: every page was read.</p>",
        "</body></html>", ""])


def _card(row: dict, why: str, image: bytes | None) -> str:
    e = html.escape
    where = f"page {row['page_index'] + 1}" if row["page_index"] >= 0 else "whole file"
    thumb = (f'<img class=thumb alt="{e(where)}" src="data:image/jpeg;base64,{_b64(_thumbnail(image))}">'
             if image else "<div class='thumb missing'>no page image: nothing could be read</div>")
    read = ""
    if row["status"] == "ok":
        lang = " &middot; ".join(e(str(v)) for v in (row["script"], row["language"], row["lang"]) if v)
        read = f"<div class=lang>{lang}</div><pre class=text>{e((row['text'] or '')[:TEXT_CHARS]) or '(no text)'}</pre>"
    return (f"<figure class=card>{thumb}<figcaption><b>{e(row['source_uri'].rsplit('/', 1)[-1])}</b> {where}"
            f"<div class=why>{e(why)}</div>{read}</figcaption></figure>")


def _thumbnail(image: bytes) -> bytes:
    picture = Image.open(io.BytesIO(image))
    picture.thumbnail((THUMB_PX, THUMB_PX * 2))
    out = io.BytesIO()
    picture.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def _files_from_rows(rows: list[dict]) -> list[dict[str, Any]]:
    """File outcomes from the rows, for a batch whose run left no report (killed, or still running)."""
    by_file: dict[str, Counter[str]] = {}
    for row in rows:
        by_file.setdefault(row["source_uri"], Counter())[row["status"]] += 1
    return [{"uri": uri, "outcome": "ok" if not c["error"] else "partial" if c["ok"] else "error",
             "pages_ok": c["ok"], "pages_error": c["error"]} for uri, c in by_file.items()]


def _counted(values: Any) -> str:
    return ", ".join(f"{value} {count}" for value, count in Counter(values).most_common())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}.meta{color:#555}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left}
.counts th{background:#f4f4f4}.files tr.error td:first-child{color:#b00;font-weight:bold}
.files tr.partial td:first-child{color:#b60}.files tr.duplicate td:first-child{color:#777}
.chart{margin-top:1em;border:1px solid #eee}
.cards{display:flex;flex-wrap:wrap;gap:1em}.card{width:280px;margin:0;border:1px solid #ddd;padding:.5em}
.thumb{max-width:260px;display:block;margin:0 auto .4em}
.missing{padding:1em .5em;background:#eee;color:#666;font-size:.85em;text-align:center}
.why{color:#b00;font-size:.9em;margin:.3em 0}.lang{color:#555;font-size:.8em}
.text{white-space:pre-wrap;font-size:.8em;max-height:12em;overflow:auto;background:#fafafa;padding:.3em}
"""
