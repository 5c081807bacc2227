"""How close an early-stopped search's front is to the full grid's, and how two runs differ.

    python -m bench.search_fronts results/search_digits_mlp results/search_digits_mlp_asha
    python -m bench.search_fronts GRID ASHA [ASHA_AGAIN]

Both folders are `resilinet search` outputs over the same candidates (the same CONFIG; the
second with ASHA). It prints, side by side from the two trials.csv files:

- the epochs each search trained and the share ASHA saved against the grid;
- the fronts (validation expected accuracy under the objective against the first minimised
  cost): their sizes, the designs they share, and the dominated area (hypervolume) of the
  ASHA front as a share of the grid's, with the reference point at the worst cost and zero
  accuracy;
- with a third folder (the ASHA search run again), the candidates whose state differs and the
  largest difference in a finished candidate's validation score: what the order trials finish
  in changes when several run at once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def front(trials: pd.DataFrame, accuracy: str, cost: str) -> pd.DataFrame:
    """The finished, non-dominated rows, by cost (the `on_front` column, checked here)."""
    done = trials[trials["state"] == "finished"]
    keep = []
    for i, row in done.iterrows():
        beaten = (
            (done[accuracy] >= row[accuracy])
            & (done[cost] <= row[cost])
            & ((done[accuracy] > row[accuracy]) | (done[cost] < row[cost]))
        )
        if not beaten.any():
            keep.append(i)
    return done.loc[keep].sort_values(cost)


def hypervolume(points: pd.DataFrame, accuracy: str, cost: str, worst_cost: float) -> float:
    """Area dominated by a front (maximise accuracy, minimise cost) above accuracy 0 and left of
    ``worst_cost``."""
    area, best = 0.0, 0.0
    ordered = points.sort_values(cost)
    costs = [*ordered[cost], worst_cost]
    for (_, row), next_cost in zip(ordered.iterrows(), costs[1:], strict=True):
        best = max(best, row[accuracy])
        area += best * (next_cost - row[cost])
    return area


def objective(folder: Path) -> tuple[str, str]:
    """(validation accuracy column, first minimised cost) of a search folder."""
    import yaml

    space = yaml.safe_load((folder / "space.yaml").read_text(encoding="utf-8"))
    trials = pd.read_csv(folder / "trials.csv", nrows=1)
    name = space.get("objective") or next(
        c.removeprefix("val_expected_") for c in trials if c.startswith("val_expected_")
    )
    return f"val_expected_{name}", (space.get("minimise") or ["latency_ms"])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("grid", type=Path)
    parser.add_argument("asha", type=Path)
    parser.add_argument("again", type=Path, nargs="?")
    args = parser.parse_args()
    accuracy, cost = objective(args.grid)
    grid = pd.read_csv(args.grid / "trials.csv")
    asha = pd.read_csv(args.asha / "trials.csv")
    trained = {name: t["epochs_trained"].sum() for name, t in (("grid", grid), ("asha", asha))}
    print(f"epochs trained: grid {trained['grid']}, ASHA {trained['asha']}: ASHA saved "
          f"{100 * (1 - trained['asha'] / trained['grid']):.1f} %")  # fmt: skip
    fronts = {"grid": front(grid, accuracy, cost), "asha": front(asha, accuracy, cost)}
    worst = max(grid[cost].max(), asha[cost].max())
    volumes = {k: hypervolume(f, accuracy, cost, worst) for k, f in fronts.items()}
    shared = set(fronts["grid"]["candidate"]) & set(fronts["asha"]["candidate"])
    print(f"fronts: grid {len(fronts['grid'])} designs, ASHA {len(fronts['asha'])}, "
          f"{len(shared)} shared; ASHA's hypervolume {100 * volumes['asha'] / volumes['grid']:.1f}"
          " % of the grid's")  # fmt: skip
    for name, points in fronts.items():
        print(f"\n{name} front ({accuracy}, {cost}):")
        print(points[["candidate", "variant", "partition", "skips", "failout", cost,
                      accuracy]].to_string(index=False))  # fmt: skip
    if args.again is not None:
        again = pd.read_csv(args.again / "trials.csv").set_index("candidate")
        first = asha.set_index("candidate")
        states = (first["state"] != again.loc[first.index, "state"]).sum()
        both = first.index[(first["state"] == "finished") & (again["state"] == "finished")]
        drift = (first.loc[both, accuracy] - again.loc[both, accuracy]).abs().max()
        print(f"\nrun again: {states} of {len(first)} candidates changed state; finished in "
              f"both: {len(both)}, largest difference in {accuracy}: {drift:.6f}")  # fmt: skip


if __name__ == "__main__":
    main()
