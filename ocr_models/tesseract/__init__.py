"""The Tesseract adapter: the engine Lontar reads every script with (engine.py) over tesserocr (tesserocr_api.py)."""
