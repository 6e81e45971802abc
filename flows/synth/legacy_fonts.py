"""Born-digital PDFs whose text layer is garbage the way legacy Indic fonts make it: the tests' and the
benchmark's evidence that `--text-layer auto` does not take such a layer for text.

Legacy fonts (Kruti Dev for Hindi, Bamini for Tamil, ...) draw Devanagari or Tamil glyphs at the code points of
ASCII letters, so a PDF typed in them shows Indic text and extracts as Latin gibberish ("Hkkjr ljdkj" for
भारत सरकार). `legacy_text` encodes Unicode text as those fonts' users type it (the common letters of the Kruti
Dev 010 and Bamini tables, vowel signs in visual order); `legacy_font` builds a TrueType font from a Noto font
whose ASCII code points draw the script's glyphs (unshaped: every code point is one glyph); `legacy_pdf` types
text with it. `private_use_pdf` does the same with code points in the Private Use Area, as fonts with their own
encoding do.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pymupdf
from fontTools.ttLib import TTFont

from flows.synth.text import FONT_DIR

# Unicode -> the ASCII its legacy font is typed with. Kruti Dev 010's letters (full forms of letters drawn as
# a half form and the vertical stroke are two codes: "Hk" is भ); Bamini's.
KRUTI_DEV: dict[str, str] = {
    "क": "d", "ख": "[k", "ग": "x", "घ": "?k", "च": "p", "छ": "N", "ज": "t", "झ": ">", "ट": "V", "ठ": "B",
    "ड": "M", "ढ": "<", "ण": ".k", "त": "r", "थ": "Fk", "द": "n", "ध": "/k", "न": "u", "प": "i", "फ": "Q",
    "ब": "c", "भ": "Hk", "म": "e", "य": ";", "र": "j", "ल": "y", "व": "o", "श": "'k", "ष": "\"k", "स": "l",
    "ह": "g", "अ": "v", "आ": "vk", "इ": "b", "ई": "bZ", "उ": "m", "ऊ": "Å", "ए": ",", "ऐ": ",s", "ओ": "vks",
    "ा": "k", "ि": "f", "ी": "h", "ु": "q", "ू": "w", "े": "s", "ै": "S", "ो": "ks", "ौ": "kS", "ं": "a",
    "ँ": "¡", "ः": "%", "्": "~", "।": "A", "ृ": "`", "़": "+",
}
BAMINI: dict[str, str] = {
    "அ": "m", "ஆ": "M", "இ": ",", "ஈ": "<", "உ": "c", "ஊ": "C", "எ": "v", "ஏ": "V", "ஐ": "I", "ஒ": "x",
    "ஓ": "X", "க": "f", "ங": "q", "ச": "r", "ஞ": "Q", "ட": "l", "ண": "z", "த": "j", "ந": "e", "ப": "g",
    "ம": "k", "ய": "a", "ர": "u", "ல": "y", "வ": "t", "ழ": "o", "ள": "s", "ற": "w", "ன": "d", "ஜ": "[",
    "ஷ": "\"", "ஸ": "]", "ஹ": "`", "்": ";", "ா": "h", "ி": "p", "ீ": "P", "ு": "{", "ூ": "}", "ெ": "n",
    "ே": "N", "ை": "i", "ௌ": "ns",
}
# vowel signs written before their consonant (legacy text is in the order the glyphs are drawn)
PRE_BASE = {"ि", "ெ", "ே", "ை"}
# encoding -> (its table, the Noto font of its glyphs, its vowel sign drawn as a vertical stroke, its font name)
ENCODINGS = {"kruti_dev": (KRUTI_DEV, "NotoSansDevanagari-Regular.ttf", "ा", "KrutiDev010"),
             "bamini": (BAMINI, "NotoSansTamil-Regular.ttf", "ா", "Bamini")}
PRIVATE_USE_START = 0xE000


def legacy_text(text: str, encoding: str) -> str:
    """`text` as a legacy font's user types it: each letter's ASCII code(s), pre-base vowel signs first."""
    table = ENCODINGS[encoding][0]
    chars = list(text)
    for i in range(1, len(chars)):  # move a pre-base vowel sign before its consonant
        if chars[i] in PRE_BASE:
            chars[i - 1], chars[i] = chars[i], chars[i - 1]
    return "".join(table.get(char, char) for char in chars)


@cache
def legacy_font(encoding: str) -> bytes:
    """A TrueType font that draws the Indic glyphs of `encoding`'s letters at their ASCII code points (and Latin
    glyphs for the rest of ASCII), named as the legacy font is."""
    table, indic_file, stroke, name = ENCODINGS[encoding]
    font = TTFont(str(FONT_DIR / indic_file))
    indic_cmap = font.getBestCmap()
    glyphs: dict[int, str] = {}
    for letter, codes in table.items():
        # a code of several ASCII characters draws the letter with its first one (and its stroke with the rest)
        glyph = indic_cmap.get(ord(letter))
        if glyph is not None and ord(codes[0]) not in glyphs:
            glyphs[ord(codes[0])] = glyph
    for codes in table.values():  # the rest of a letter's codes, and codes of letters the font lacks
        for code in codes:
            glyphs.setdefault(ord(code), indic_cmap[ord(stroke)])
    glyphs[0x20] = indic_cmap[0x20]
    return _with_cmap(font, glyphs, name)


@cache
def _private_use_places(script_font: str) -> dict[int, int]:
    """Each non-ASCII code point `script_font` draws -> the private-use code point standing for it."""
    letters = sorted(code for code in TTFont(str(FONT_DIR / script_font)).getBestCmap() if code > 0x7F)
    return {code: PRIVATE_USE_START + i for i, code in enumerate(letters)}


@cache
def private_use_font(script_font: str = "NotoSansDevanagari-Regular.ttf") -> bytes:
    """A font that draws `script_font`'s letters at private-use code points (`_private_use_places`)."""
    font = TTFont(str(FONT_DIR / script_font))
    cmap = font.getBestCmap()
    glyphs = {place: cmap[code] for code, place in _private_use_places(script_font).items()}
    glyphs[0x20] = cmap[0x20]
    return _with_cmap(font, glyphs, "PrivateEncoding")


