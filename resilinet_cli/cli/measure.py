"""``resilinet measure``: the cost model's device figures, timed on this machine."""

from __future__ import annotations

from pathlib import Path

import click

from resilinet_cli.cli.app import main
from resilinet_cli.cli.options import ALLOW_CODE_OPTION, load


@main.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--variant", metavar="V", help="The variant whose nodes to time [default: the "
              "config's first].")  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE.yaml",
              help="Where to write the costs: section "
              "[default: <config name>_costs.yaml].")  # fmt: skip
@click.option("--scale", "scales", multiple=True, metavar="CLASS=FACTOR",
              help="A device class's share of this machine's FLOP/s (repeatable) [defaults: "
              "iot 0.02, edge 0.1, fog 0.5, cloud 1].")  # fmt: skip
@click.option("--repeats", type=click.IntRange(min=1), default=30, show_default=True,
              metavar="N", help="Timed calls per node; the median counts.")  # fmt: skip
@ALLOW_CODE_OPTION
def measure(
    config: Path, variant: str | None, out: Path | None, scales: tuple[str, ...], repeats: int
) -> None:
    """Time each node's sub-model of CONFIG's model on this machine and write a costs: section
    for resilinet search (paste it into the config, or pass the file with --costs).

    Each node runs with batch 1 after a warm-up; its FLOPs (TensorFlow's count) over its median
    time is this machine's FLOP/s on that node. A device's figure is that times its class's
    scale factor: ASSUMED shares of this machine, iot 0.02, edge 0.1, fog 0.5, cloud 1 (a
    node's class is its name without a number or standby suffix: fog1 is fog, edge_r2 edge);
    --scale CLASS=FACTOR sets another. Links are not measured: the config's costs.links are
    copied, else figures assumed per pair of classes. Every figure says where it came from.

    \b
    Example:
      resilinet measure configs/byom_mobilenetv2_fashion.yaml --scale iot=0.05
    """
    from tabulate import tabulate

    from resilinet_cli.search import measure as measuring

    loaded = load(config, [], False, None)
    timings, section, comment = measuring.measure(loaded, variant, scales, repeats)
    path = out or Path(f"{loaded.name}_costs.yaml")
    measuring.write(path, section, comment)
    click.echo(tabulate(measuring.table(timings, section), measuring.TABLE_HEADERS,
                        disable_numparse=True))  # fmt: skip
    click.echo(f"\n{comment.strip()}\nWrote {path}")
