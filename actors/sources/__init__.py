"""Reading an archive's files: documents of every format (PDF, TIFF, JPEG, PNG) and the judgement of PDF text
layers."""