def private_use_text(text: str, script_font: str = "NotoSansDevanagari-Regular.ttf") -> str:
    """`text` at the code points `private_use_font` draws its letters with (spaces stay spaces)."""
    places = _private_use_places(script_font)
    return "".join(chr(places.get(ord(char), ord(char))) for char in text)


def _with_cmap(font: TTFont, glyphs: dict[int, str], name: str) -> bytes:
    for table in font["cmap"].tables:
        table.cmap = dict(glyphs) if table.isUnicode() else {}
    font["cmap"].tables = [t for t in font["cmap"].tables if t.isUnicode()]
    for record in font["name"].names:
        if record.nameID in (1, 4, 6):
            record.string = name
    for table in ("GSUB", "GPOS", "morx"):  # no shaping: one code point, one glyph, as legacy fonts draw
        if table in font:
            del font[table]
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def text_pdf(lines: list[str], font: bytes | None = None, font_name: str = "body", size: float = 14) -> bytes:
    """A one-page A4 PDF with `lines` typed in `font` (Noto Sans when None), one line every 1.5 sizes."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    if font is None:
        font = Path(FONT_DIR / "NotoSans-Regular.ttf").read_bytes()
    page.insert_font(fontname=font_name, fontbuffer=font)
    y = 72.0
    for line in lines:
        page.insert_text((56, y), line, fontname=font_name, fontsize=size)
        y += size * 1.5
    data = doc.tobytes()
    doc.close()
    return data


def legacy_pdf(lines: list[str], encoding: str) -> bytes:
    """A PDF showing `lines` (Unicode Hindi or Tamil) in a legacy font: its text layer is `legacy_text`."""
    return text_pdf([legacy_text(line, encoding) for line in lines], legacy_font(encoding), ENCODINGS[encoding][3])


def private_use_pdf(lines: list[str]) -> bytes:
    """A PDF showing `lines` (Unicode Devanagari) through private-use code points."""
    return text_pdf([private_use_text(line) for line in lines], private_use_font(), "PrivateEncoding")
