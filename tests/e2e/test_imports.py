"""What a fresh interpreter loads when Lontar's stages import their libraries."""

from __future__ import annotations

import subprocess
import sys


def test_reading_pdfs_does_not_load_pymupdfs_layout_analyser():
    """PyMuPDF 2 builds its ONNX layout model whenever it is imported (about 0.8 s of CPU in every Ray actor);
    Lontar never uses it, and its stages import PyMuPDF without it."""
    probe = ("import sys; from actors.sources.documents import open_document; from configs.model import IngestOptions; "
             "from flows.synth.archive import BORN_DIGITAL_TEXT, born_digital_pdf; "
             "doc = open_document(born_digital_pdf([BORN_DIGITAL_TEXT]), 'pdf', IngestOptions()); "
             "print(doc.page(0).text_layer.split()[0], sys.modules.get('pymupdf.layout'), "
             "sys.modules['pymupdf']._get_layout)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["Minutes", "None", "None"]
