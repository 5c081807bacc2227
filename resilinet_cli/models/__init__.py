"""Partitioned model families, wired to a topology by one shared builder."""
