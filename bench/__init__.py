"""Benchmarks: run as ``python -m bench.<name>``; each prints figures measured side by side."""
