"""Benchmarks: ``python -m bench.pipeline`` (issue 5) and ``python -m bench.classifier``."""
