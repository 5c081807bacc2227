"""What the search gains over a latency-only partitioner, with a 95 % interval.

The baseline is the design a Neurosurgeon-style partitioner deploys: the network as it is, no
skips and no failout (Vanilla), at the cut of lowest estimated latency. It is set against the
front's design of equal latency (within ``LATENCY_TOLERANCE``; the fastest front design if none
is) that the validation objective ranks first. Both are scored on the test split: each test
example's expected correctness under the objective, s_i = Σ_c P(c)·[the model is right on i
under c] (a combination without information flow counts as the guess accuracy), so the mean of
s_i is the test expected accuracy, and the paired differences d_i give a t interval. It covers
the test set's sampling, not training noise: each design trains once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from resilinet_cli import atomic
from resilinet_cli.search.plan import SearchPlan

LATENCY_TOLERANCE = 0.01  # "equal latency": within 1 % of the baseline's
COMPARISON_CSV = "baseline.csv"  # the front against the latency-optimal cut


@dataclass(frozen=True)
class Comparison:
    """The front's design against the latency-optimal baseline, on the test split."""

    baseline: str  # candidate ids
    design: str
    baseline_latency_ms: float
    design_latency_ms: float
    baseline_accuracy: float  # test expected accuracy under the objective
    design_accuracy: float
    difference: float
    low: float  # 95 % interval of the difference
    high: float
    examples: int
    equal_latency: bool  # False: no front design within the tolerance; the fastest one

    def row(self) -> dict[str, Any]:
        return dict(vars(self))


def pick(table: pd.DataFrame, plan: SearchPlan) -> tuple[pd.Series, pd.Series] | None:
    """(baseline row, front row), or None when the search has no such pair."""
    done = table[table["state"] == "finished"]
    if "latency_ms" not in done or not len(done):
        return None
    plain = done[done["skips"].eq("none") & done["failout"].isna()]
    if not len(plain):
        return None
    baseline = plain.loc[plain["latency_ms"].idxmin()]
    front = done[done["on_front"] & (done["candidate"] != baseline["candidate"])]
    if not len(front):
        return None
    near = front[front["latency_ms"] <= baseline["latency_ms"] * (1 + LATENCY_TOLERANCE)]
    pool = near if len(near) else front[front["latency_ms"] == front["latency_ms"].min()]
    design = pool.loc[pool[f"val_expected_{plan.objective}"].idxmax()]
    return baseline, design


def within(baseline: pd.Series, design: pd.Series) -> bool:
    return bool(design["latency_ms"] <= baseline["latency_ms"] * (1 + LATENCY_TOLERANCE))


def compare(table: pd.DataFrame, plan: SearchPlan, trials_dir: Path) -> Comparison | None:
    """The comparison, from the two trials' saved models; None without a pair."""
    chosen = pick(table, plan)
    if chosen is None:
        return None
    baseline, design = chosen
    by_id = {c.id: c for c in plan.candidates}
    scores = [example_scores(by_id[row["candidate"]], plan, trials_dir) for row in chosen]
    d = scores[1] - scores[0]
    n = len(d)
    half = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
    return Comparison(
        baseline=baseline["candidate"],
        design=design["candidate"],
        baseline_latency_ms=float(baseline["latency_ms"]),
        design_latency_ms=float(design["latency_ms"]),
        baseline_accuracy=float(scores[0].mean()),
        design_accuracy=float(scores[1].mean()),
        difference=float(d.mean()),
        low=float(d.mean() - half),
        high=float(d.mean() + half),
        examples=n,
        equal_latency=within(baseline, design),
    )


def write_comparison(out: Path, comparison: Comparison | None) -> Comparison | None:
    """baseline.csv (one row), or none when the search has no such pair."""
    if comparison is not None:
        atomic.write_csv(out / COMPARISON_CSV, pd.DataFrame([comparison.row()]))
    return comparison


def example_scores(candidate: Any, plan: SearchPlan, trials_dir: Path) -> np.ndarray:
    """Each test example's expected correctness under the objective, for one trial's model."""
    import keras

    from resilinet_cli.data import load_splits
    from resilinet_cli.search.objectives import models_for
    from resilinet_cli.sweeps.sweep import predict_combinations
    from resilinet_cli.training.inputs import build_inputs
    from resilinet_cli.variants import topology_of

    config, variant = candidate.config, candidate.design.variant
    topology = topology_of(config, variant)
    inputs = build_inputs(
        load_splits(config.dataset), config, len(topology.columns), candidate.unit.seed
    )
    pairs = list(inputs.test.as_numpy_iterator())
    x = np.stack([features for features, _ in pairs])
    y = np.array([label for _, label in pairs])
    model = keras.models.load_model(
        candidate.unit.folder(trials_dir / candidate.id) / "model.keras", compile=False
    )
    chance = models_for(topology, config)[plan.objective]
    combos = topology.combinations()
    flowing = [c for c in combos if topology.has_information_flow(c)]
    outputs = predict_combinations(model, topology, x, flowing)
    scores = np.zeros(len(y))
    for combo in combos:
        p = chance.probability(combo)
        if combo in outputs:
            scores += p * (np.argmax(outputs[combo], axis=-1) == y)
        else:
            scores += p * inputs.guess
    return scores
