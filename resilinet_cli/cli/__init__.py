"""The ``resilinet`` command line: one module per command, each thin (parse, call, print)."""

# Each command module adds its command to ``main`` when imported.
from resilinet_cli.cli import compare, data, evaluate, partition, report, reproduce, run  # noqa: F401
from resilinet_cli.cli.app import main

__all__ = ["main"]
