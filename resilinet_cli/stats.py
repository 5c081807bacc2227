"""Is a difference between two table cells larger than the noise of the iterations?

A cell of a weighted-accuracy table is a mean, a sample std (ddof=1) and a count n over
iterations. Two cells are compared with Welch's t-test (unequal variances), at ``ALPHA``. With
fewer than two iterations on a side there is no estimate of the noise, and no claim is made.
REPORT.md's ordering sentence and ``resilinet compare`` both decide here, so they agree.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

ALPHA = 0.05
TEST = f"Welch's t-test, p < {ALPHA:g}"


@dataclass(frozen=True)
class Cell:
    """One table cell: mean and sample std (ddof=1) over ``n`` iterations."""

    mean: float
    std: float
    n: int


@dataclass(frozen=True)
class Difference:
    """``a`` against ``b``: the difference of the means, and Welch's p when it can be computed."""

    a: Cell
    b: Cell
    p: float | None  # None: fewer than two iterations on a side, no noise estimate

    @property
    def delta(self) -> float:
        return self.a.mean - self.b.mean

    @property
    def estimable(self) -> bool:
        return self.p is not None

    @property
    def clear(self) -> bool:
        """The means differ by more than the noise explains (p < ALPHA)."""
        return self.p is not None and self.p < ALPHA

    def counts(self) -> str:
        """'n=2', or 'n=2 and 3' when the sides have different counts."""
        if self.a.n == self.b.n:
            return f"n={self.a.n}"
        return f"n={self.a.n} and {self.b.n}"


def welch_p(a: Cell, b: Cell) -> float | None:
    """Two-sided p of Welch's t-test between two cells; None when a side has n < 2.

    Two sides without any spread (std 0 on both) have no noise at all: any difference is clear
    (p = 0) and equal means are not (p = 1). scipy would divide by zero there.
    """
    if a.n < 2 or b.n < 2 or math.isnan(a.std) or math.isnan(b.std):
        return None
    if a.std == 0 and b.std == 0:
        return 1.0 if a.mean == b.mean else 0.0
    from scipy.stats import ttest_ind_from_stats

    result = ttest_ind_from_stats(a.mean, a.std, a.n, b.mean, b.std, b.n, equal_var=False)
    return float(result.pvalue)


def compare(a: Cell, b: Cell) -> Difference:
    return Difference(a, b, welch_p(a, b))


def p_text(p: float) -> str:
    """'0.43', '0.004', '<0.001': enough digits to see where p stands against ALPHA."""
    if p < 0.001:
        return "<0.001"
    return f"{p:.2f}" if p >= 0.01 else f"{p:.3f}"


def format_p(p: float) -> str:
    """'p=0.43', 'p=0.004', 'p<0.001'."""
    text = p_text(p)
    return f"p{text}" if text.startswith("<") else f"p={text}"


# Paired comparisons: iteration k of every variant trains from the same seed (the same batch
# order, and the same initial draws where layers match), so a - b per iteration removes the
# noise the two variants share.
PAIRED_TEST = "paired t-test"
CONFIDENCE = 1 - ALPHA  # the CI excludes 0 exactly when p < ALPHA: the two never disagree
# Differences closer than this (accuracy fractions) count as equal: float rounding of equal
# differences must not pass for a spread, whose t would then be huge and spurious.
SAME = 1e-12


@dataclass(frozen=True)
class Paired:
    """``a - b`` over pairs that share a seed: mean difference, its CI and the paired t-test.

    ``low``, ``high`` and ``p`` are None where the test is undefined: fewer than two pairs (no
    noise estimate) or all differences equal (no spread: t would be ±inf or 0/0).
    """

    differences: tuple[float, ...]
    low: float | None = None
    high: float | None = None
    p: float | None = None
    t: float | None = None

    @property
    def n(self) -> int:
        return len(self.differences)

    @property
    def mean(self) -> float:
        return math.fsum(self.differences) / self.n if self.differences else math.nan

    @property
    def constant(self) -> bool:
        """Two or more pairs, all with the same difference: the t-test has nothing to go on."""
        return self.n >= 2 and max(self.differences) - min(self.differences) <= SAME

    @property
    def sign(self) -> int:
        """+1 or -1 when a is above or below b past the noise (p < ALPHA), else 0."""
        if self.p is None or self.p >= ALPHA:
            return 0
        return 1 if self.mean > 0 else -1


def paired(a: Sequence[float], b: Sequence[float]) -> Paired:
    """Paired t-test of ``a[i] - b[i]`` (two-sided) with its ``CONFIDENCE`` t-interval.

    Chosen over Wilcoxon's signed-rank test because at the n we can afford (5 iterations) the
    exact Wilcoxon p is never below 2/32 = 0.0625, so it could not decide anything at 0.05;
    and the t-interval gives the size of the difference, not only its sign. Computed from the
    t distribution directly (as scipy.stats.ttest_rel does), so nearly equal differences raise
    no precision warning.
    """
    differences = tuple(float(x) - float(y) for x, y in zip(a, b, strict=True))
    result = Paired(differences)
    if result.n < 2 or result.constant:
        return result
    from scipy.stats import t as student

    df = result.n - 1
    error = statistics.stdev(differences) / math.sqrt(result.n)
    t = result.mean / error
    half = mean_half_width(differences) or 0.0
    p = float(2 * student.sf(abs(t), df))
    return Paired(differences, result.mean - half, result.mean + half, p, t)


def mean_half_width(values: Sequence[float]) -> float | None:
    """Half-width of the ``1 - ALPHA`` t-interval of the mean of ``values``; None for n < 2."""
    if len(values) < 2:
        return None
    from scipy.stats import t as student

    error = statistics.stdev(values) / math.sqrt(len(values))
    return float(student.ppf(1 - ALPHA / 2, len(values) - 1)) * error
