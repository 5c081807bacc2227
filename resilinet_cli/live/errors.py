"""The live runtime's user-facing errors: one line on stderr, exit code 2 (errors.py)."""

from __future__ import annotations

from resilinet_cli.errors import ResilinetError


class LiveError(ResilinetError):
    """A deployment cannot start or be reached: a port in use, no model, a bad chaos spec."""
