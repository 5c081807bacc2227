"""``run --dry-run``: what a run would do, unit by unit, as lines or (``--json``) as data."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

STATES = ("todo", "done", "copy")  # a unit's state in a dry run


def dry_run_listing(out: Path, steps: list[Any]) -> None:
    """One line per unit: done, todo (to train; a damaged unit says why) or copy (its training
    equals a unit finished elsewhere or trained earlier in this run)."""
    for step in steps:
        line = f"{step.state}  {step.unit.name}"
        if step.source is not None:
            line += f"  (from {step.source})"
        elif step.queued:
            line += f"  (from {step.queued}, trained in this run)"
        if step.why:
            line += f"  [{step.why}]"
        click.echo(line)
    todo = sum(step.state == "todo" for step in steps)
    copies = sum(step.state == "copy" for step in steps)
    copied = f", {copies} copied" if copies else ""
    click.echo(f"{todo} of {len(steps)} units to train in {out}{copied}")


def dry_run_plan(
    cfg: Any, out: Path, steps: list[Any], overrides: Sequence[str] = ()
) -> dict[str, Any]:
    """The dry run's listing as data, for --json: each unit with its state, and the counts."""
    counts = {name: sum(step.state == name for step in steps) for name in STATES}
    units = []
    for step in steps:
        source = step.source or step.queued
        source = str(source) if source is not None else None
        units.append({"name": step.unit.name, "state": step.state, "from": source,
                      "why": step.why or None, **step.unit.to_record()})  # fmt: skip
    return {
        "config": cfg.name,
        "folder": str(out),
        "overrides": list(overrides),
        "units": units,
        "counts": {**counts, "total": len(steps)},
    }
