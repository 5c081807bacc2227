"""Experiments: the registry of experiment types (``kinds``), the runner that trains and sweeps
their units, their report pages, evaluation of saved models, reuse of finished units, and
profiles of many experiments (``reproduce``)."""
