"""The front, the epochs ASHA saved and the baseline pair, on tables made by hand."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pandas as pd

from resilinet_cli.search.comparison import pick
from resilinet_cli.search.outputs import epochs_saved, front_mask


def plan(minimise: list[str]) -> SimpleNamespace:
    return SimpleNamespace(objective="hazardous", space=SimpleNamespace(minimise=minimise))


def table(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "candidate": [f"c{i}" for i in range(rows)],
        "state": rng.choice(["finished", "finished", "stopped"], rows),
        "val_expected_hazardous": rng.choice([0.5, 0.6, 0.7, 0.8], rows),
        "latency_ms": rng.choice([10.0, 20.0, 30.0], rows),
        "flops_iot": rng.choice([1, 2, 3], rows),
    })  # fmt: skip


def brute_front(frame: pd.DataFrame, costs: list[str]) -> set[str]:
    done = frame[frame["state"] == "finished"]
    keep = set()
    for ((_, a),) in zip(done.iterrows()):
        beaten = False
        for _, b in done.iterrows():
            no_worse = b["val_expected_hazardous"] >= a["val_expected_hazardous"] and all(
                b[c] <= a[c] for c in costs
            )
            better = b["val_expected_hazardous"] > a["val_expected_hazardous"] or any(
                b[c] < a[c] for c in costs
            )
            beaten |= no_worse and better
        if not beaten:
            keep.add(a["candidate"])
    return keep


def test_the_front_is_every_non_dominated_finished_row() -> None:
    for seed, costs in itertools.product(range(20), (["latency_ms"], ["latency_ms", "flops_iot"])):
        frame = table(12, seed)
        mask = front_mask(frame, plan(costs))
        assert set(frame.loc[mask, "candidate"]) == brute_front(frame, costs)
        assert not frame.loc[mask, "state"].eq("stopped").any()


def test_epochs_saved_counts_what_stopped_trials_did_not_train() -> None:
    frame = pd.DataFrame({
        "state": ["finished", "stopped", "stopped", "pruned"],
        "epochs": [6, 6, 6, 6],
        "epochs_trained": [6, 2, 4, 0],
    })  # fmt: skip
    assert epochs_saved(frame) == 1 - 12 / 18


def test_the_baseline_is_vanilla_at_its_fastest_cut_and_the_design_the_front_at_that_latency():
    frame = pd.DataFrame({
        "candidate": ["v1", "v2", "r1", "r2", "r3"],
        "state": ["finished"] * 5,
        "skips": ["none", "none", "iot->fog", "iot->fog", "none"],
        "failout": [np.nan, np.nan, 0.9, 0.95, 0.9],
        "latency_ms": [100.0, 150.0, 100.5, 100.2, 160.0],
        "val_expected_hazardous": [0.5, 0.55, 0.7, 0.72, 0.9],
        "on_front": [False, False, False, True, True],
    })  # fmt: skip
    baseline, design = pick(frame, plan(["latency_ms"]))
    assert baseline["candidate"] == "v1"
    assert design["candidate"] == "r2"  # r3 is more accurate, but 60 % slower
