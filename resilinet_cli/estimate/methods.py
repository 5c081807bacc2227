"""Pick how to compute a weighted accuracy (exhaustive, bounded or Monte Carlo) and run it.

Exhaustive is exact but costs every combination with flow; bounded costs the most likely ones
until the remaining mass is below a tolerance; Monte Carlo costs samples of one example each.
``auto`` times a first batch of the most likely combinations (which every method needs anyway),
predicts the cost of the first two from it, and takes the first that fits the time budget.
Keras-free: the model enters only through the two scorer callables.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Protocol

import numpy as np

from resilinet_cli.estimate.bounded import WALK, ExactPart, Interval, bounded_accuracy, exact_part
from resilinet_cli.estimate.enumeration import by_probability, flow_mask, nonzero_count
from resilinet_cli.estimate.montecarlo import Scorer, monte_carlo_accuracy, sample_scores
from resilinet_cli.topology import Combination, Topology

METHODS = ("auto", "exhaustive", "bounded", "montecarlo")
SMALL = 6  # with up to this many failable nodes, auto sweeps every combination untimed
PROBE = 8  # combinations with flow timed first
COUNTABLE = 2**22  # more combinations than this are not counted (exhaustive is out anyway)
MAX_WALK = 1_000_000  # most combinations walked to size the bounded method
STRATUM_SHARE = 0.25  # of the budget, at most, for the Monte Carlo stratum
PILOT = 2_048  # samples timed to price a sample against a combination


class CombinationSource(Protocol):
    """Exact accuracy of combinations with flow, and its measured cost."""

    def __call__(self, combinations: Sequence[Combination]) -> dict[Combination, float]: ...

    def seconds_per_combination(self) -> float | None: ...


@dataclass(frozen=True)
class EstimateOptions:
    method: str = "auto"
    tolerance: float = 0.01  # bounded: width of the exact interval
    half_width: float = 0.005  # Monte Carlo: half-width of the 95% interval
    budget: float = 120.0  # seconds per weighted accuracy: what auto plans for; caps all but
    # exhaustive, which is exact or nothing
    seed: int = 0


def flow_count(topology: Topology, reliability: Sequence[float]) -> int | None:
    """Combinations of nonzero probability with information flow; None if too many to count."""
    if nonzero_count(reliability) > COUNTABLE:
        return None
    fixed = [None if 0.0 < r < 1.0 else int(r >= 0.5) for r in reliability]
    free = [k for k, value in enumerate(fixed) if value is None]
    total = 0
    step = 2**16
    for first in range(0, 2 ** len(free), step):
        codes = np.arange(first, min(first + step, 2 ** len(free)), dtype=np.int64)
        alive = np.array([value or 0 for value in fixed], dtype=np.uint8)[None].repeat(
            len(codes), axis=0
        )
        for bit, k in enumerate(free):
            alive[:, k] = (codes >> bit) & 1
        total += int(flow_mask(topology, alive).sum())
    return total


def bounded_count(
    topology: Topology, reliability: Sequence[float], tolerance: float, limit: float
) -> int | None:
    """Combinations with flow the bounded method needs for ``tolerance``; None above ``limit``."""
    running, count = 0.0, 0
    walk = by_probability(reliability)
    for _ in range(0, MAX_WALK, WALK):
        chunk = list(itertools.islice(walk, WALK))
        if not chunk:
            return count
        flows = flow_mask(topology, np.array([combo for combo, _ in chunk], dtype=np.uint8))
        for (_, probability), flow in zip(chunk, flows.tolist(), strict=True):
            if tolerance > 0 and 1.0 - running < tolerance:
                return count
            count += flow
            if count > limit:
                return None
            running += probability
    return None


def choose_method(
    *, exhaustive: int | None, bounded: int | None, seconds: float, budget: float
) -> str:
    """The first method whose predicted time fits the budget: exhaustive, bounded, Monte Carlo.

    ``exhaustive`` and ``bounded`` are the combinations with flow each needs (None: too many),
    ``seconds`` the measured time per combination.
    """
    if exhaustive is not None and exhaustive * seconds <= budget:
        return "exhaustive"
    if bounded is not None and bounded * seconds <= budget:
        return "bounded"
    return "montecarlo"


def stratum_threshold(
    *, per_combination: float, per_sample: float, sd: float, tail: float, half_width: float
) -> float:
    """The least probability worth evaluating exactly rather than leaving to the samples.

    The samples needed for the target are n = (z·m·sd/h)² for tail mass m, so taking a
    combination of probability p out of the tail saves about 2·p/m·n samples; it is worth it
    when that saves more time than the combination costs.
    """
    z = NormalDist().inv_cdf(0.975)
    saving_per_mass = 2 * (z * sd / half_width) ** 2 * tail * per_sample
    return math.inf if saving_per_mass <= 0 else per_combination / saving_per_mass


def estimate_weighted(
    topology: Topology,
    reliability: Sequence[float],
    source: CombinationSource,
    make_scorer: Callable[[], Scorer],
    *,
    guess: float,
    test_size: int,
    options: EstimateOptions,
) -> Interval:
    """The weighted accuracy by ``options.method`` (``auto``: chosen by the budget).

    ``reliability`` gives the failable nodes' survival, optionally then the failable links'
    (1 if not given: under a setting of the nodes alone links always carry data).
    """
    reliability = topology.survival(reliability)
    start = time.monotonic()
    deadline = start + options.budget
    method = options.method
    if method == "auto" and len(topology.columns) <= SMALL:
        method = "exhaustive"
    if method == "exhaustive":
        return bounded_accuracy(
            topology, reliability, source, guess, tolerance=0.0, method="exhaustive"
        )
    if method == "bounded":
        return bounded_accuracy(
            topology, reliability, source, guess, tolerance=options.tolerance, deadline=deadline
        )
    probe = exact_part(
        topology, reliability, source, guess, tolerance=options.tolerance, max_flow=PROBE
    )
    if probe.exhausted:  # e.g. no node can fail: the probe was every combination
        return probe.interval("exhaustive", options.tolerance)
    seconds = source.seconds_per_combination() or 0.0
    if method == "auto":
        left = max(0.0, deadline - time.monotonic())
        limit = left / seconds if seconds > 0 else MAX_WALK
        method = choose_method(
            exhaustive=flow_count(topology, reliability),
            bounded=bounded_count(topology, reliability, options.tolerance, limit),
            seconds=seconds,
            budget=left,
        )
        if method == "exhaustive":
            return bounded_accuracy(
                topology, reliability, source, guess, tolerance=0.0, method="exhaustive"
            )
        if method == "bounded":
            return bounded_accuracy(
                topology,
                reliability,
                source,
                guess,
                tolerance=options.tolerance,
                deadline=deadline,
            )
    scorer = make_scorer()
    stratum = monte_carlo_stratum(
        topology,
        reliability,
        source,
        scorer,
        probe,
        guess=guess,
        test_size=test_size,
        options=options,
        deadline=start + STRATUM_SHARE * options.budget,
    )
    return monte_carlo_accuracy(
        topology,
        reliability,
        scorer,
        stratum,
        test_size=test_size,
        guess=guess,
        half_width=options.half_width,
        seed=options.seed,
        deadline=deadline,
    )


def monte_carlo_stratum(
    topology: Topology,
    reliability: Sequence[float],
    source: CombinationSource,
    scorer: Scorer,
    probe: ExactPart,
    *,
    guess: float,
    test_size: int,
    options: EstimateOptions,
    deadline: float,
) -> ExactPart:
    """The probed combinations, and more while each costs less than the samples it saves.

    A pilot of unconditioned samples prices a sample and the spread of the scores.
    """
    if probe.exhausted or probe.remaining <= 2 * options.half_width:
        return probe
    rng = np.random.default_rng(options.seed + 1)
    empty = np.zeros(0, dtype=np.uint64)

    def pilot() -> np.ndarray:
        return sample_scores(
            rng,
            topology,
            reliability,
            scorer,
            empty,
            count=PILOT,
            tail_mass=1.0,
            test_size=test_size,
            guess=guess,
        )

    pilot()  # traces the scorer
    begin = time.perf_counter()
    scores = pilot()
    per_sample = (time.perf_counter() - begin) / PILOT
    threshold = stratum_threshold(
        per_combination=source.seconds_per_combination() or 0.0,
        per_sample=per_sample,
        sd=max(0.05, float(np.std(scores))),
        tail=probe.remaining,
        half_width=options.half_width,
    )
    least = min(probe.probabilities)
    return exact_part(
        topology,
        reliability,
        source,
        guess,
        tolerance=2 * options.half_width,
        min_probability=min(threshold, least),
        deadline=deadline,
    )
