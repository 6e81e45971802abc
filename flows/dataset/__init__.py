"""The dataset as one thing: its views, locks, manifest and card, exports, and evaluation against transcriptions."""
