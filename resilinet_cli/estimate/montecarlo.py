"""Weighted accuracy by Monte Carlo: an exact stratum plus a sampled tail.

The most likely combinations are evaluated exactly (``bounded.ExactPart``, mass 1 - m). The
rest, the tail, is sampled: a combination drawn from the reliability distribution conditioned on
lying outside the stratum (by rejection), and a test example drawn uniformly. Each sample is one
example's forward pass under one alive mask, so a batch of samples is one model call. Then

    weighted accuracy = exact part + m · E[score | tail],

where a sample scores 1 for a correct prediction, 0 otherwise, and the guess accuracy when its
combination has no information flow. The mean of the scores is unbiased; its normal-approximation
interval, clipped to the exact bounds [exact part, exact part + m], is reported. Sampling goes on
in rounds until the half-width is below the target, or a sample or time cap is hit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from resilinet_cli.estimate.bounded import ExactPart, Interval
from resilinet_cli.estimate.enumeration import combination_keys, flow_mask, is_member
from resilinet_cli.topology import Combination, Topology

# (example indices [n], alive masks [n, N] float32 0/1) -> 1 where the prediction is right.
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]
MIN_TAIL = 1e-9  # below this the exact bounds are already that tight: nothing to sample
MAX_DRAW = 1_000_000  # combinations drawn per rejection step (memory bound)
MAX_ROUND = 100_000  # samples per scoring round


@dataclass
class Tally:
    """Running sums of the sample scores."""

    count: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, scores: np.ndarray) -> None:
        self.count += len(scores)
        self.total += float(np.sum(scores, dtype=np.float64))
        self.squares += float(np.sum(np.square(scores, dtype=np.float64)))

    @property
    def mean(self) -> float:
        return self.total / self.count

    @property
    def sd(self) -> float:
        if self.count < 2:
            return 0.5  # the largest sd of a score in [0, 1]
        variance = (self.squares - self.count * self.mean**2) / (self.count - 1)
        return math.sqrt(max(0.0, variance))


def draw_tail(
    rng: np.random.Generator,
    reliability: Sequence[float],
    stratum: np.ndarray,
    count: int,
    tail_mass: float,
) -> np.ndarray:
    """``count`` alive masks [count, N] from the reliability distribution outside ``stratum``.

    ``stratum`` holds the ``combination_keys`` of the exact combinations. Rejection sampling
    draws about count / tail_mass masks, so the tail mass must not be tiny.
    """
    survival = np.asarray(reliability, dtype=np.float64)
    found: list[np.ndarray] = []
    missing = count
    while missing > 0:
        rows = min(MAX_DRAW, max(missing, math.ceil(1.2 * missing / tail_mass) + 16))
        alive = (rng.random((rows, len(survival))) < survival).astype(np.uint8)
        if stratum.size:
            alive = alive[~is_member(combination_keys(alive), stratum)]
        alive = alive[:missing]
        found.append(alive)
        missing -= len(alive)
    return np.concatenate(found) if found else np.zeros((0, len(survival)), dtype=np.uint8)


def sample_scores(
    rng: np.random.Generator,
    topology: Topology,
    reliability: Sequence[float],
    scorer: Scorer,
    stratum: np.ndarray,
    *,
    count: int,
    tail_mass: float,
    test_size: int,
    guess: float,
) -> np.ndarray:
    """Scores of ``count`` samples from the tail: hits where information flows, else the guess."""
    alive = draw_tail(rng, reliability, stratum, count, tail_mass)
    examples = rng.integers(0, test_size, size=count)
    flows = flow_mask(topology, alive)
    scores = np.full(count, guess, dtype=np.float64)
    if flows.any():
        hits = scorer(examples[flows], alive[flows].astype(np.float32))
        scores[flows] = np.asarray(hits, dtype=np.float64)
    return scores


def stratum_keys(combinations: Sequence[Combination], columns: int) -> np.ndarray:
    rows = np.array(combinations, dtype=np.uint8).reshape(len(combinations), columns)
    return combination_keys(rows)


def monte_carlo_accuracy(
    topology: Topology,
    reliability: Sequence[float],
    scorer: Scorer,
    stratum: ExactPart,
    *,
    test_size: int,
    guess: float,
    half_width: float,
    seed: int,
    confidence: float = 0.95,
    min_samples: int = 2_000,
    max_samples: int = 10_000_000,
    deadline: float | None = None,
) -> Interval:
    """The stratified estimate and its interval; sampling stops at ``half_width`` or a cap.

    ``deadline`` is a ``time.monotonic`` value, checked between rounds (the first round of
    ``min_samples`` always runs).
    """
    exact, tail = stratum.value, stratum.remaining
    if tail <= max(MIN_TAIL, 2 * half_width):  # the exact bounds are already as tight
        return stratum.interval("montecarlo", tolerance=2 * half_width)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    rng = np.random.default_rng(seed)
    keys = stratum_keys(stratum.combinations, len(topology.columns))
    tally = Tally()
    size = min_samples
    while True:
        size = max(1, min(size, max_samples - tally.count))
        tally.add(
            sample_scores(
                rng,
                topology,
                reliability,
                scorer,
                keys,
                count=size,
                tail_mass=tail,
                test_size=test_size,
                guess=guess,
            )
        )
        half = z * tail * tally.sd / math.sqrt(tally.count)
        met = tally.count >= min_samples and half <= half_width
        late = deadline is not None and time.monotonic() > deadline
        if met or late or tally.count >= max_samples:
            break
        needed = math.ceil(1.1 * (z * tail * tally.sd / half_width) ** 2)
        size = min(MAX_ROUND, max(1_000, needed - tally.count))
    estimate = exact + tail * tally.mean
    return Interval(
        method="montecarlo",
        estimate=estimate,
        lower=max(exact, estimate - half),
        upper=min(exact + tail, estimate + half),
        combinations=len(stratum.combinations),
        samples=tally.count,
        confidence=confidence,
        target_met=met,
    )
