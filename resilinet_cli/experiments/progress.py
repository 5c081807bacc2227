"""What a run reports while it works: the runner and the pool call it, the CLI prints it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from resilinet_cli.results import runs


class Progress:
    """What a run reports while it works; the CLI prints it, tests and scripts may ignore it."""

    def skipped(self, unit: runs.Unit) -> None:
        """A unit was already finished."""

    def started(self, unit: runs.Unit, number: int, total: int) -> None:
        """A unit starts training."""

    def sweep_bar(self, unit: runs.Unit, number: int, total: int) -> Callable[[int], Any] | None:
        """A factory ``f(examples)`` for the sweep's progress bar, or None."""
        return None

    def finished(
        self, unit: runs.Unit, number: int, total: int, combos: pd.DataFrame | None
    ) -> None:
        """A unit's files are all written (``combos`` is None when it was not swept)."""

    def failed(self, unit: runs.Unit, error: str) -> None:
        """A unit raised; the run goes on unless it fails fast."""

    def reused(self, unit: runs.Unit, donor: Path) -> None:
        """A unit was copied from a finished unit with the same training."""

    def resumed(self, unit: runs.Unit, epochs_done: int) -> None:
        """A unit's training goes on after the epochs an interrupted run finished."""
