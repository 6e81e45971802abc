"""Which text layers `--text-layer auto` takes, and what judging them costs (docs/accuracy.md, "Text layers"):

    .venv/bin/python benchmarks/text_layers.py [--scans ../shared/realscans] [--pdf FILE ...]

Good layers: the real transcriptions of ../shared/realscans (Kannada, Sanskrit, English) typed into PDFs as
Unicode, every language of the drawn set likewise, and real born-digital PDFs (`--pdf`; by default the two
English manuals Debian ships on this machine). Garbage: the same Hindi and Tamil texts typed in legacy
encodings (Kruti Dev, Bamini) with the font named as the legacy font and with a neutral name (only the glyph
trial can catch those), and through private-use code points. Each page's verdict (records.TEXT_SOURCE_REASONS)
is counted per set, with the milliseconds judging took.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

import pymupdf
from rapidfuzz.distance import Levenshtein

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors.sources.documents import PdfDocument
from actors.sources.text_layer import unmapped_glyph_share
from configs.model import IngestOptions
from flows.synth.legacy_fonts import legacy_font, legacy_text, private_use_font, private_use_text, text_pdf
from flows.synth.text import FONT_DIR, SAMPLE_TEXT, font_path
from ocr_models.scripts import LANGUAGE_SCRIPT

DEBIAN_PDFS = ["/usr/share/doc/libtasn1-doc/libtasn1.pdf", "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf"]
FONTS = {"kan": "NotoSansKannada-Regular.ttf", "san": "NotoSansDevanagari-Regular.ttf",
         "hin": "NotoSansDevanagari-Regular.ttf", "eng": "NotoSans-Regular.ttf"}
LINES_PER_PAGE = 30
CHARS_PER_LINE = 70


def pages_of(text: str) -> list[list[str]]:
    """`text` cut into lines of at most CHARS_PER_LINE characters (at spaces) and pages of LINES_PER_PAGE."""
    lines: list[str] = []
    for paragraph in text.splitlines():
        current = ""
        for word in paragraph.split():
            if current and len(current) + len(word) + 1 > CHARS_PER_LINE:
                lines.append(current)
                current = ""
            current = f"{current} {word}".strip()
        if current:
            lines.append(current)
    return [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)]


def judged(data: bytes, options: IngestOptions) -> list[tuple[str, float]]:
    """(verdict, milliseconds) for every page of a PDF."""
    doc = PdfDocument(data, options)
    out = []
    for page in doc._doc:
        started = time.perf_counter()
        _, reason = doc._text_layer(page)
        out.append((reason, (time.perf_counter() - started) * 1000))
    doc.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scans", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "realscans")
    parser.add_argument("--pdf", nargs="*", default=[p for p in DEBIAN_PDFS if Path(p).exists()])
    args = parser.parse_args()
    options = IngestOptions()
    real: dict[str, list[str]] = {}
    for truth in sorted(args.scans.glob("pages/*/*.txt")):
        lang = {"kannada": "kan", "devanagari": "san", "latin": "eng"}.get(truth.parent.name)
        if lang:
            real.setdefault(lang, []).append(truth.read_text(encoding="utf-8"))
    sets: dict[str, list[bytes]] = {}
    for lang, texts in real.items():
        font = (FONT_DIR / FONTS[lang]).read_bytes()
        sets[f"real transcriptions, {lang}, Unicode"] = [text_pdf(p, font) for t in texts for p in pages_of(t)]
    sets["drawn set, every language, Unicode"] = [text_pdf(list(lines) * 3, font_path(lang).read_bytes())
                                                  for lang, lines in SAMPLE_TEXT.items()]
    for path in args.pdf:
        sets[f"real PDF {Path(path).name}"] = [Path(path).read_bytes()]
    hindi = [*real.get("san", []), " ".join(SAMPLE_TEXT["hin"] * 3), " ".join(SAMPLE_TEXT["mar"] * 3)]
    tamil = [" ".join(SAMPLE_TEXT["tam"] * 3)]
    for encoding, texts, name in (("kruti_dev", hindi, "KrutiDev010"), ("bamini", tamil, "Bamini")):
        for font_name in (name, "F1"):
            sets[f"{encoding} (Sanskrit/Hindi/Marathi or Tamil), font named {font_name}"] = [
                text_pdf([legacy_text(line, encoding) for line in page], legacy_font(encoding), font_name)
                for t in texts for page in pages_of(t)]
    sets["private-use code points (Devanagari)"] = [
        text_pdf([private_use_text(line) for line in page], private_use_font(), "F1")
        for t in hindi for page in pages_of(t)]
    # a legacy font's own name reaches the PDF as its BaseFont whatever the resource is called; "F1" above names
    # the resource only, so the neutral sets rename the font itself
    print(f"{'set':<72} {'pages':>5}  verdicts  (ms a page: mean, max)")
    for label, pdfs in sets.items():
        results = [r for pdf in pdfs for r in judged(_renamed(pdf) if "named F1" in label else pdf, options)]
        verdicts = Counter(reason for reason, _ in results)
        times = [ms for _, ms in results]
        print(f"{label:<72} {len(results):>5}  {dict(verdicts)}  ({sum(times) / len(times):.1f}, {max(times):.0f})")
    shaped(options)


def shaped(options: IngestOptions) -> None:
    """Per script: text shaped by HarfBuzz into subset fonts (fpdf2), with its partial ToUnicode map and with
    none; the share of glyphs that map to nothing, the verdict, and the CER against the typeset text of the
    layer as Lontar would store it (control characters dropped) had it been kept: what the threshold
    `ingest.max_unmapped_glyph_share` weighs against reading the page."""
    from flows.synth.shaped_pdfs import SHAPED_TEXT, shaped_pdf

    unchecked = options.model_copy(update={"text_layer": "prefer"})
    print(f"\nshaped text, subset fonts (ingest.max_unmapped_glyph_share = {options.max_unmapped_glyph_share}); "
          "CER of the layer kept (control characters dropped) and of the `tesseract` CLI told the language on the "
          "page rendered at 300 dpi")
    print(f"{'script':<8} {'map':<8} {'unmapped':>8}  {'verdict':<16} {'CER kept':>8} {'CER OCR':>8}  ms")
    for lang in sorted(SHAPED_TEXT):
        lines = list(SHAPED_TEXT[lang]) * 4
        truth = " ".join(" ".join(lines).split())
        for to_unicode in (True, False):
            data = shaped_pdf(lines, lang, to_unicode=to_unicode)
            (verdict, ms), = judged(data, options)
            doc = pymupdf.open(stream=data)
            share = unmapped_glyph_share(doc[0].get_texttrace())
            if to_unicode:  # the same page either way
                png = doc[0].get_pixmap(dpi=300, colorspace=pymupdf.csGRAY).tobytes("png")
                read = subprocess.run(["tesseract", "-", "-", "-l", lang, "--psm", "6"], input=png,
                                      capture_output=True, check=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
                ocr = " ".join(unicodedata.normalize("NFC", read.stdout.decode()).split())
                ocr_cer = Levenshtein.distance(ocr, truth) / len(truth)
            doc.close()
            kept = PdfDocument(data, unchecked)
            layer = " ".join((kept._text_layer(kept._doc[0])[0] or "").split())
            kept.close()
            cer = Levenshtein.distance(layer, truth) / len(truth)
            script = LANGUAGE_SCRIPT[lang].code
            print(f"{script + ' ' + lang:<8} {'partial' if to_unicode else 'none':<8} {share:8.3f}  {verdict:<16} "
                  f"{cer:8.3f} {ocr_cer:8.3f}  {ms:.1f}")


def _renamed(pdf: bytes) -> bytes:
    """The PDF with its fonts' names made neutral, so that only the glyph trial can tell a legacy font."""
    doc = pymupdf.open(stream=pdf)
    for xref in range(1, doc.xref_length()):
        for key in ("BaseFont", "FontName"):
            value = doc.xref_get_key(xref, key)
            if value[0] == "name":
                doc.xref_set_key(xref, key, "/F1")
    data = doc.tobytes()
    doc.close()
    return data


if __name__ == "__main__":
    main()
