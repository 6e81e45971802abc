"""One file for every class of awkward or broken input an archive holds, made on the spot (nothing downloaded),
each with the outcome Lontar owes it: every image mode and codec a scanner or a PDF producer emits, damaged
PDFs a repair can save, PDFs that carry scripts and attachments, and files that cannot be read at all."""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass

import pymupdf
from PIL import Image, ImageDraw, ImageOps

PASSWORD = "minutes-1942"
ATTACHMENT_PAYLOAD = b"ATTACHED-LEDGER-NEVER-EXTRACTED"


@dataclass(frozen=True)
class Case:
    data: bytes
    outcome: str  # ok | partial | error: the file's outcome in the run report
    error_kind: str | None = None  # of the file's error row (outcome error)
    reason: str = ""  # words the error must hold


def _page(mode: str, size: tuple[int, int] = (900, 300), line: str = "Minutes of the archive committee, 1942"
          ) -> Image.Image:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((30, 120), line, fill="black", font_size=40)
    return image.convert(mode)


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _pdf_around(image: bytes) -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=432, height=144)
    page.insert_image(page.rect, stream=image)
    return doc.tobytes()


def _born_digital() -> pymupdf.Document:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "A page of minutes, typed and never printed, long enough to trust.")
    return doc


def _jbig2_pdf() -> bytes:
    """A PDF page drawing one JBIG2 image: a generic region coded with MMR (CCITT G4 inside JBIG2), which
    needs no JBIG2 encoder to make. JBIG2 draws 1 as black, so the G4 data is of the inverted page."""
    image = ImageOps.invert(_page("L")).convert("1")
    tiff_bytes = _encode(image, "TIFF", compression="group4", tiffinfo={278: image.height})  # one strip
    tags = Image.open(io.BytesIO(tiff_bytes)).tag_v2
    (offset,), (length,) = tags[273], tags[279]
    g4 = tiff_bytes[offset:offset + length]

    def segment(number: int, kind: int, data: bytes) -> bytes:  # header: number, type, no referrals, page 1
        return struct.pack(">IBBBI", number, kind, 0, 1, len(data)) + data

    w, h = image.size
    stream = (segment(0, 48, struct.pack(">IIIIBH", w, h, 0, 0, 0, 0))  # page information
              + segment(1, 38, struct.pack(">IIIIB", w, h, 0, 0, 0) + b"\x01" + g4)  # generic region, MMR
              + segment(2, 49, b""))  # end of page
    doc = pymupdf.open()
    page = doc.new_page(width=432, height=144)
    xobject = doc.get_new_xref()
    doc.update_object(xobject, f"<</Type/XObject/Subtype/Image/Width {w}/Height {h}/ColorSpace/DeviceGray"
                               "/BitsPerComponent 1>>")
    doc.update_stream(xobject, stream, compress=False)
    doc.xref_set_key(xobject, "Filter", "/JBIG2Decode")
    doc.xref_set_key(page.xref, "Resources", f"<</XObject<</Im0 {xobject} 0 R>>>>")
    contents = doc.get_new_xref()
    doc.update_object(contents, "<<>>")
    doc.update_stream(contents, b"q 432 0 0 144 0 0 cm /Im0 Do Q")
    doc.xref_set_key(page.xref, "Contents", f"{contents} 0 R")
    return doc.tobytes()


def _exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90 degrees clockwise
    return _encode(_page("RGB").rotate(90, expand=True), "JPEG", exif=exif)


def _tiff_with_a_corrupt_frame() -> bytes:
    frames = [_page("L") for _ in range(3)]
    data = bytearray(_encode(frames[0], "TIFF", save_all=True, append_images=frames[1:], compression="tiff_lzw"))
    tiff = Image.open(io.BytesIO(bytes(data)))
    tiff.seek(1)
    for offset, length in zip(tiff.tag_v2[273], tiff.tag_v2[279], strict=True):
        data[offset:offset + length] = b"\xff" * length  # the middle frame's pixels are gone
    return bytes(data)


def _png_bomb() -> bytes:
    """A PNG whose header claims 60000 x 60000 pixels (3.6e9): a few hundred bytes that decode to 3.6 GB."""
    small = _encode(Image.new("1", (8, 8), 1), "PNG")
    header = struct.pack(">II", 60_000, 60_000)
    ihdr_data = header + small[24:29]
    ihdr = b"IHDR" + ihdr_data
    chunk = struct.pack(">I", len(ihdr_data)) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    return small[:8] + chunk + small[33:]


