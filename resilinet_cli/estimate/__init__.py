"""Weighted accuracy when the combinations are too many to sweep: exhaustive enumeration,
bounded (the most likely combinations, an exact interval) and Monte Carlo (``methods`` picks)."""
