"""What a run reports while it works: the runner and the pool call it, the CLI prints it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd


class Named(Protocol):
    """A unit as progress reports name it (``experiments.unit.Job``)."""

    @property
    def name(self) -> str: ...

    @property
    def seed(self) -> int: ...


class Progress:
    """What a run reports while it works; the CLI prints it, tests and scripts may ignore it."""

    def skipped(self, unit: Named) -> None:
        """A unit was already finished."""

    def started(self, unit: Named, number: int, total: int) -> None:
        """A unit starts training."""

    def sweep_bar(self, unit: Named, number: int, total: int) -> Callable[[int], Any] | None:
        """A factory ``f(examples)`` for the sweep's progress bar, or None."""
        return None

    def finished(self, unit: Named, number: int, total: int, combos: pd.DataFrame | None) -> None:
        """A unit's files are all written (``combos`` is None when it was not swept)."""

    def failed(self, unit: Named, error: str) -> None:
        """A unit raised; the run goes on unless it fails fast."""

    def damaged(self, unit: Named, why: str) -> None:
        """A unit's files are damaged (``why``): the run trains or copies it again."""

    def reused(self, unit: Named, donor: Path) -> None:
        """A unit was copied from a finished unit with the same training."""

    def resumed(self, unit: Named, epochs_done: int) -> None:
        """A unit's training goes on after the epochs an interrupted run finished."""

    def queue(self, state: QueueState) -> None:
        """Where a pool or a cluster stands, after each unit it ends."""


@dataclass
class QueueState:
    """Units of a pool or a cluster: how many are done, in flight and failed, of how many."""

    total: int
    done: int = 0
    failed: int = 0
    in_flight: int = 0
    since: float = field(default_factory=time.monotonic)

    def ended(self, ok: bool, in_flight: int) -> QueueState:
        """Count one ended unit; ``in_flight`` is what is still queued or running."""
        if ok:
            self.done += 1
        else:
            self.failed += 1
        self.in_flight = in_flight
        return self

    def seconds_left(self) -> float | None:
        """The time left at the pace so far (units ended per second), or None before any."""
        ended = self.done + self.failed
        if not ended:
            return None
        return (time.monotonic() - self.since) / ended * (self.total - ended)
