"""What a command carries in its Click context besides its options: the command line as
given, the group's --quiet or --verbose and the --tracker, and the unit records made from them.

The group (cli/app.py) and the option callbacks (cli/options.py) put these in ``ctx.meta``.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Sequence
from typing import Any

import click

from resilinet_cli.results import layout

TRACKER = "resilinet.tracker"  # ctx.meta key: --tracker
ARGV = "resilinet.argv"  # ctx.meta key: the command line as given (cli/app.py)
VERBOSITY = "resilinet.verbosity"  # ctx.meta key: --quiet or --verbose of the group


class Verbosity(enum.IntEnum):
    """How much a command prints besides its results and errors."""

    QUIET = -1  # errors and final results only
    NORMAL = 0
    VERBOSE = 1  # also the per-epoch lines of other processes' units, and wall times


def verbosity() -> Verbosity:
    """The group's --quiet or --verbose; NORMAL outside a command."""
    ctx = click.get_current_context(silent=True)
    return Verbosity(ctx.meta.get(VERBOSITY, Verbosity.NORMAL)) if ctx else Verbosity.NORMAL


def command_line() -> tuple[str, ...]:
    """The command line as the user gave it, for unit records; ``sys.argv`` outside one."""
    ctx = click.get_current_context(silent=True)
    argv = ctx.meta.get(ARGV) if ctx else None
    return tuple(argv) if argv else tuple(sys.argv)


def keras_verbosity() -> int:
    """Keras' live bar on a terminal, one line per epoch in logs; nothing under --quiet."""
    if verbosity() is Verbosity.QUIET:
        return 0
    return 1 if sys.stdout.isatty() else 2


def worker_verbosity() -> int:
    """Keras' output in a unit's own process: one line per epoch under --verbose, else none
    (the lines of several processes would interleave)."""
    return 2 if verbosity() is Verbosity.VERBOSE else 0


def invocation(overrides: Sequence[str] = ()) -> Any:
    """What each unit's record says ran it: this command line and its ``--set`` values."""
    from resilinet_cli.experiments.unit import Invocation

    ctx = click.get_current_context(silent=True)
    tracker = ctx.meta.get(TRACKER, layout.TRACKERS[0]) if ctx else layout.TRACKERS[0]
    return Invocation(command_line(), tuple(overrides), worker_verbosity(), tracker)
