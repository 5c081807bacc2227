"""What a run prints while it works: a line per unit and a bar over each failure sweep.

``--quiet`` prints only failures; ``--verbose`` adds each unit's wall time.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from resilinet_cli.cli.context import Verbosity, verbosity


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

    def damaged(self, unit: Any, why: str) -> None:
        click.echo(f"{unit.name}: {why}")

    def reused(self, unit: Any, donor: Path) -> None:
        click.echo(f"{unit.name}: same training as {donor}, copied")

    def resumed(self, unit: Any, epochs_done: int) -> None:
        click.echo(f"{unit.name}: resuming after epoch {epochs_done}, where the last run stopped")

    def finished(self, unit: Any, number: int, total: int, combos: Any) -> None:
        click.echo(self.finished_line(unit, number, total, combos))

    def finished_line(self, unit: Any, number: int, total: int, combos: Any) -> str:
        if combos is None:
            return f"[{number}/{total}] {unit.name}: trained and saved (not swept)"
        accuracy = 100 * float(combos["accuracy"].iloc[-1])
        return f"[{number}/{total}] {unit.name}: accuracy with no failures {accuracy:.2f}%"

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


class QuietProgress(EchoProgress):
    """``--quiet``: only a unit's failure is printed; the final table says the rest."""

    def skipped(self, unit: Any) -> None:
        pass

    def started(self, unit: Any, number: int, total: int) -> None:
        pass

    def sweep_bar(self, unit: Any, number: int, total: int) -> Any:
        return None

    def reused(self, unit: Any, donor: Path) -> None:
        pass

    def resumed(self, unit: Any, epochs_done: int) -> None:
        pass

    def finished(self, unit: Any, number: int, total: int, combos: Any) -> None:
        pass

    def queue(self, state: Any) -> None:
        pass


class VerboseProgress(EchoProgress):
    """``--verbose``: each finished unit's line also says how long the unit took."""

    def finished_line(self, unit: Any, number: int, total: int, combos: Any) -> str:
        line = super().finished_line(unit, number, total, combos)
        seconds = wall_seconds(unit)
        return line if seconds is None else f"{line} ({seconds:.1f} s)"


def wall_seconds(unit: Any) -> float | None:
    """The wall time a finished unit's record holds, if any."""
    from resilinet_cli.results.runs import read_record

    folder = getattr(unit, "folder", None)
    value = read_record(folder).get("wall_seconds") if folder is not None else None
    return float(value) if isinstance(value, int | float) else None


def progress() -> EchoProgress:
    """The progress printer for the group's --quiet or --verbose."""
    level = verbosity()
    if level is Verbosity.QUIET:
        return QuietProgress()
    return VerboseProgress() if level is Verbosity.VERBOSE else EchoProgress()
