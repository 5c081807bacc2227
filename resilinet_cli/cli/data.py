"""``resilinet data``: describe, check and download the datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from resilinet_cli.cli.app import main
from resilinet_cli.cli.options import DATA_DIR_OPTION

if TYPE_CHECKING:
    from resilinet_cli.data.catalog import Presence


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
@DATA_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (see below).")
def data_info(data_dir: Path | None, as_json: bool) -> None:
    """Each dataset: what it is, where it comes from, where a download is cached, and whether
    it is on this machine (where, or why not).

    The local check looks where a run looks, for the files a run needs, without reading or
    downloading them; `resilinet data verify NAME` reads and checks them fully.

    \b
    Example:
      resilinet data info
      resilinet data info --data-dir /data
      resilinet data info --json

    \b
    --json prints one object keyed by dataset name, each with:
      what      a description
      source    where it comes from
      cache     the folder a download goes to (null: never downloaded)
      present   whether a run would find it here
      path      where it was found (null if absent)
      problem   why it was not found (null if present)
    """
    from resilinet_cli.data.catalog import catalog, presence
    from resilinet_cli.data.locate import check_data_dir

    check_data_dir(data_dir)  # one error for a bad --data-dir, not one per dataset
    if as_json:
        found = {name: (entry, presence(name, data_dir)) for name, entry in catalog().items()}
        listing = {
            name: {
                "what": entry.what,
                "source": entry.source,
                "cache": entry.cache,
                "present": here.where is not None,
                "path": None if here.where is None else str(here.where),
                "problem": here.problem,
            }
            for name, (entry, here) in found.items()
        }
        click.echo(json.dumps(listing, indent=2))
        return
    for name, entry in catalog().items():
        click.echo(f"{name}\n  {entry.what}\n  source: {entry.source}")
        if entry.cache:
            click.echo(f"  cache:  {entry.cache}")
        click.echo(f"  local:  {local_line(name, presence(name, data_dir))}")


def local_line(name: str, found: Presence) -> str:
    """'yes, WHERE', or 'no: ' and the first clause of the loader's error (what it looked in)."""
    if found.where is not None:
        return f"yes, {found.where}"
    return f"no: {str(found.problem).split('; ')[0]}; to get it: resilinet data fetch {name}"


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
