"""A small mixed archive for the demo and the tests: every input kind Lontar reads, seven scripts, and two
laid-out pages with figures, printed captions and a table (one Hindi page with an English table, one Thai page
with an English caption).

Ground truth goes to FOLDER/.truth/truth.json (hidden folders are not inputs): for each file name, the
language and text of each page, and for laid-out pages their figures and tables (kind, bbox, caption).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pymupdf
from PIL import Image

from flows.synth.layouts import LayoutPage, layout_page
from flows.synth.text import SAMPLE_TEXT, SamplePage, png_bytes, render_page

BORN_DIGITAL_TEXT = (
    "Minutes of the Lontar society, meeting of 12 March 1931.",
    "The committee resolved to copy every palm-leaf manuscript",
    "held in the library before the rainy season begins.",
)


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, dpi=image.info.get("dpi", (300, 300)))
    return buffer.getvalue()


def scanned_pdf(pages: list[SamplePage]) -> bytes:
    """A PDF whose pages are each one full-page JPEG scan, as scanner software writes them."""
    doc = pymupdf.open()
    for page in pages:
        dpi = page.image.info["dpi"][0]
        pdf_page = doc.new_page(width=page.image.width * 72 / dpi, height=page.image.height * 72 / dpi)
        pdf_page.insert_image(pdf_page.rect, stream=jpeg_bytes(page.image))
    return doc.tobytes()


def born_digital_pdf(paragraphs: list[tuple[str, ...]]) -> bytes:
    """A PDF with a real, visible text layer (Latin, the PDF base fonts)."""
    doc = pymupdf.open()
    for lines in paragraphs:
        page = doc.new_page(width=595, height=842)
        for i, line in enumerate(lines):
            page.insert_text((72, 100 + 18 * i), line, fontsize=12)
    return doc.tobytes()


def multipage_tiff(pages: list[SamplePage]) -> bytes:
    buffer = io.BytesIO()
    # copies: an image saved before keeps that save's encoder settings, which the TIFF writer then misreads
    first, *rest = [p.image.copy() for p in pages]
    first.save(buffer, format="TIFF", save_all=True, append_images=rest, compression="tiff_lzw",
               dpi=first.info["dpi"])
    return buffer.getvalue()


def write_sample_archive(folder: Path) -> list[Path]:
    """Write the archive; returns the files written (truth file last)."""
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[str, list[dict]] = {}

    def save(name: str, data: bytes, pages: list[tuple[str, str]]) -> Path:
        path = folder / name
        path.write_bytes(data)
        truth[name] = [{"lang": lang, "text": text} for lang, text in pages]
        return path

    def save_laid_out(name: str, data: bytes, page: LayoutPage, lang: str) -> Path:
        path = save(name, data, [(lang, "\n".join(b.text for b in page.blocks if b.text))])
        truth[name][0]["pictures"] = [{"kind": b.kind, "bbox": list(b.bbox), "caption": b.caption}
                                      for b in page.of_kind("figure", "table")]
        return path

    hin, ben = render_page("hin", seed=1), render_page("ben", seed=2)
    tam, tha = render_page("tam", seed=3), render_page("tha", seed=4)
    khm, mya, eng = render_page("khm", seed=5), render_page("mya", seed=6), render_page("eng", seed=7)
    paragraphs = [BORN_DIGITAL_TEXT, SAMPLE_TEXT["eng"]]
    written = [
        save("minutes-born-digital.pdf", born_digital_pdf(paragraphs),
             [("eng", "\n".join(p)) for p in paragraphs]),
        save("hindi-bengali-scan.pdf", scanned_pdf([hin, ben]), [("hin", hin.text), ("ben", ben.text)]),
        save("tamil-thai.tiff", multipage_tiff([tam, tha]), [("tam", tam.text), ("tha", tha.text)]),
        save("khmer.png", png_bytes(khm.image), [("khm", khm.text)]),
        save("myanmar.jpg", jpeg_bytes(mya.image, 92), [("mya", mya.text)]),
        save("english-letter.png", png_bytes(eng.image), [("eng", eng.text)]),
    ]
    report = layout_page("hin", columns=2, table=True, seed=8)
    thai = layout_page("tha", columns=1, caption_lang="eng", seed=9)
    written += [save_laid_out("hindi-report-figures.png", png_bytes(report.image), report, "hin"),
                save_laid_out("thai-bulletin.jpg", jpeg_bytes(thai.image, 90), thai, "tha")]
    truth_dir = folder / ".truth"
    truth_dir.mkdir(exist_ok=True)
    (truth_dir / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return [*written, truth_dir / "truth.json"]
