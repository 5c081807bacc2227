"""``resilinet compare``: every weighted-accuracy cell of two folders, side by side."""

from __future__ import annotations

from pathlib import Path

import click

from resilinet_cli.cli.app import main


@main.command()
@click.argument("new", type=click.Path(path_type=Path))
@click.argument("reference", type=click.Path(path_type=Path))
def compare(new: Path, reference: Path) -> None:
    """Every weighted-accuracy cell of NEW against REFERENCE; flags differences beyond noise.

    NEW and REFERENCE are two run folders or two profile folders. Each cell prints as mean ± std
    (n) on both sides with the difference. A cell is flagged when Welch's t-test gives
    p < 0.05 (both sides with n >= 2) or when it exists on one side only; with n < 2 there is no
    noise estimate and the cell is marked so, not flagged. Writes NEW/comparison.csv. Exits 0
    whatever differs: it reports, it does not judge.

    \b
    Example:
      resilinet compare reproduced/quick results/quick
      resilinet compare results/quickstart results/quickstart-old
    """
    from resilinet_cli.results import compare as comparing

    comparison = comparing.compare(new, reference)
    click.echo(comparison.text())
    click.echo(f"Comparison: {comparing.write_csv(comparison)}")
