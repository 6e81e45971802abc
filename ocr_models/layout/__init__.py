"""Layout detectors, one module a kind: rapid (the offline default), transformers, none."""
