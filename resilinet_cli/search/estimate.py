"""A rough time for ``--dry-run``: training FLOPs over this machine's measured matmul rate.

Training costs about three forward passes per example (forward, and backward twice as much);
small models on a CPU reach a fraction of the peak rate, hence ``EFFICIENCY``; each trial also
starts a process and loads TensorFlow. The progress line measures the real time per trial.
"""

from __future__ import annotations

import time
from typing import Any

EFFICIENCY = 0.25  # share of the matmul rate a small Keras model reaches when training
STARTUP_SECONDS = 10.0  # a trial's process start and TensorFlow import
SWEEP_FACTOR = 1.0 / 3  # an epoch's validation sweep, beside its training (forward only)


def matmul_rate() -> float:
    """FLOP/s of a 512x512 float32 matmul on this machine (best of a few)."""
    import numpy as np

    a = np.random.default_rng(0).random((512, 512), dtype=np.float32)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * 512**3 / best


def estimate_seconds(plan: Any) -> float:
    """Seconds to train every fitting candidate to its budget, one at a time."""
    rate = matmul_rate() * EFFICIENCY
    subset = plan.config.dataset.subset if plan.config.dataset else None
    examples = subset.train if subset and subset.train else 50_000
    total = 0.0
    for candidate in plan.fitting:
        flops = sum(v for k, v in candidate.costs.items() if k.startswith("flops_"))
        epoch = 3 * flops * examples / rate
        total += STARTUP_SECONDS + candidate.design.epochs * epoch * (1 + SWEEP_FACTOR)
    if plan.space.sampler != "grid" and plan.fitting:
        total *= (plan.space.trials or 0) / len(plan.fitting)
    return total
