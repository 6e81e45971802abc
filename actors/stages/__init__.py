"""The pipeline's stages, plain classes that Ray runs (actors/cluster/stream.py): ingest, layout, OCR, the
routes' recognizers and captioning, on the contract in base.py."""
