"""Weighted accuracy within exact bounds, from the most likely combinations only.

Σ_c P(c)·acc(c) over the combinations evaluated so far is a lower bound, and adding the
probability mass not yet evaluated gives an upper bound, since every accuracy lies in [0, 1].
Walking the combinations most likely first (``enumeration.by_probability``) shrinks that gap
fastest; we stop once it is below a tolerance (or a count or time limit is hit). Keras-free: the
accuracy of a batch of combinations comes from a callable, so tests can tabulate it.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from resilinet_cli.estimate.enumeration import by_probability, flow_mask
from resilinet_cli.topology import Combination, Topology

# Accuracy of each of a batch of combinations, all with information flow.
AccuracyOf = Callable[[Sequence[Combination]], dict[Combination, float]]
BATCH = 32  # combinations with flow per evaluation call: one shared-sweep plan each
WALK = 256  # combinations whose flow is decided together


@dataclass(frozen=True)
class Interval:
    """A weighted accuracy with its interval and how it was obtained."""

    method: str  # exhaustive | bounded | montecarlo
    estimate: float
    lower: float
    upper: float
    combinations: int  # combinations evaluated exactly (those without flow included)
    samples: int = 0  # Monte Carlo samples: one example under one drawn combination each
    confidence: float | None = None  # None: exact bounds; else the interval's coverage
    target_met: bool = True  # the tolerance or half-width asked for was reached

    @property
    def width(self) -> float:
        return self.upper - self.lower


@dataclass
class ExactPart:
    """Combinations evaluated exactly, most likely first, and what they contribute."""

    combinations: list[Combination] = field(default_factory=list)
    probabilities: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    flows: list[bool] = field(default_factory=list)
    exhausted: bool = False  # every combination of nonzero probability is in

    @property
    def mass(self) -> float:
        return math.fsum(self.probabilities)

    @property
    def value(self) -> float:
        """Σ P(c)·acc(c) over the evaluated combinations: the lower bound."""
        return math.fsum(p * a for p, a in zip(self.probabilities, self.accuracies, strict=True))

    @property
    def remaining(self) -> float:
        """Probability mass not evaluated: the width of the exact interval."""
        return 0.0 if self.exhausted else min(1.0, max(0.0, 1.0 - self.mass))

    def interval(self, method: str, tolerance: float) -> Interval:
        lower, width = self.value, self.remaining
        return Interval(
            method=method,
            estimate=lower + width / 2,
            lower=lower,
            upper=lower + width,
            combinations=len(self.combinations),
            target_met=width < tolerance or self.exhausted,
        )


def exact_part(
    topology: Topology,
    reliability: Sequence[float],
    accuracy_of: AccuracyOf,
    guess: float,
    *,
    tolerance: float = 0.0,
    max_flow: int | None = None,
    min_probability: float = 0.0,
    deadline: float | None = None,
    batch: int = BATCH,
) -> ExactPart:
    """Evaluate combinations most likely first until one of the stops applies.

    Stops: the remaining mass is below ``tolerance``; ``max_flow`` combinations with flow are
    in; the next combination is less likely than ``min_probability``; ``deadline`` (a
    ``time.monotonic`` value) has passed, checked between batches. Combinations without
    information flow score ``guess`` and never reach ``accuracy_of``.
    """
    part = ExactPart()
    pending: list[int] = []  # positions in ``part`` of combinations awaiting their accuracy
    running = 0.0  # the mass so far, for the stop test (``part.mass`` is the exact sum)
    flow_count = 0

    def flush() -> None:
        combos = [part.combinations[i] for i in pending]
        accuracy = accuracy_of(combos) if combos else {}
        for i, combo in zip(pending, combos, strict=True):
            part.accuracies[i] = accuracy[combo]
        pending.clear()

    def stop_before(probability: float, flow: bool) -> bool:
        if tolerance > 0 and 1.0 - running < tolerance:
            return True
        if part.combinations and probability < min_probability:
            return True
        return flow and max_flow is not None and flow_count >= max_flow

    walk = by_probability(reliability)
    stopped = False
    while not stopped:
        chunk = list(itertools.islice(walk, WALK))
        if not chunk:
            part.exhausted = True
            break
        flows = flow_mask(topology, np.array([combo for combo, _ in chunk], dtype=np.uint8))
        for (combo, probability), flow in zip(chunk, flows.tolist(), strict=True):
            if stop_before(probability, flow):
                stopped = True
                break
            part.combinations.append(combo)
            part.probabilities.append(probability)
            part.flows.append(flow)
            part.accuracies.append(guess)
            running += probability
            if flow:
                pending.append(len(part.combinations) - 1)
                flow_count += 1
            if len(pending) >= batch:
                flush()
                if deadline is not None and time.monotonic() > deadline:
                    stopped = True
                    break
    flush()
    return part


def bounded_accuracy(
    topology: Topology,
    reliability: Sequence[float],
    accuracy_of: AccuracyOf,
    guess: float,
    *,
    tolerance: float,
    max_flow: int | None = None,
    deadline: float | None = None,
    method: str = "bounded",
) -> Interval:
    """[Σ_evaluated P·acc, that + remaining mass], evaluated until the width < ``tolerance``.

    ``tolerance=0`` evaluates every combination of nonzero probability: the exhaustive value.
    """
    part = exact_part(
        topology,
        reliability,
        accuracy_of,
        guess,
        tolerance=tolerance,
        max_flow=max_flow,
        deadline=deadline,
    )
    return part.interval(method, tolerance)
