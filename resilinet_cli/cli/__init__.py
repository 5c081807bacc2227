"""The ``resilinet`` command line: one module per command, each thin (parse, call, print)."""

# Each command module adds its command to ``main`` when imported.
from resilinet_cli.cli import (  # noqa: F401
    calibrate,
    compare,
    data,
    evaluate,
    live,
    measure,
    partition,
    report,
    reproduce,
    run,
    search,
)
from resilinet_cli.cli.app import main

__all__ = ["main"]
