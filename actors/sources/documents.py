"""Opening source files and taking pages out of them: PDF (PyMuPDF), multi-frame TIFF and single images.

Formats are recognised from the bytes, never from the file name. Each page comes out as the bytes to store
(the scanner's own JPEG/PNG where possible) and, for PDFs, the text layer if it is worth using.
"""

from __future__ import annotations

import fnmatch
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import fsspec
import pymupdf
from PIL import Image, ImageOps, UnidentifiedImageError

from actors.sources.text_layer import judge, layer_lines, letter_count, private_use_share, unmapped_glyphs
from configs.model import IngestOptions
from ocr_models.lontar_errors import EncryptedInputError, InputError, TooLargeError, UnsupportedFormatError
from ocr_models.registry import TesseractOptions
from ocr_models.scripts import canonical_text
from ocr_models.types import OcrLine, valid_text

USABLE = ("text_layer", "text_layer_preferred")  # the judgements under which a text layer is the page's text

pymupdf.TOOLS.mupdf_display_warnings(False)  # MuPDF's complaints become row reasons, not console noise
pymupdf.TOOLS.mupdf_display_errors(False)
Image.MAX_IMAGE_PIXELS = None  # Lontar's own limit (ingest.max_image_pixels) is checked before decoding

MIN_RENDER_DPI = 36
IMAGE_FORMATS = ("tiff", "jpeg", "png", "webp", "bmp", "jp2", "gif")
PIL_NAMES = {"tiff": "TIFF", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "bmp": "BMP", "jp2": "JPEG2000",
             "gif": "GIF"}


def sniff_format(head: bytes) -> str:
    """The file format from its first bytes: pdf, one of IMAGE_FORMATS, or `unknown`."""
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:
        return "pdf"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"BM"):
        return "bmp"
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xff\x4f\xff\x51"):
        return "jp2"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return "unknown"


@dataclass(frozen=True)
class PageContent:
    """One page as ingest hands it on: image bytes to store, and a text layer when one is used."""

    image: bytes
    image_format: str  # jpeg | png
    width: int
    height: int
    dpi: int
    text_layer: str | None = None  # the page's own text, when the text-layer mode says to use it
    text_lines: tuple[OcrLine, ...] = ()  # the text layer's lines and words, in the image's pixels
    text_source_reason: str = "no_text_layer"  # why the layer is used or not (records.TEXT_SOURCE_REASONS)


def password_for(uri: str, passwords: Mapping[str, str]) -> str | None:
    """The configured password of an encrypted PDF (`passwords`: file-name glob -> password, from
    `ingest.pdf_passwords_file`), matched by its file name (or whole URI)."""
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    return next((password for pattern, password in passwords.items()
                 if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(uri, pattern)), None)


class Document(Protocol):
    page_count: int

    def page(self, index: int) -> PageContent: ...

    def text_layers(self, start: int = 0, stop: int | None = None) -> list[str]:
        """The text-layer judgement (records.TEXT_SOURCE_REASONS) of pages start..stop-1, in order, up to and
        including the first page that will not be taken from its text layer (planning asks it, to know whether
        a file needs layout and OCR at all; ingest is then given the answers, and does not judge again)."""
        ...

    def close(self) -> None: ...


def all_text_layers(reasons: Sequence[str], pages: int) -> bool:
    """Whether every one of `pages` pages is taken from its text layer, given their `text_layers`."""
    return len(reasons) == pages and all(reason in USABLE for reason in reasons)


def open_document(data: bytes, fmt: str, options: IngestOptions, password: str | None = None,
                  tesseract: TesseractOptions | None = None, judged: Mapping[int, str] | None = None) -> Document:
    """Open a whole file's bytes (`password`: an encrypted PDF's, see `password_for`; `tesseract`: the options
    of the Tesseract that checks doubtful text layers; `judged`: page index -> text-layer judgement already made
    at planning, not made again). Raises an InputError subclass with a reason an archivist can act on."""
    if not data:
        raise InputError("empty file (0 bytes)")
    if fmt == "pdf":
        return PdfDocument(data, options, password, tesseract, judged)
    if fmt in IMAGE_FORMATS:
        return ImageDocument(data, fmt, options)
    raise UnsupportedFormatError("unsupported file type (not a PDF, TIFF, JPEG, PNG, WebP, BMP, JPEG 2000 "
                                 "or GIF)")


