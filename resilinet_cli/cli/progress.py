"""What a run prints while it works: a line per unit and a bar over each failure sweep."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click


class EchoProgress:
    """Prints a line per unit and a bar over each failure sweep."""

    def skipped(self, unit: Any) -> None:
        click.echo(f"skip {unit.name}: already finished")

    def started(self, unit: Any, number: int, total: int) -> None:
        click.echo(f"[{number}/{total}] {unit.name}: training (seed {unit.seed})")

    def sweep_bar(self, unit: Any, number: int, total: int) -> Any:
        label = f"[{number}/{total}] {unit.name}: failure sweep"
        return lambda examples: click.progressbar(length=examples, label=label, file=sys.stderr)

    def failed(self, unit: Any, error: str) -> None:
        click.echo(f"{unit.name}: FAILED: {error}", err=True)

    def reused(self, unit: Any, donor: Path) -> None:
        click.echo(f"{unit.name}: same training as {donor}, copied")

    def resumed(self, unit: Any, epochs_done: int) -> None:
        click.echo(f"{unit.name}: resuming after epoch {epochs_done}, where the last run stopped")

    def finished(self, unit: Any, number: int, total: int, combos: Any) -> None:
        if combos is None:
            click.echo(f"[{number}/{total}] {unit.name}: trained and saved (not swept)")
            return
        accuracy = 100 * float(combos["accuracy"].iloc[-1])
        click.echo(f"[{number}/{total}] {unit.name}: accuracy with no failures {accuracy:.2f}%")

    def queue(self, state: Any) -> None:
        line = (
            f"queue: {state.done} done, {state.in_flight} in flight, {state.failed} failed "
            f"of {state.total}"
        )
        left = state.seconds_left()
        if left:
            minutes, seconds = divmod(round(left), 60)
            line += f"; about {minutes}:{seconds:02d} left"
        click.echo(line)
