"""Reading source files: formats by their bytes, scans kept as the scanner wrote them, text layers judged."""

from __future__ import annotations

import io

import pymupdf
import pytest
from PIL import Image

from actors.sources.documents import open_document, sniff_format
from actors.sources.text_layer import garbled
from configs.model import IngestOptions
from flows.synth.archive import born_digital_pdf, jpeg_bytes, multipage_tiff, scanned_pdf
from flows.synth.text import png_bytes, render_page
from ocr_models.lontar_errors import EncryptedInputError, InputError, UnsupportedFormatError

OPTIONS = IngestOptions()


@pytest.fixture(scope="module")
def pages():
    return [render_page("hin", seed=1), render_page("tha", seed=2)]


def read(data: bytes, options: IngestOptions = OPTIONS):
    doc = open_document(data, sniff_format(data[:2048]), options)
    try:
        return [doc.page(i) for i in range(doc.page_count)]
    finally:
        doc.close()


@pytest.mark.parametrize(("head", "fmt"), [
    (b"%PDF-1.7\n", "pdf"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"), (b"\xff\xd8\xff\xe0", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"), (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"), (b"BM6\x00", "bmp"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "jp2"), (b"GIF89a", "gif"), (b"PK\x03\x04", "unknown"),
    (b"", "unknown"),
])
def test_format_comes_from_the_bytes(head, fmt):
    assert sniff_format(head) == fmt


def test_a_scanned_pdf_page_keeps_the_scanners_own_jpeg(pages):
    data = scanned_pdf(pages)
    first, second = read(data)
    assert first.image_format == "jpeg" and first.image == jpeg_bytes(pages[0].image)
    assert (first.width, first.height, first.dpi) == (pages[0].image.width, pages[0].image.height, 300)
    assert first.text_layer is None and second.text_layer is None


def test_a_born_digital_pdf_page_is_read_from_its_text_layer():
    (page,) = read(born_digital_pdf([("The committee met on the twelfth of March", "and resolved to copy.")]))
    assert page.text_layer.startswith("The committee met")
    assert page.image_format == "jpeg" and page.dpi == 96


def test_text_layer_modes():
    data = born_digital_pdf([("A page with a perfectly good visible text layer on it.",)])
    assert read(data, IngestOptions(text_layer="ignore"))[0].text_layer is None
    assert read(data, IngestOptions(text_layer="prefer"))[0].text_layer is not None


def test_an_invisible_ocr_layer_is_not_trusted_in_auto_mode_but_is_in_prefer_mode(pages):
    doc = pymupdf.open(stream=scanned_pdf(pages[:1]))
    doc[0].insert_text((20, 40), "Hidden earlier OCR output with plenty of letters", render_mode=3)
    data = doc.tobytes()
    assert read(data)[0].text_layer is None
    assert read(data, IngestOptions(text_layer="prefer"))[0].text_layer.startswith("Hidden earlier OCR")


@pytest.mark.parametrize(("text", "sound"), [
    ("भारत एक विशाल देश है जहाँ अनेक भाषाएँ बोली जाती हैं।", True),
    ("The archive holds letters, ledgers and maps.", True),
    ("\ufffd\ufffd\ufffd\ufffd garbled \ufffd\ufffd\ufffd\ufffd\ufffd", False),
    ("भ ा र त ए क व ि श ा ल द े श", False),  # vowel signs cut loose from their consonants
])
def test_text_layer_validation(text, sound):
    assert garbled(text) is not sound


def test_a_multipage_tiff_gives_every_frame(pages):
    frames = read(multipage_tiff(pages))
    assert len(frames) == 2
    assert all(f.image_format == "png" and f.dpi == 300 for f in frames)
    assert Image.open(io.BytesIO(frames[1].image)).size == pages[1].image.size


def test_png_and_jpeg_pages_are_stored_as_given(pages):
    png = png_bytes(pages[0].image)
    assert read(png)[0].image == png
    jpeg = jpeg_bytes(pages[0].image)
    assert read(jpeg)[0].image == jpeg


def test_exif_orientation_is_honoured():
    image = Image.new("L", (300, 100), 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    (page,) = read(buffer.getvalue())
    assert (page.width, page.height) == (100, 300)


def test_transparent_images_are_flattened_onto_white():
    image = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", lossless=True)
    (page,) = read(buffer.getvalue())
    assert Image.open(io.BytesIO(page.image)).convert("L").getpixel((5, 5)) == 255


@pytest.mark.parametrize(("data", "error", "reason"), [
    (b"", InputError, "empty file"),
    (b"%PDF-1.4\nthis is not really a pdf", InputError, "not a readable PDF"),
    (b"PK\x03\x04 a zip file", UnsupportedFormatError, "unsupported file type"),
    (b"\x89PNG\r\n\x1a\n truncated", InputError, "not a readable PNG"),
])
def test_unreadable_files_raise_a_reason(data, error, reason):
    fmt = "pdf" if data.startswith(b"%PDF") else sniff_format(data)
    with pytest.raises(error, match=reason):
        open_document(data, fmt, OPTIONS)


def test_an_encrypted_pdf_needs_a_password(pages):
    data = pymupdf.open(stream=scanned_pdf(pages)).tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    with pytest.raises(EncryptedInputError, match="password required"):
        open_document(data, "pdf", OPTIONS)


def test_a_truncated_pdf_loses_only_the_pages_whose_content_is_gone(pages):
    data = scanned_pdf(pages)
    doc = open_document(data[: len(data) // 2], "pdf", OPTIONS)
    outcomes = []
    for i in range(doc.page_count):
        try:
            doc.page(i)
            outcomes.append("ok")
        except InputError:
            outcomes.append("error")
    assert outcomes and "error" in outcomes


def test_an_image_over_the_pixel_limit_is_an_error_not_an_oom():
    data = png_bytes(Image.new("L", (400, 300), 255))
    doc = open_document(data, "png", IngestOptions(max_image_pixels=100_000))
    with pytest.raises(InputError, match="too large"):
        doc.page(0)


def test_a_huge_pdf_page_is_rendered_within_the_pixel_limit_or_refused():
    doc = pymupdf.open()
    doc.new_page(width=72 * 40, height=72 * 40)  # a 40 x 40 inch poster: 1.4e8 pixels at 300 dpi
    data = doc.tobytes()
    (page,) = read(data, IngestOptions(max_image_pixels=4_000_000))
    assert page.dpi == 50 and page.width * page.height <= 4_000_000
    with pytest.raises(InputError, match="too large to render"):  # would need 25 dpi: unreadable
        read(data, IngestOptions(max_image_pixels=1_000_000))


def test_names_with_undecodable_bytes_are_shown_escaped_and_still_opened(tmp_path):
    import os

    from actors.stages.ingest import IngestStage
    from flows.run.planning import discover, inspect, read_tasks

    name = os.fsdecode(b"bad-\xff\xfe-name.png")
    (tmp_path / name).write_bytes(png_bytes(render_page("eng", seed=3).image))
    (url,) = discover([str(tmp_path)])
    file = inspect(url, OPTIONS)
    assert file.uri.endswith("bad-\\xff\\xfe-name.png") and file.uri.encode("utf-8")
    (row,) = IngestStage(OPTIONS).process(read_tasks(file, 8))
    assert row["status"] == "ok" and row["source_uri"] == file.uri