def _script_and_attachment_pdf() -> bytes:
    doc = _born_digital()
    doc.embfile_add("ledger.txt", ATTACHMENT_PAYLOAD, filename="ledger.txt")
    doc.xref_set_key(doc.pdf_catalog(), "OpenAction", "<</S/JavaScript/JS(app.alert('opened'))>>")
    return doc.tobytes()


def _encrypted(password: str) -> bytes:
    return _born_digital().tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=password, owner_pw="owner")


ZERO_PAGE_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>"
                 b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
UNDECODABLE_NAME = os.fsdecode(b"scan-\xff\xfe.png")  # bytes that are not UTF-8, as a Latin-1 system writes
PASSWORDS_FILE = f'"unlockable*.pdf": {PASSWORD}\n"wrong password.pdf": not-{PASSWORD}\n'


def input_classes() -> dict[str, Case]:
    """File name -> its bytes and outcome. Needs `PASSWORDS_FILE` as `ingest.pdf_passwords_file`."""
    jp2 = _encode(_page("RGB"), "JPEG2000")
    ccitt = _encode(_page("1"), "TIFF", compression="group4")
    cmyk = _encode(_page("CMYK"), "JPEG")
    pdf = _born_digital().tobytes()
    huge = pymupdf.open()
    huge.new_page(width=72 * 3000, height=72 * 3000)  # 3000 inches square: unreadable at any useful dpi
    readable = {
        "cmyk scan.jpg": cmyk,
        "16-bit grey.png": _encode(_page("L").convert("I;16"), "PNG"),
        "palette.png": _encode(_page("RGB").convert("P"), "PNG"),
        "grey with alpha.png": _encode(_page("LA"), "PNG"),
        "one pixel.png": _encode(Image.new("L", (1, 1), 255), "PNG"),
        "one pixel.jpg": _encode(Image.new("RGB", (1, 1), "white"), "JPEG"),
        "exif rotated.jpg": _exif_rotated_jpeg(),
        "ccitt-g4.tif": ccitt,
        "jpeg2000.jp2": jp2,
        "jpx image.pdf": _pdf_around(jp2),
        "ccitt image.pdf": _pdf_around(ccitt),
        "cmyk image.pdf": _pdf_around(cmyk),
        "jbig2 image.pdf": _jbig2_pdf(),
        "no xref table.pdf": pdf[: pdf.rfind(b"xref")] + b"%%EOF\n",  # repaired on opening
        "script and attachment.pdf": _script_and_attachment_pdf(),
        "unlockable-1942.pdf": _encrypted(PASSWORD),
        "विवरण पत्र.png": _encode(_page("L", line="Minutes, page two"), "PNG"),  # a non-ASCII name
        "--help [copy] *1942?.png": _encode(_page("L", line="Minutes, page three"), "PNG"),  # still a name
        UNDECODABLE_NAME: _encode(_page("L", line="Minutes, page four"), "PNG"),
    }
    return {
        **{name: Case(data, "ok") for name, data in readable.items()},
        "one corrupt frame.tif": Case(_tiff_with_a_corrupt_frame(), "partial", "bad_input", "frame 1"),
        "zero-byte.pdf": Case(b"", "error", "bad_input", "empty file (0 bytes)"),
        "no pages.pdf": Case(ZERO_PAGE_PDF, "error", "bad_input", "PDF has no pages"),
        "not-a-pdf.pdf": Case(b"Dear archivist, this is a letter saved with the wrong name.\n", "error",
                              "unsupported_format", "unsupported file type"),
        "spreadsheet.xlsx": Case(b"PK\x03\x04 a zip container, not a scan", "error", "unsupported_format",
                                 "unsupported file type"),
        "encrypted.pdf": Case(_encrypted("secret"), "error", "encrypted", "password required (encrypted PDF)"),
        "wrong password.pdf": Case(_encrypted("secret"), "error", "encrypted", "wrong password"),
        "bomb.png": Case(_png_bomb(), "error", "too_large", "60000x60000 pixels exceeds the limit"),
        "poster 3000 inches.pdf": Case(huge.tobytes(), "error", "too_large", "page too large to render"),
    }
