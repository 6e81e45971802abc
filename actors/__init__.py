"""Ray-facing stages, the record schema and the shard writer."""

import sys

# PyMuPDF 2 imports its ONNX layout analyser (the pymupdf-layout package it depends on) whenever it is imported
# itself, building inference sessions that cost about 0.8 s of CPU and their memory in every process that
# reads a PDF: the driver and each Ray actor. Lontar reads text layers with get_text and never calls it.
sys.modules.setdefault("pymupdf.layout", None)  # type: ignore[arg-type]  (None: "import pymupdf.layout" fails)
