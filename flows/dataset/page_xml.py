"""A page row as ALTO v4 XML and as hOCR: what eScriptorium, Transkribus, Kraken, DSpace and IIIF viewers take.

Both are made from the row alone: the page (the stored image, turned by `rotation`: the boxes are measured in
it), its text regions in reading order, their lines and each line's words with their confidences. A line
without word boxes (a text layer's line from an older schema, say) is one word over the line's box. Figures
are illustrations (ALTO) or `ocr_photo` areas (hOCR); headers and footers stay in the text, as in the row.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import reduce
from importlib import resources
from typing import Any
from xml.etree import ElementTree as ET

from PIL import Image

from ocr_models.geometry.boxes import intersection, union

ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
ALTO_SCHEMA = "lontar-alto-4.xsd"  # shipped beside this module (flows/dataset/schemas/)
Row = dict[str, Any]


def page_size(row: Row) -> tuple[int, int]:
    """Width and height of the page as its boxes are measured: the stored image turned by `rotation`."""
    turned = (row.get("rotation") or 0) % 180 == 90
    return (row["height"], row["width"]) if turned else (row["width"], row["height"])


def upright_image(row: Row) -> tuple[bytes, str]:
    """The stored image as its boxes are measured (turned by the row's `rotation`), and its file extension."""
    turn = (row.get("rotation") or 0) % 360
    if not turn:
        return row["image"], {"jpeg": "jpg"}.get(row["image_format"], row["image_format"])
    buffer = io.BytesIO()
    Image.open(io.BytesIO(row["image"])).rotate(-turn, expand=True).save(buffer, "PNG")
    return buffer.getvalue(), "png"


def blocks(row: Row) -> list[tuple[Row | None, list[Row]]]:
    """(region, its lines) in reading order: each text region with the page's lines that lie mostly inside it;
    lines no text region holds come last, as one block (region None). Every line of the page is in one block."""
    regions = sorted((r for r in row.get("regions") or () if r["kind"] != "figure" and r.get("reading_order")
                      is not None), key=lambda r: r["reading_order"])
    owned: dict[int, list[Row]] = {i: [] for i in range(len(regions))}
    loose: list[Row] = []
    for line in row.get("lines") or ():
        overlaps = [intersection(line["bbox"], region["bbox"]) for region in regions]
        best = max(range(len(regions)), key=overlaps.__getitem__, default=None)
        (owned[best] if best is not None and overlaps[best] > 0 else loose).append(line)
    out: list[tuple[Row | None, list[Row]]] = [(regions[i], owned[i]) for i in owned if owned[i]]
    return [*out, (None, loose)] if loose else out


def block_box(region: Row | None, lines: list[Row]) -> list[int]:
    """A block's box: its region's, or the lines' (the block of lines no region holds)."""
    return region["bbox"] if region else list(reduce(union, (line["bbox"] for line in lines)))


def words(line: Row) -> list[Row]:
    """The line's words; one word over the whole line when the engine gave none."""
    return list(line.get("words") or ()) or [{"text": line["text"], "bbox": line["bbox"],
                                              "confidence": line["confidence"]}]


def spaced(line: Row) -> bool:
    """Whether the line's words are separated by spaces in its text (Thai, Lao, Khmer and Myanmar "words" are
    syllables written together)."""
    return " ".join(w["text"] for w in words(line)) == " ".join(line["text"].split())


# --- ALTO ---------------------------------------------------------------------------------------------------
def alto_xml(row: Row, image_name: str, software_version: str) -> bytes:
    """ALTO v4 for one page row; `image_name`: the page image's file name as the archive stores it."""
    ET.register_namespace("", ALTO_NS)
    width, height = page_size(row)
    root = _el("alto")
    description = _sub(root, "Description")
    _sub(description, "MeasurementUnit").text = "pixel"
    _sub(_sub(description, "sourceImageInformation"), "fileName").text = image_name
    processing = _sub(description, "Processing", ID="processing-1")
    _sub(processing, "processingDateTime").text = _iso(row.get("created_at"))
    engine = row.get("engine_version") or ""
    engine = engine if str(row.get("engine")) in engine else f"{row.get('engine')} {engine}".strip()
    models = ", ".join(filter(None, (f"text: {engine}",
                                     f"models: {row.get('lang')}" if row.get("lang") else None,
                                     f"layout: {row.get('layout_model')}" if row.get("layout_model") else None)))
    _sub(processing, "processingStepDescription").text = models
    software = _sub(processing, "processingSoftware")
    _sub(software, "softwareCreator").text = "Lontar"
    _sub(software, "softwareName").text = "Lontar"
    _sub(software, "softwareVersion").text = software_version
    page = _sub(_sub(root, "Layout"), "Page", ID="page-1", PHYSICAL_IMG_NR=str(row["page_index"] + 1),
                WIDTH=str(width), HEIGHT=str(height), PROCESSING="processing-1",
                **({"LANG": row["language"]} if row.get("language") else {}))
    space = _sub(page, "PrintSpace", HPOS="0", VPOS="0", WIDTH=str(width), HEIGHT=str(height))
    for b, (region, lines) in enumerate(blocks(row), 1):
        block = _sub(space, "TextBlock", ID=f"block-{b}", **_box(block_box(region, lines)),
                     **({"LANG": region["language"]} if region and region.get("language") else {}))
        for n, line in enumerate(lines, 1):
            text_line = _sub(block, "TextLine", ID=f"line-{b}-{n}", **_box(line["bbox"]))
            for w, word in enumerate(words(line)):
                if w and spaced(line):
                    _sub(text_line, "SP")
                _sub(text_line, "String", ID=f"word-{b}-{n}-{w + 1}", CONTENT=word["text"], **_box(word["bbox"]),
                     WC=f"{min(1.0, max(0.0, word['confidence'] or 0.0)):.4f}")
    for f, figure in enumerate((r for r in row.get("regions") or () if r["kind"] == "figure"), 1):
        _sub(space, "Illustration", ID=f"figure-{f}", **_box(figure["bbox"]))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def alto_schema() -> Any:
    """Lontar's ALTO 4 schema (xmlschema.XMLSchema), read from the package: never fetched."""
    import xmlschema

    with resources.as_file(resources.files("flows.dataset") / "schemas" / ALTO_SCHEMA) as path:
        return xmlschema.XMLSchema(str(path))


def _el(tag: str, **attrs: str) -> ET.Element:
    return ET.Element(f"{{{ALTO_NS}}}{tag}", attrs)


def _sub(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, f"{{{ALTO_NS}}}{tag}", attrs)


def _box(bbox: list[int]) -> dict[str, str]:
    x0, y0, x1, y1 = bbox
    return {"HPOS": str(x0), "VPOS": str(y0), "WIDTH": str(max(0, x1 - x0)), "HEIGHT": str(max(0, y1 - y0))}


# --- hOCR ---------------------------------------------------------------------------------------------------
def hocr_html(row: Row, image_name: str, software_version: str) -> bytes:
    """hOCR 1.2 for one page row: ocr_page / ocr_carea / ocr_par / ocr_line / ocrx_word, with bbox and x_wconf."""
    width, height = page_size(row)
    lang = f' lang="{html.escape(row["language"])}"' if row.get("language") else ""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
        f'<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="{html.escape(row.get("language") or "und")}">',
        "<head>", f"<title>{html.escape(image_name)}</title>",
        '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>',
        f'<meta name="ocr-system" content="Lontar {html.escape(software_version)}"/>',
        '<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"/>',
        "</head>", "<body>",
        f'<div class="ocr_page" id="page_1" title="image &quot;{html.escape(image_name)}&quot;; '
        f'bbox 0 0 {width} {height}; ppageno {row["page_index"]}"{lang}>',
    ]
    for b, (region, lines) in enumerate(blocks(row), 1):
        box = _bbox(block_box(region, lines))
        out.append(f'<div class="ocr_carea" id="block_{b}" title="{box}">')
        out.append(f'<p class="ocr_par" id="par_{b}" title="{box}">')
        for n, line in enumerate(lines, 1):
            out.append(f'<span class="ocr_line" id="line_{b}_{n}" title="{_bbox(line["bbox"])}">')
            out.append((" " if spaced(line) else "").join(
                f'<span class="ocrx_word" id="word_{b}_{n}_{w}" title="{_bbox(word["bbox"])}; x_wconf '
                f'{round(100 * min(1.0, max(0.0, word["confidence"] or 0.0)))}">{html.escape(word["text"])}</span>'
                for w, word in enumerate(words(line), 1)))
            out.append("</span>")
        out.append("</p></div>")
    for f, figure in enumerate((r for r in row.get("regions") or () if r["kind"] == "figure"), 1):
        out.append(f'<div class="ocr_photo" id="figure_{f}" title="{_bbox(figure["bbox"])}"></div>')
    out += ["</div>", "</body>", "</html>", ""]
    return "\n".join(out).encode()


def hocr_boxes(document: bytes) -> Iterator[tuple[str, tuple[int, int, int, int]]]:
    """(class, bbox) of every element of an hOCR document that has a bbox: how a reader parses it."""
    root = ET.fromstring(document)
    for element in root.iter():
        title = element.get("title") or ""
        for part in title.split(";"):
            fields = part.split()
            if fields[:1] == ["bbox"]:
                x0, y0, x1, y1 = (int(v) for v in fields[1:5])
                yield element.get("class") or "", (x0, y0, x1, y1)


def _bbox(bbox: list[int]) -> str:
    return "bbox " + " ".join(str(int(v)) for v in bbox)


def _iso(when: datetime | None) -> str:
    return (when or datetime.now(UTC)).isoformat(timespec="seconds")
