"""A search on a 2-node loopback Ray cluster against the same search run locally.

    python -m bench.search_cluster configs/search/digits_mlp.yaml \\
        configs/search/digits_mlp_space.yaml results/search_digits_mlp

Starts a `ray.cluster_utils.Cluster` of two nodes on this machine (``--cpus`` each, 2 by
default: a trial of the space's ``cpus_per_trial`` must fit on one), runs
`resilinet search CONFIG --space SPACE --address ... --storage DIR`
with a shared local folder as the storage every node reaches, then compares its pareto.csv and
trials.csv with LOCAL's (the designs, states and every validation and test score; the seconds
and the trial counts differ by nature). The space must not stop trials early (no ASHA), or
which trials finish depends on timing. Prints the differing cells, or that there are none.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import pandas as pd

TIMING = ("seconds", "trials")  # what differs between two runs by nature


def compare(local: Path, cluster: Path) -> int:
    """Differing cells of pareto.csv and trials.csv, printed; their count."""
    differing = 0
    for name in ("pareto.csv", "trials.csv"):
        here = pd.read_csv(local / name).drop(columns=list(TIMING))
        there = pd.read_csv(cluster / name).drop(columns=list(TIMING))
        if list(here.columns) != list(there.columns) or len(here) != len(there):
            print(f"{name}: shapes differ: {here.shape} here, {there.shape} on the cluster")
            differing += 1
            continue
        unequal = ~((here == there) | (here.isna() & there.isna()))
        count = int(unequal.to_numpy().sum())
        differing += count
        print(f"{name}: {len(here)} rows x {len(here.columns)} columns, {count} cells differ")
        for row, column in zip(*unequal.to_numpy().nonzero(), strict=True):
            print(f"  row {row}, {here.columns[column]}: {here.iat[row, column]} here, "
                  f"{there.iat[row, column]} there")  # fmt: skip
    return differing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("space", type=Path)
    parser.add_argument("local", type=Path, help="the same search, run locally")
    parser.add_argument("--out", type=Path, help="where the cluster's search goes")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of each node")
    args = parser.parse_args()
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    from click.testing import CliRunner
    from ray.cluster_utils import Cluster

    from resilinet_cli.cli import main as resilinet

    work = Path(tempfile.mkdtemp(prefix="search_cluster_"))
    out = args.out or work / "search"
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": args.cpus})
    cluster.add_node(num_cpus=args.cpus)
    cluster.wait_for_nodes()
    try:
        result = CliRunner().invoke(resilinet, [
            "search", str(args.config), "--space", str(args.space), "--out", str(out),
            "--address", cluster.address, "--storage", str(work / "shared"),
        ])  # fmt: skip
        print(result.output[-2000:])
    finally:
        import ray

        ray.shutdown()
        cluster.shutdown()
    if result.exit_code != 0:
        raise SystemExit(result.exit_code)
    differing = compare(args.local, out)
    print("identical to the local run" if not differing else f"{differing} cells differ")


if __name__ == "__main__":
    main()
