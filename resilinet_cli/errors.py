"""Domain exceptions: the CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


class ResilinetError(Exception):
    """A user-facing problem: bad input, missing data, an inconsistent run folder."""

    exit_code = 2


class ConfigError(ResilinetError):
    """A config file or a --set override is invalid."""


class DataError(ResilinetError):
    """A dataset is missing, corrupt or cannot be fetched."""


class RunError(ResilinetError):
    """A run folder is inconsistent with the requested run (for example another config)."""


def unknown_choice(kind: str, name: object, known: Sequence[str]) -> str:
    """'unknown dataset 'mhelth' (did you mean 'mhealth'? known: ...)': one message style."""
    known = list(dict.fromkeys(known))  # a duplicated name, itself reported, once
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown {kind} '{name}' ({hint}known: {', '.join(known)})"
