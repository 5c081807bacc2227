"""Is a difference larger than the noise of the iterations, once many are tested at once?

A cell of a weighted-accuracy table is a mean, a sample std (ddof=1) and a count n over
iterations. ``resilinet compare`` tests two cells with Welch's t-test (unequal variances); a
report tests two variants on the iterations that share a seed with a paired t-test. With fewer
than two iterations there is no estimate of the noise, and no claim is made. Verdicts stand on
p-values adjusted over their family (``adjust``), and an undecided comparison says what its n
could detect (``detectable_difference``, ``pairs_needed``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

ALPHA = 0.05


@dataclass(frozen=True)
class Cell:
    """One table cell: mean and sample std (ddof=1) over ``n`` iterations."""

    mean: float
    std: float
    n: int


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


def p_text(p: float) -> str:
    """'0.43', '0.004', '<0.001': enough digits to see where p stands against ALPHA."""
    if p < 0.001:
        return "<0.001"
    return f"{p:.2f}" if p >= 0.01 else f"{p:.3f}"


# Paired comparisons: iteration k of every variant trains from the same seed (the same batch
# order, and the same initial draws where layers match), so the variants are compared on their
# per-iteration differences. Whether that removes shared noise depends on how the pairs
# correlate, which the tables report (``Paired.correlation``); the test is valid either way.
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
    correlation: float | None = None  # Pearson's r of the pairs; None when a side is constant

    @property
    def sd(self) -> float | None:
        """Sample std (ddof=1) of the differences; None for fewer than two pairs."""
        return statistics.stdev(self.differences) if self.n >= 2 else None

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


def paired(a: Sequence[float], b: Sequence[float]) -> Paired:
    """Paired t-test of ``a[i] - b[i]`` (two-sided) with its ``CONFIDENCE`` t-interval.

    Chosen over Wilcoxon's signed-rank test because at the n we can afford (5 iterations) the
    exact Wilcoxon p is never below 2/32 = 0.0625, so it could not decide anything at 0.05;
    and the t-interval gives the size of the difference, not only its sign. Computed from the
    t distribution directly (as scipy.stats.ttest_rel does), so nearly equal differences raise
    no precision warning.
    """
    a, b = [float(x) for x in a], [float(y) for y in b]
    differences = tuple(x - y for x, y in zip(a, b, strict=True))
    result = Paired(differences, correlation=pearson(a, b))
    if result.n < 2 or result.constant:
        return result
    from scipy.stats import t as student

    df = result.n - 1
    error = statistics.stdev(differences) / math.sqrt(result.n)
    t = result.mean / error
    half = mean_half_width(differences) or 0.0
    p = float(2 * student.sf(abs(t), df))
    return Paired(differences, result.mean - half, result.mean + half, p, t, result.correlation)


def pearson(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Pearson's correlation of paired values; None with fewer than 3 pairs or a constant side
    (a correlation of two points is always ±1 and says nothing)."""
    if len(a) < 3 or max(a) - min(a) <= SAME or max(b) - min(b) <= SAME:
        return None
    return statistics.correlation(a, b)


def mean_half_width(values: Sequence[float]) -> float | None:
    """Half-width of the ``1 - ALPHA`` t-interval of the mean of ``values``; None for n < 2."""
    if len(values) < 2:
        return None
    from scipy.stats import t as student

    error = statistics.stdev(values) / math.sqrt(len(values))
    return float(student.ppf(1 - ALPHA / 2, len(values) - 1)) * error


# Multiple comparisons: a page (or a profile) states many verdicts, and at p < 0.05 each, some
# would pass by chance alone. Verdicts therefore stand on p-values adjusted over their family.
CORRECTIONS = {"holm": "holm", "bh": "fdr_bh", "none": None}  # name -> statsmodels' method
CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "no correction"}
POWER = 0.8  # what "could detect" means below
MAX_PAIRS = 1000  # beyond this many pairs, "> 1000"


def adjust(p_values: Sequence[float], correction: str) -> list[float]:
    """The family's p-values adjusted by ``correction`` (holm: family-wise error at ALPHA;
    bh: false discovery rate at ALPHA; none: as they are)."""
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown correction {correction!r}")
    method = CORRECTIONS[correction]
    if method is None or not p_values:
        return [float(p) for p in p_values]
    from statsmodels.stats.multitest import multipletests

    return [float(p) for p in multipletests(list(p_values), alpha=ALPHA, method=method)[1]]


def test_level(correction: str, family: int) -> float:
    """The significance level the power analysis assumes: ALPHA / m, the level the strictest
    comparison of a corrected family of ``family`` must pass (ALPHA without correction)."""
    return ALPHA if correction == "none" else ALPHA / max(family, 1)


def detectable_difference(sd: float, n: int, alpha: float) -> float | None:
    """The smallest |mean difference| a two-sided paired t-test on ``n`` pairs with this
    ``sd`` of differences detects with power ``POWER`` at ``alpha``; None below 2 pairs."""
    if n < 2 or not sd > 0:
        return None
    from scipy.optimize import brentq

    def gap(effect: float) -> float:
        return power(n, effect, alpha) - POWER

    high = 1.0
    while gap(high) < 0:  # power grows with the effect: bracket the root
        high *= 2
    return float(brentq(gap, 0.0, high, xtol=1e-10)) * sd


def pairs_needed(difference: float, sd: float, alpha: float) -> int | None:
    """How many pairs a two-sided paired t-test needs to detect ``difference`` with power
    ``POWER`` at ``alpha``, given this ``sd``; None when more than ``MAX_PAIRS``."""
    if not sd > 0 or difference == 0:
        return None
    effect = abs(difference) / sd
    if power(MAX_PAIRS, effect, alpha) < POWER:
        return None
    low, high = 2, MAX_PAIRS  # power grows with n: the smallest n that reaches POWER
    while low < high:
        middle = (low + high) // 2
        if power(middle, effect, alpha) >= POWER:
            high = middle
        else:
            low = middle + 1
    return low


def power(n: int, effect: float, alpha: float) -> float:
    """The power of a two-sided paired t-test on ``n`` pairs for a standardised difference
    ``effect`` (mean / sd) at ``alpha``: P(|T| > t_crit), T noncentral t with n - 1 degrees of
    freedom. Computed as the normal tail averaged over the chi distribution of the standard
    deviation's estimate (sd / sigma = u / sqrt(df), u ~ chi(df)), because scipy's noncentral
    t (and statsmodels' power, built on it) returns NaN in parts of the range a power analysis
    walks through (n = 3, effect 5, alpha 0.0125)."""
    from scipy import integrate
    from scipy import stats as distributions

    df, shift = n - 1, effect * math.sqrt(n)
    critical = float(distributions.t.ppf(1 - alpha / 2, df))

    def tails(u: float) -> float:
        scaled = critical * u / math.sqrt(df)
        outside = distributions.norm.sf(scaled - shift) + distributions.norm.cdf(-scaled - shift)
        return float(outside * distributions.chi.pdf(u, df))

    low, high = distributions.chi.ppf(1e-15, df), distributions.chi.isf(1e-15, df)
    mode = math.sqrt(df - 1)  # where the chi distribution's mass sits
    points = [mode] if low < mode < high else None
    return float(integrate.quad(tails, low, high, limit=200, points=points)[0])
