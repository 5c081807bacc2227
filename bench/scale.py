"""Weighted accuracy with many failable nodes: exhaustive, bounded and Monte Carlo side by side.

    python -m bench.scale                              # N = 4, 8, ..., 24 (about 12 minutes)
    python -m bench.scale --sizes 4,8 --budget 60      # quicker

For each chain of N fog nodes (``generate.chain_topology``: each fog node bypassed by a skip) it
builds the ResiliNet MLP of Health size (23 features, 250 units, one layer per fog node and one
on the cloud, 13 classes; random weights, since speed does not depend on training) and a test set
of Health size (34,000 synthetic rows; 70% labelled with the all-alive prediction and the rest at
random, so that accuracy falls as nodes fail). Under the ``normal`` setting it prints:

- exhaustive: every combination with flow, run only when its time, predicted from the bounded
  run's time per combination, fits --budget (always for N <= 8, for the check);
- bounded: the most likely combinations until the mass left out is below --tolerance, or the
  --budget is spent; its exact interval;
- montecarlo: ``resilinet evaluate --method montecarlo`` (timed probe, exact stratum, samples
  until the 95% half-width is below --half-width, or --mc-budget is spent);

with the combinations and samples evaluated, the wall time and the interval. Wherever the
exhaustive value is known (always for N <= 8) it checks that it lies inside both intervals.

Target: at N = 24, a 95% half-width <= 0.005 in under 10 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.common import result_line

FEATURES, CLASSES, EXAMPLES, HIDDEN = 23, 13, 34_000, 250
SETTING = "normal"
CHECKED = 8  # sizes up to this are always swept exhaustively, to check both intervals


@dataclass(frozen=True)
class Row:
    size: int
    method: str
    combinations: int
    samples: int
    seconds: float
    estimate: float
    lower: float
    upper: float
    target_met: bool
    inside: str = ""  # where the exhaustive value is known: does the interval hold it


def health_sized(size: int) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    """The chain's topology, its random-weight ResiliNet MLP and a synthetic test set."""
    from resilinet_cli.config import validate_config
    from resilinet_cli.config.generate import chain_mapping
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.training.fit import set_seeds
    from resilinet_cli.variants import topology_of

    set_seeds(size)  # the same random weights, hence the same labels, on every run
    layers = {f"fog{k}": 1 for k in range(1, size + 1)} | {"cloud": 1}
    raw = {
        "name": f"scale_chain_{size}",
        "dataset": {"name": "digits"},
        "topology": chain_mapping(size),
        "model": {"name": "mlp", "hidden_units": HIDDEN, "layers_per_node": layers},
    }
    config = validate_config(raw, "bench")
    model, _ = build_from_config(
        config, "resilinet", input_shape=(FEATURES,), num_classes=CLASSES, seed=0
    )
    rng = np.random.default_rng(size)
    x = rng.standard_normal((EXAMPLES, FEATURES), dtype="float32")
    alive = np.ones((EXAMPLES, size), "float32")
    clean = model.predict([x, alive], batch_size=4096, verbose=0).argmax(axis=1)
    y = np.where(rng.random(EXAMPLES) < 0.7, clean, rng.integers(0, CLASSES, EXAMPLES))
    return (
        topology_of(config, "resilinet"),
        model,
        x,
        y.astype(np.int64),
    )


def measure(size: int, args: argparse.Namespace) -> list[Row]:
    import tensorflow as tf

    from resilinet_cli.estimate.bounded import bounded_accuracy
    from resilinet_cli.estimate.methods import EstimateOptions, estimate_weighted, flow_count
    from resilinet_cli.sweeps.scoring import CombinationAccuracy, ExampleScorer

    topology, model, x, y = health_sized(size)
    reliability = topology.reliability[SETTING]
    data = tf.data.Dataset.from_tensor_slices((x, y))
    guess = 1 / CLASSES

    def source() -> CombinationAccuracy:
        return CombinationAccuracy(model, topology, data, EXAMPLES, batch_size=args.batch_size)

    rows = []

    def timed(method: str, run: Any) -> Any:
        start = time.perf_counter()
        interval = run()
        seconds = time.perf_counter() - start
        rows.append(
            Row(
                size,
                method,
                interval.combinations,
                interval.samples,
                seconds,
                interval.estimate,
                interval.lower,
                interval.upper,
                interval.target_met,
            )
        )
        print(f"N={size} {method}: {seconds:.1f}s  {interval}", flush=True)
        return interval

    bounded_source = source()
    timed(
        "bounded",
        lambda: bounded_accuracy(
            topology,
            reliability,
            bounded_source,
            guess,
            tolerance=args.tolerance,
            deadline=time.monotonic() + args.budget,
        ),
    )
    per_combination = bounded_source.seconds_per_combination() or 0.0
    needed = flow_count(topology, reliability)
    if size <= CHECKED or (needed is not None and needed * per_combination <= args.budget):
        exhaustive_source = source()
        timed(
            "exhaustive",
            lambda: bounded_accuracy(
                topology, reliability, exhaustive_source, guess, tolerance=0.0, method="exhaustive"
            ),
        )
    scorer = ExampleScorer(model, x, y)
    options = EstimateOptions(
        method="montecarlo", half_width=args.half_width, budget=args.mc_budget, seed=0
    )
    timed(
        "montecarlo",
        lambda: estimate_weighted(
            topology,
            reliability,
            source(),
            lambda: scorer,
            guess=guess,
            test_size=EXAMPLES,
            options=options,
        ),
    )
    exact = next((r.estimate for r in rows if r.method == "exhaustive"), None)
    if exact is not None:
        rows = [
            r
            if r.method == "exhaustive"
            else Row(**{**r.__dict__, "inside": str(r.lower <= exact <= r.upper)})
            for r in rows
        ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4,8,12,16,20,24", help="failable fog nodes, N")
    parser.add_argument("--tolerance", type=float, default=0.01, help="bounded: mass left out")
    parser.add_argument("--half-width", type=float, default=0.005, help="montecarlo: 95%% +-")
    parser.add_argument("--budget", type=float, default=120, help="seconds: exhaustive, bounded")
    parser.add_argument("--mc-budget", type=float, default=600, help="seconds: montecarlo")
    parser.add_argument("--batch-size", type=int, default=1024, help="examples per chunk")
    args = parser.parse_args()
    rows = [row for size in args.sizes.split(",") for row in measure(int(size), args)]
    print()
    print(
        f"{'N':>3}  {'method':<11}{'combinations':>13}{'samples':>9}{'time':>9}"
        f"{'estimate':>10}{'lower':>9}{'upper':>9}{'width':>9}  {'target':<7}{'holds exact':<11}"
    )
    for r in rows:
        print(
            f"{r.size:>3}  {r.method:<11}{r.combinations:>13}{r.samples:>9}{r.seconds:>8.1f}s"
            f"{r.estimate:>10.4f}{r.lower:>9.4f}{r.upper:>9.4f}{r.upper - r.lower:>9.4f}  "
            f"{'met' if r.target_met else 'missed':<7}{r.inside:<11}"
        )
    print()
    for r in rows:
        print(
            result_line(
                n=r.size,
                method=r.method,
                combinations=r.combinations,
                samples=r.samples,
                seconds=r.seconds,
                estimate=r.estimate,
                lower=r.lower,
                upper=r.upper,
                width=r.upper - r.lower,
                target_met=r.target_met,
                holds_exact=r.inside or "n/a",
            )
        )


if __name__ == "__main__":
    main()
