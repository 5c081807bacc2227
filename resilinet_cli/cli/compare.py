"""``resilinet compare``: every weighted-accuracy cell of two folders, side by side."""

from __future__ import annotations

from pathlib import Path

import click

from resilinet_cli.cli.app import main


@main.command()
@click.argument("new", type=click.Path(path_type=Path))
@click.argument("reference", type=click.Path(path_type=Path))
@click.option(
    "--correction",
    type=click.Choice(["holm", "bh", "none"]),
    default="holm",
    show_default=True,
    help="How the cells' p-values are corrected for testing many cells at once.",
)
def compare(new: Path, reference: Path, correction: str) -> None:
    """Every weighted-accuracy cell of NEW against REFERENCE; flags differences beyond noise.

    NEW and REFERENCE are two run folders or two profile folders. Every unit of both is checked
    against its record's checksums and every table recomputed from its units first: a damaged
    file is an error that names it. Each cell prints as mean ± std (n) on both sides with the
    difference. A cell is flagged when Welch's t-test, its p adjusted over all cells (Holm),
    gives p < 0.05 (both sides with n >= 2) or when it exists on one side only; with n < 2
    there is no noise estimate and the cell is marked so, not flagged. Where the two runs'
    configs differ, it says in which keys. Writes NEW/comparison.csv. Exits 0 whatever differs:
    it reports, it does not judge.

    \b
    Example:
      resilinet compare reproduced/quick results/quick
      resilinet compare results/quickstart results/quickstart-old
    """
    echo_comparison(new, reference, correction)


def echo_comparison(new: Path, reference: Path, correction: str = "holm") -> None:
    """Check both folders, print the comparison of NEW with REFERENCE, write NEW/comparison.csv."""
    from resilinet_cli.experiments.verify import check_folder
    from resilinet_cli.results import compare as comparing

    comparison = comparing.compare(new, reference, correction)  # both sides have tables
    check_folder(new)
    check_folder(reference)
    click.echo(comparison.text())
    written = comparing.write_csv(comparison)
    if written is None:
        click.echo(f"comparison.csv not written: {new} is a committed reference")
    else:
        click.echo(f"Comparison: {written}")
