"""The runs of one command line: one, or with ``-m`` one per combination of swept values.

As Hydra's basic sweeper: the product of every sweep's values, the first override varying
slowest. Without ``-m`` a sweep is refused rather than run, so that a comma inside a value
cannot start a sweep nobody asked for.
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
    """Every override of one run, with this run's value of each swept one."""

    edits: tuple[Edit, ...]
    swept: tuple[Edit, ...] = ()

    @property
    def folder(self) -> str:
        """The run's folder under the sweep's: ``key=value[,key=value]``; ``""`` alone."""
        return ",".join(edit.text for edit in self.swept)

    @property
    def texts(self) -> list[str]:
        """The overrides as one value each, as a unit's record and the dry-run plan list them."""
        return [edit.text for edit in self.edits]

    @property
    def values(self) -> dict[str, str]:
        """Each swept key and this run's value of it, as written: the sweep table's columns."""
        return {edit.key: edit.text.partition("=")[2] for edit in self.swept}


def plan_runs(parsed: Sequence[Parsed], multirun: bool) -> list[Run]:
    """The runs ``parsed`` asks for; a sweep without ``multirun`` is a one-line error."""
    sweeps = [override for override in parsed if override.sweeps]
    if sweeps and not multirun:
        first = sweeps[0]
        raise ConfigError(
            f"{first.label}: {len(first.edits)} values make a sweep, which runs only with -m "
            "(resilinet run -m: one config per value); quote a value that holds a comma "
            "(key='a,b')"
        )
    runs = []
    for chosen in itertools.product(*(override.edits for override in parsed)):
        swept = tuple(edit for edit, o in zip(chosen, parsed, strict=True) if o.sweeps)
        runs.append(Run(tuple(chosen), swept))
    return runs
