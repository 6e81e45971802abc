"""Page geometry shared by every layout detector and the OCR stage: boxes, ink, region clean-up, reading order."""
