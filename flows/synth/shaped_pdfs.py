"""Born-digital PDFs typeset the way real tools typeset complex scripts, whose text layers lie the way theirs do.

fpdf2 shapes the text with HarfBuzz and embeds a subset of the Noto font; its ToUnicode map gives each glyph
the characters it was shaped from only where one glyph stands for whole characters, so conjuncts, reordered
vowel signs and stacked consonants map to nothing (MuPDF extracts them as control characters:
"পূর্ব\x04াঞ্চলে"). With `to_unicode=False` the map is left out altogether, as some tools do, and MuPDF falls
back on the font's own cmap. Lines are typeset one under the other, so the truth of a page is its lines.
Needs fpdf2 and uharfbuzz (the dev extras): tests and benchmarks only.
"""

from __future__ import annotations

import pymupdf

from flows.synth.text import SAMPLE_TEXT, font_path

# Every script Lontar routes but Arabic: the sample text, and Sinhala (which the drawn pages do not have).
SHAPED_TEXT: dict[str, tuple[str, ...]] = {
    **SAMPLE_TEXT,
    "sin": ("ශ්‍රී ලංකා ප්‍රජාතාන්ත්‍රික සමාජවාදී ජනරජය", "ජාතික ලේඛනාගාරය පැරණි ලිපි ගොනු රැක ගනී",
            "පුස්තකාලයේ පුස්කොළ පොත් බොහොමයක් ඇත"),
}


def shaped_pdf(lines: list[str], lang: str, *, to_unicode: bool = True, size: float = 14) -> bytes:
    """A one-page (or longer) PDF of `lines` in `lang`'s Noto font, shaped by HarfBuzz and subset by fpdf2."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.add_font("body", fname=str(font_path(lang)))
    pdf.set_font("body", size=size)
    pdf.set_text_shaping(True)
    for line in lines:
        pdf.cell(0, size * 0.6, line, new_x="LMARGIN", new_y="NEXT")
    data = bytes(pdf.output())
    return data if to_unicode else without_to_unicode(data)


def without_to_unicode(data: bytes) -> bytes:
    """The PDF with every font's ToUnicode map removed."""
    doc = pymupdf.open(stream=data, filetype="pdf")
    for xref in range(1, doc.xref_length()):
        if doc.xref_get_key(xref, "ToUnicode")[0] != "null":
            doc.xref_set_key(xref, "ToUnicode", "null")
    out = doc.tobytes(garbage=3)
    doc.close()
    return out
