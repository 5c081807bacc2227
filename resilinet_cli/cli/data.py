"""``resilinet data``: describe, check and download the datasets."""

from __future__ import annotations

from pathlib import Path

import click

from resilinet_cli.cli.app import main
from resilinet_cli.cli.options import DATA_DIR_OPTION


@main.group()
def data() -> None:
    """Describe, check and download the datasets.

    \b
    Example:
      resilinet data info
      resilinet data verify fashion_mnist
      resilinet data fetch cifar10
    """


DATASET_ARGUMENT = click.argument("name", metavar="NAME")


@data.command("info")
def data_info() -> None:
    """Each dataset: what it is, where it comes from, where a download is cached.

    \b
    Example:
      resilinet data info
    """
    from resilinet_cli.data.catalog import catalog

    for name, entry in catalog().items():
        click.echo(f"{name}\n  {entry.what}\n  source: {entry.source}")
        if entry.cache:
            click.echo(f"  cache:  {entry.cache}")


@data.command("verify")
@DATASET_ARGUMENT
@DATA_DIR_OPTION
def data_verify(name: str, data_dir: Path | None) -> None:
    """Load a dataset from local files only, check it fully, and print its shape.

    Checks file structure and counts (and checksums where a download is kept). Exit code 2,
    with one line naming the bad file, when something is missing or corrupt.

    \b
    Example:
      resilinet data verify fashion_mnist
      resilinet data verify imagenet --data-dir /data/imagenet
    """
    from resilinet_cli.data import load_dataset
    from resilinet_cli.data.catalog import summary

    click.echo(summary(load_dataset(name, data_dir=data_dir, download=False)) + ": ok")


@data.command("fetch")
@DATASET_ARGUMENT
@DATA_DIR_OPTION
def data_fetch(name: str, data_dir: Path | None) -> None:
    """Download a dataset into the cache (verified, atomic), unless it is already there.

    ImageNet cannot be downloaded; this prints how to build its folders by hand.

    \b
    Example:
      resilinet data fetch cifar10
    """
    from resilinet_cli.data import load_dataset
    from resilinet_cli.data.catalog import summary

    click.echo(summary(load_dataset(name, data_dir=data_dir, download=True)) + ": ready")