# --- PDF ----------------------------------------------------------------------------------------------------
class PdfDocument:
    """A PDF's pages. Only drawn: its JavaScript, forms and attachments are never run or extracted."""

    def __init__(self, data: bytes, options: IngestOptions, password: str | None = None,
                 tesseract: TesseractOptions | None = None, judged: Mapping[int, str] | None = None) -> None:
        self.options, self.tesseract, self.judged = options, tesseract, dict(judged or {})
        self._trusted_fonts: set[str] = set()  # fonts whose glyphs a trial on an earlier page found honest
        try:
            self._doc = pymupdf.open(stream=data, filetype="pdf")
        except (pymupdf.FileDataError, RuntimeError, ValueError) as exc:
            raise InputError(f"not a readable PDF: {exc}") from exc
        if self._doc.needs_pass and not (password and self._doc.authenticate(password)):
            self._doc.close()
            raise EncryptedInputError("password required (encrypted PDF)" if password is None else
                                      "wrong password (encrypted PDF; see ingest.pdf_passwords_file)")
        self.page_count = self._doc.page_count
        if self.page_count == 0:
            raise InputError("PDF has no pages")

    def page(self, index: int) -> PageContent:
        page = self._doc.load_page(index)
        if self._doc.is_repaired and _draws_nothing(page):
            raise InputError("damaged PDF: this page's content is missing (truncated or corrupt file)")
        # one extraction for the blocks and the words (the same flags); none when the layer is ignored
        textpage = page.get_textpage(flags=pymupdf.TEXTFLAGS_WORDS) if self.options.text_layer != "ignore" else None
        text, reason = self._text_layer(page, textpage)
        limit = self.options.max_image_pixels
        if text is not None:
            content = _render(page, self.options.text_layer_image_dpi, "jpeg", limit, text_layer=text)
            lines = layer_lines(page, content.dpi, textpage)
            return replace(content, text_lines=tuple(lines), text_source_reason=reason)
        content = _embedded_scan(page, limit) or _render(page, self.options.render_dpi, "png", limit)
        return replace(content, text_source_reason=reason)

    def text_layers(self, start: int = 0, stop: int | None = None) -> list[str]:
        reasons: list[str] = []
        for index in range(start, min(self.page_count if stop is None else stop, self.page_count)):
            try:
                reasons.append(self._text_layer(self._doc.load_page(index))[1])
            except Exception:  # a page that cannot be judged is read with the model stages, its error recorded there
                break
            if reasons[-1] not in USABLE:
                break
        return reasons

    def _text_layer(self, page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> tuple[str | None, str]:
        """The page's text layer when the text-layer mode and `text_layer.judge` let it be used, and why."""
        if self.options.text_layer == "ignore":
            return None, "text_layer_ignored"
        # blocks sorted top-down then left-right: the reading order of sort=True at a twentieth of its cost
        blocks = page.get_text("blocks", sort=True, textpage=textpage)
        text = valid_text(canonical_text("\n".join(b[4].rstrip() for b in blocks if b[6] == 0))).strip()
        if page.number in self.judged:
            reason = self.judged[page.number]
            return (text if reason in USABLE else None), reason
        if letter_count(text) < self.options.min_text_layer_chars:
            # private-use code points are no letters: a layer of them is a font's own encoding, not absent; nor
            # is one of glyphs that map to nothing (a font without its ToUnicode map)
            if self.options.text_layer == "auto":
                if len(text) * private_use_share(text) >= self.options.min_text_layer_chars:
                    return None, "private_use"
                if unmapped_glyphs(page.get_texttrace()) >= self.options.min_text_layer_chars:
                    return None, "unmapped_glyphs"
            return None, "no_text_layer"
        reason = judge(page, text, self.options, self.tesseract, self._trusted_fonts)
        return (text if reason in USABLE else None), reason

    def close(self) -> None:
        self._doc.close()


def _draws_nothing(page: pymupdf.Page) -> bool:
    return not page.get_text("text").strip() and not page.get_image_info() and not page.get_drawings()


def _embedded_scan(page: pymupdf.Page, max_pixels: int) -> PageContent | None:
    """The page's single full-page JPEG/PNG image, as the scanner wrote it; None when there is no such image."""
    infos = page.get_image_info(xrefs=True)
    if len(infos) != 1 or not infos[0].get("xref"):
        return None
    info = infos[0]
    bbox = pymupdf.Rect(info["bbox"])
    if bbox.get_area() < 0.9 * page.rect.get_area() or page.rotation % 360:
        return None
    extracted = page.parent.extract_image(info["xref"])
    fmt = {"jpeg": "jpeg", "jpg": "jpeg", "png": "png"}.get(extracted.get("ext", ""))
    if fmt is None or extracted.get("colorspace", 1) not in (1, 3):
        return None
    width, height = extracted["width"], extracted["height"]
    if width * height > max_pixels:
        raise TooLargeError(f"image too large: {width}x{height} pixels exceeds the limit of {max_pixels:,} "
                         "(ingest.max_image_pixels)")
    dpi = round(width / (bbox.width / 72)) if bbox.width else 300
    return PageContent(extracted["image"], fmt, width, height, dpi)


def _render(page: pymupdf.Page, dpi: int, fmt: str, max_pixels: int, text_layer: str | None = None
            ) -> PageContent:
    """Render the page, at a lower resolution when `dpi` would exceed `max_pixels` (a poster, a map)."""
    square_inches = page.rect.width * page.rect.height / 72 / 72
    fitting = int(math.sqrt(max_pixels / square_inches)) if square_inches else dpi
    if fitting < MIN_RENDER_DPI:
        raise TooLargeError(f"page too large to render: {page.rect.width / 72:.0f} x {page.rect.height / 72:.0f} "
                         f"inches exceeds ingest.max_image_pixels even at {MIN_RENDER_DPI} dpi")
    dpi = min(dpi, fitting)
    pixmap = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY if fmt == "png" else pymupdf.csRGB)
    if fmt == "png":
        data = pixmap.tobytes("png")
    else:  # Pillow's libjpeg-turbo: 6 ms for an A4 page at 96 dpi, where MuPDF's JPEG writer takes 150
        buffer = io.BytesIO()
        Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples).save(buffer, "JPEG", quality=85)
        data = buffer.getvalue()
    return PageContent(data, fmt, pixmap.width, pixmap.height, dpi, text_layer)


