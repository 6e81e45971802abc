"""The dataset card's charts: small PNGs drawn with matplotlib from the dataset's views after every run
(`OUT/_card/<name>.png`, shown in `OUT/README.md`) and by `lontar stats --plots DIR`."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import duckdb

CHARTS = {  # name -> title
    "pages_by_language": "Pages by language (script)",
    "ocr_confidence": "OCR confidence by script",
    "quality": "Quality signals of the pages read",
    "pages_by_batch": "Pages per batch, oldest first",
}
MOST_BARS = 20


def draw(con: duckdb.DuckDBPyConnection) -> dict[str, bytes]:
    """Every chart of CHARTS as PNG bytes (a chart with nothing to show says so)."""
    ok = "FROM pages WHERE status = 'ok'"
    language = con.execute(f"SELECT coalesce(language, '(none)') || ' (' || script || ')', count(*) {ok} "
                           f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {MOST_BARS}").fetchall()
    confidence = con.execute(f"SELECT script, list(ocr_confidence) {ok} AND ocr_confidence IS NOT NULL "
                             "GROUP BY 1 ORDER BY count(*) DESC, 1").fetchall()[:MOST_BARS]
    signals = {name: [v for (v,) in con.execute(f"SELECT {name} {ok} AND {name} IS NOT NULL").fetchall()]
               for name in ("script_purity", "garbage_score", "repetition_score")}
    batches = con.execute("SELECT batch_id, count(*) FROM pages GROUP BY 1 ORDER BY min(created_at), 1").fetchall()

    def histograms(ax: Any) -> None:
        for name, values in signals.items():
            if values:
                ax.hist(values, bins=20, range=(0, 1), histtype="step", label=name)
        ax.set_xlabel("score (0-1)")
        ax.set_ylabel("pages")
        ax.legend(fontsize=7)

    return {
        "pages_by_language": png(CHARTS["pages_by_language"], bars(language), bool(language)),
        "ocr_confidence": png(CHARTS["ocr_confidence"], confidence_boxes(confidence), bool(confidence)),
        "quality": png(CHARTS["quality"], histograms, any(signals.values())),
        "pages_by_batch": png(CHARTS["pages_by_batch"], bars(batches[-MOST_BARS:]), bool(batches)),
    }


def png(title: str, draw_on: Callable[[Any], None], has_data: bool) -> bytes:
    """One small chart as PNG bytes: `draw_on(axes)` draws it; without data it says "no pages yet"."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=80)
    if has_data:
        draw_on(ax)
    else:
        ax.text(0.5, 0.5, "no pages yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def bars(rows: list[tuple]) -> Callable[[Any], None]:
    """Horizontal bars of (label, pages) rows, the first on top."""
    def on(ax: Any) -> None:
        labels, counts = zip(*reversed(rows), strict=True)
        ax.barh(labels, counts, color="#4c72b0")
        ax.set_xlabel("pages")
        ax.tick_params(labelsize=7)
    return on


def confidence_boxes(rows: list[tuple[str, list[float]]]) -> Callable[[Any], None]:
    """A box of OCR confidences (0-1) per (script, confidences) row."""
    def on(ax: Any) -> None:
        ax.boxplot([values for _, values in rows], orientation="horizontal", tick_labels=[s for s, _ in rows])
        ax.set_xlim(0, 1)
        ax.set_xlabel("ocr_confidence")
        ax.tick_params(labelsize=7)
    return on
