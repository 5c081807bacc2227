"""What ``rn.run`` shows in a notebook or a script: one ``tqdm.auto`` bar over the run's units.

In Jupyter ``tqdm.auto`` draws a widget; without ipywidgets (or outside a notebook) it falls back
to a text bar on stderr. Failures and damaged units are written above the bar, since a notebook
user would otherwise not see them until the run's result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from resilinet_cli.experiments.progress import Named, Progress, QueueState


class BarProgress(Progress):
    """A bar that advances as units end, its text naming the unit at work."""

    def __init__(self) -> None:
        self.bar: Any = None

    def _bar(self, total: int) -> Any:
        tqdm = auto_tqdm()
        if self.bar is None or self.bar.total != total or self.bar.n >= total:
            self.close()
            self.bar = tqdm(total=total, unit="unit", desc="run")
        return self.bar

    def _write(self, line: str) -> None:
        auto_tqdm().write(line)

    def started(self, unit: Named, number: int, total: int) -> None:
        self._bar(total).set_postfix_str(f"{unit.name}: training", refresh=True)

    def finished(self, unit: Named, number: int, total: int, combos: Any) -> None:
        self._bar(total).set_postfix_str(f"{unit.name}: done", refresh=False)
        self._advance()

    def failed(self, unit: Named, error: str) -> None:
        self._write(f"{unit.name}: FAILED: {error}")
        self._advance()

    def damaged(self, unit: Named, why: str) -> None:
        self._write(f"{unit.name}: {why}")

    def reused(self, unit: Named, donor: Path) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"{unit.name}: copied", refresh=False)

    def queue(self, state: QueueState) -> None:
        """The bar already shows what the queue line says (done of total, and time left)."""

    def _advance(self) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if self.bar.n >= self.bar.total:
                self.close()

    def close(self) -> None:
        """End the bar, if one is open (after the run, or when a new plan starts)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def auto_tqdm() -> Any:
    """``tqdm.auto``'s class, without its warning that ipywidgets is missing: the text bar it
    falls back to is the one this module promises there."""
    import warnings

    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmWarning)
        from tqdm.auto import tqdm
    return tqdm