# --- images -------------------------------------------------------------------------------------------------
class ImageDocument:
    """A single image, or the frames of a multi-page TIFF (or animated GIF)."""

    def __init__(self, data: bytes, fmt: str, options: IngestOptions) -> None:
        self.data, self.fmt, self.options = data, fmt, options
        try:
            self._image = Image.open(io.BytesIO(data), formats=[PIL_NAMES[fmt]])
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise InputError(f"not a readable {fmt.upper()} image: {exc}") from exc
        self.page_count = getattr(self._image, "n_frames", 1) if fmt in ("tiff", "gif") else 1

    def text_layers(self, start: int = 0, stop: int | None = None) -> list[str]:
        return ["no_text_layer"] if start < self.page_count else []

    def page(self, index: int) -> PageContent:
        try:
            self._image.seek(index)
            width, height = self._image.size
            if width * height > self.options.max_image_pixels:
                raise TooLargeError(f"image too large: {width}x{height} pixels exceeds the limit of "
                                 f"{self.options.max_image_pixels:,} (ingest.max_image_pixels)")
            dpi = _dpi_of(self._image)
            orientation = self._image.getexif().get(0x0112, 1)
            if self.fmt in ("jpeg", "png") and self.page_count == 1 and orientation == 1:
                self._image.load()  # decode once, so a truncated file fails here rather than in OCR
                return PageContent(self.data, self.fmt, width, height, dpi)
            frame = ImageOps.exif_transpose(self._image.copy())
            return _as_png(frame, dpi)
        except InputError:
            raise
        except (OSError, ValueError, EOFError, SyntaxError, Image.DecompressionBombError) as exc:
            raise InputError(f"cannot decode {self.fmt.upper()} frame {index}: {exc}") from exc

    def close(self) -> None:
        self._image.close()


def _dpi_of(image: Image.Image) -> int:
    """The resolution the file states, or 0 when it states none Tesseract would take (below 70 dpi, as
    Tesseract judges): Tesseract then estimates it from the text, as its CLI does. An assumed 300 read the
    real scans that state none worse (a Sanskrit page CER 0.39 against 0.15, an A4 receipt 0.39 against 0.22)."""
    dpi = image.info.get("dpi")
    try:
        value = round(float(dpi[0])) if dpi else 0
    except (TypeError, ValueError):
        value = 0
    return value if 70 <= value <= 2400 else 0


def _as_png(image: Image.Image, dpi: int) -> PageContent:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")  # transparent paper is white paper, not black
        image = Image.new("RGB", rgba.size, "white")
        image.paste(rgba, mask=rgba.getchannel("A"))
    if image.mode not in ("1", "L", "RGB"):
        image = image.convert("RGB" if image.mode in ("RGBA", "P", "CMYK", "LA", "YCbCr") else "L")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return PageContent(buffer.getvalue(), "png", image.width, image.height, dpi)


def read_text_layers(url: str, fmt: str, start: int, stop: int, options: IngestOptions, password: str | None,
                     tesseract: TesseractOptions | None) -> list[str]:
    """`Document.text_layers` of pages start..stop-1 of the file at `url` (none when it cannot be read now:
    its pages then go to the model stages, and ingest records why they fail)."""
    try:
        with fsspec.open(url, "rb") as handle:
            data = handle.read()
        doc = open_document(data, fmt, options, password, tesseract)
    except Exception:
        return []
    try:
        return doc.text_layers(start, stop)
    finally:
        doc.close()


def iter_pages(doc: Document, start: int, stop: int) -> Iterator[tuple[int, PageContent | Exception]]:
    """Pages start..stop-1, each as its content or the exception that page raised."""
    for index in range(start, min(stop, doc.page_count)):
        try:
            yield index, doc.page(index)
        except Exception as exc:  # one bad page must not lose the others
            yield index, exc
