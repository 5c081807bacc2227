"""``resilinet data``: describe, check and download the datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from resilinet_cli.cli.app import main
from resilinet_cli.cli.options import DATA_DIR_OPTION

if TYPE_CHECKING:
    from resilinet_cli.data.catalog import OwnEntry, Presence


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
@click.argument("configs", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@DATA_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (see below).")
def data_info(configs: tuple[Path, ...], data_dir: Path | None, as_json: bool) -> None:
    """Each dataset: what it is, where it comes from, where a download is cached, and whether
    it is on this machine (where, or why not); then the data sets of your own that CONFIGS
    name (path, format, files, size, SHA-256) and the arrays kept by rn.run(config, data=...).

    The local check looks where a run looks, for the files a run needs, without reading or
    downloading them; `resilinet data verify NAME` (or CONFIG) reads and checks them fully.

    \b
    Example:
      resilinet data info
      resilinet data info configs/own_data_csv.yaml
      resilinet data info --data-dir /data
      resilinet data info --json

    \b
    --json prints one object keyed by dataset name (a config's own data: by the config's
    path), each with:
      what      a description
      source    where it comes from
      cache     the folder a download goes to (null: never downloaded)
      present   whether a run would find it here
      path      where it was found (null if absent)
      problem   why it was not found (null if present)
    and for a data set of your own also format, files, bytes and sha256; "arrays", when any
    are kept, lists them (path and bytes of each).
    """
    from resilinet_cli.data.catalog import cached_arrays, catalog, presence
    from resilinet_cli.data.locate import check_data_dir

    check_data_dir(data_dir)  # one error for a bad --data-dir, not one per dataset
    own = [own_data(config) for config in configs]
    kept = cached_arrays()
    if as_json:
        found = {name: (entry, presence(name, data_dir)) for name, entry in catalog().items()}
        listing: dict[str, object] = {
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
        for entry in own:
            listing[entry.config] = {
                "what": "a data set of your own (name: files)",
                "source": str(entry.path),
                "cache": None,
                "present": entry.files > 0,
                "path": str(entry.path) if entry.files else None,
                "problem": None if entry.files else f"{entry.path}: no such file or folder",
                "format": entry.format,
                "files": entry.files,
                "bytes": entry.size,
                "sha256": entry.digest,
            }
        if kept:
            listing["arrays"] = [{"path": str(path), "bytes": size} for path, size in kept]
        click.echo(json.dumps(listing, indent=2))
        return
    for name, entry in catalog().items():
        click.echo(f"{name}\n  {entry.what}\n  source: {entry.source}")
        if entry.cache:
            click.echo(f"  cache:  {entry.cache}")
        click.echo(f"  local:  {local_line(name, presence(name, data_dir))}")
    for entry in own:
        files = f"{entry.files:,} file{'s' if entry.files != 1 else ''}"
        click.echo(f"{entry.config}: your own data (name: files)")
        click.echo(f"  path:   {entry.path}")
        click.echo(f"  format: {entry.format}, {files}, {entry.size:,} bytes")
        click.echo(f"  sha256: {entry.digest}")
    if kept:
        total = sum(size for _, size in kept)
        click.echo("arrays\n  kept by rn.run(config, data=...), by their SHA-256")
        click.echo(f"  cache:  {kept[0][0].parent}: {len(kept)} set(s), {total:,} bytes")


def own_data(config: Path) -> OwnEntry:
    """The files data set a config names; one line (exit 2) when it names none."""
    from resilinet_cli.config import load_config
    from resilinet_cli.data.catalog import own_entry
    from resilinet_cli.errors import ConfigError

    loaded = load_config(config)
    if loaded.dataset is None or loaded.dataset.name != "files":
        name = loaded.dataset.name if loaded.dataset else "none"
        raise ConfigError(f"{config}: dataset: '{name}' is not your own data (name: files)")
    return own_entry(str(config), loaded.dataset)


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
    with one line naming the bad file, when something is missing or corrupt. NAME may be a
    config file: its dataset is loaded and checked as a run would (your own data included).

    \b
    Example:
      resilinet data verify fashion_mnist
      resilinet data verify imagenet --data-dir /data/imagenet
      resilinet data verify configs/own_data_csv.yaml
    """
    from resilinet_cli.data import load_dataset
    from resilinet_cli.data.catalog import summary

    if name.endswith((".yaml", ".yml")):  # a config: its own data set, checked as a run would
        from resilinet_cli.config import load_config
        from resilinet_cli.data import load_splits

        loaded = load_config(Path(name))
        click.echo(summary(load_splits(loaded.dataset)) + ": ok")  # type: ignore[arg-type]
        return
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
