"""Caption generators for figure pairs (transformers)."""
