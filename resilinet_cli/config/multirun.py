"""The runs of one command line: one, or with ``-m`` (a multirun) one per combination of the
values of every multi-value override.

As Hydra's basic sweeper: the product of every multi-value override's values, the first
override varying slowest. Without ``-m`` a multi-value override is refused rather than run, so
that a comma inside a value cannot start a multirun nobody asked for. ("Sweep" is kept for the
failure sweep: every combination of dead nodes.)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from resilinet_cli.config.grammar import Parsed
from resilinet_cli.config.overrides import Edit
from resilinet_cli.errors import ConfigError


@dataclass(frozen=True)
class Run:
    """Every override of one run, with this run's value of each multi-value one."""

    edits: tuple[Edit, ...]
    varied: tuple[Edit, ...] = ()

    @property
    def folder(self) -> str:
        """The run's folder under the multirun's: ``key=value[,key=value]``; ``""`` alone."""
        return ",".join(edit.text for edit in self.varied)

    @property
    def texts(self) -> list[str]:
        """The overrides as one value each, as a unit's record and the dry-run plan list them."""
        return [edit.text for edit in self.edits]

    @property
    def values(self) -> dict[str, str]:
        """Each varied key and this run's value of it, as written: the multirun table's
        columns."""
        return {edit.key: edit.text.partition("=")[2] for edit in self.varied}


def plan_runs(parsed: Sequence[Parsed], multirun: bool) -> list[Run]:
    """The runs ``parsed`` asks for; several values without ``multirun`` is a one-line error."""
    several = [override for override in parsed if override.several]
    if several and not multirun:
        first = several[0]
        raise ConfigError(
            f"{first.label}: {len(first.edits)} values make a multirun, which runs only with -m "
            "(resilinet run -m: one config per value); quote a value that holds a comma "
            "(key='a,b')"
        )
    runs = []
    for chosen in itertools.product(*(override.edits for override in parsed)):
        varied = tuple(edit for edit, o in zip(chosen, parsed, strict=True) if o.several)
        runs.append(Run(tuple(chosen), varied))
    return runs
