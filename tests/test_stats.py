"""The paired t-test of resilinet_cli/stats.py against a hand-computed example and scipy."""

from __future__ import annotations

import math
import warnings

import pytest
from scipy.stats import ttest_rel

from resilinet_cli.stats import Paired, paired

# Five iterations of two variants, in points; iteration k of both shares a seed.
A = [86.0, 88.0, 85.0, 90.0, 87.0]
B = [85.0, 86.0, 82.0, 86.0, 82.0]
# By hand: differences d = 1, 2, 3, 4, 5.
#   mean   = 15 / 5 = 3
#   sd     = sqrt(((-2)² + (-1)² + 0² + 1² + 2²) / (5 - 1)) = sqrt(10 / 4) = sqrt(2.5)
#   se     = sd / sqrt(5) = sqrt(0.5)
#   t      = 3 / sqrt(0.5) = 3·sqrt(2) = 4.2426..., df = 4
#   p      Student's t with 4 df has the CDF F(x) = 1/2 + (3/8)·u·(1 - x²/(12·(1 + x²/4))),
#          where u = x / sqrt(1 + x²/4).
#          x² = 18: 1 + x²/4 = 11/2, u = sqrt(18 / (11/2)) = 6/sqrt(11), 1 - 18/66 = 8/11,
#          so F - 1/2 = (3/8)·(6/sqrt(11))·(8/11) = 18 / (11·sqrt(11)), and the two-sided
#          p = 2·(1 - F) = 1 - 36 / (11·sqrt(11)) = 0.013235...
#   t.975  the 4-df quantile has a closed form too: a = 4·q·(1 - q) with q = 0.975,
#          c = cos(arccos(sqrt(a)) / 3) / sqrt(a), quantile = 2·sqrt(c - 1) = 2.776445...
#          (tables: 2.7764)
#   CI     3 ± 2.776445 · sqrt(0.5) = 3 ± 1.963243 = [1.036757, 4.963243]
MEAN = 3.0
T = 3 * math.sqrt(2)
P = 1 - 36 / (11 * math.sqrt(11))
_a = 4 * 0.975 * 0.025
QUANTILE = 2 * math.sqrt(math.cos(math.acos(math.sqrt(_a)) / 3) / math.sqrt(_a) - 1)
HALF = QUANTILE * math.sqrt(0.5)


def test_the_hand_computed_example() -> None:
    result = paired(A, B)
    assert result.differences == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert result.n == 5 and result.mean == MEAN
    assert result.t == pytest.approx(T, abs=1e-12)
    assert result.p == pytest.approx(P, abs=1e-9)
    assert abs(QUANTILE - 2.7764) < 1e-4  # the printed tables' value
    assert result.low == pytest.approx(MEAN - HALF, abs=1e-9)
    assert result.high == pytest.approx(MEAN + HALF, abs=1e-9)
    assert (round(result.low, 4), round(result.high, 4), round(result.p, 4)) == (
        1.0368,
        4.9632,
        0.0132,
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (A, B),
        (B, A),
        ([0.861, 0.874, 0.842, 0.9, 0.858, 0.871], [0.858, 0.88, 0.83, 0.881, 0.86, 0.87]),
        ([0.5, 0.52], [0.49, 0.4]),
    ],
    ids=["hand", "reversed", "six-fractions", "two"],
)
def test_it_agrees_with_scipy_ttest_rel(a: list[float], b: list[float]) -> None:
    result = paired(a, b)
    reference = ttest_rel(a, b)
    interval = reference.confidence_interval(0.95)
    assert result.t == pytest.approx(float(reference.statistic), abs=1e-9)
    assert result.p == pytest.approx(float(reference.pvalue), abs=1e-9)
    assert result.low == pytest.approx(float(interval.low), abs=1e-9)
    assert result.high == pytest.approx(float(interval.high), abs=1e-9)


def test_swapping_the_sides_flips_the_difference_not_the_test() -> None:
    forward, backward = paired(A, B), paired(B, A)
    assert backward.mean == -forward.mean and backward.p == pytest.approx(forward.p)
    assert (backward.low, backward.high) == pytest.approx((-forward.high, -forward.low))
    wide = paired([0.9, 0.7, 0.8], [0.8, 0.8, 0.79])  # +0.10, -0.10, +0.01: noise
    assert wide.p is not None and wide.p > 0.05


def test_one_pair_has_no_noise_estimate() -> None:
    result = paired([0.9], [0.8])
    assert result == Paired((0.9 - 0.8,))
    assert (result.n, result.p, result.low, result.high) == (1, None, None, None)
    assert result.mean == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([0.9, 0.8, 0.7], [0.9, 0.8, 0.7]),  # all differences 0
        ([0.3, 0.7, 0.9], [0.2, 0.6, 0.8]),  # all 0.1 (the same float three times)
        ([0.54, 0.66, 0.57], [0.47, 0.59, 0.5]),  # 0.07 ± 1e-16: float rounding, not spread
    ],
    ids=["zero", "equal", "equal-but-rounding"],
)
def test_equal_differences_leave_the_test_undefined_without_a_warning(
    a: list[float], b: list[float]
) -> None:
    """scipy's ttest_rel gives nan for the zeros and warns of catastrophic cancellation on the
    others: there is no spread to test against, whatever the mean difference."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = paired(a, b)
    assert result.constant and result.n == 3
    assert (result.p, result.low, result.high, result.t) == (None,) * 4
    assert result.mean == pytest.approx(a[0] - b[0], abs=1e-12)


def test_a_spread_past_float_rounding_is_tested() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = paired([0.3, 0.7, 0.9], [0.2, 0.6, 0.8 - 1e-9])
    assert not result.constant and result.p is not None


def test_holm_and_bh_adjust_a_family_as_worked_by_hand() -> None:
    from resilinet_cli.stats import adjust

    p = [0.01, 0.04, 0.03, 0.20]
    # Holm: sorted 0.01, 0.03, 0.04, 0.20 times 4, 3, 2, 1 = 0.04, 0.09, 0.08, 0.20; running
    # maximum 0.04, 0.09, 0.09, 0.20; back in the given order:
    assert adjust(p, "holm") == pytest.approx([0.04, 0.09, 0.09, 0.20], abs=1e-12)
    # Benjamini-Hochberg: p·m/rank = 0.04, 0.06, 0.053, 0.20; running minimum from the top:
    # 0.20, 0.053, 0.053, 0.04, in the given order:
    assert adjust(p, "bh") == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20], abs=1e-12)
    assert adjust(p, "none") == p
    assert adjust([], "holm") == []
    with pytest.raises(ValueError, match="unknown correction"):
        adjust(p, "bonferonni")


def _simulated_power(n: int, effect: float, alpha: float, draws: int = 200_000) -> float:
    """A paired two-sided t-test's power by simulation, independently of the integral in
    stats.power: the share of simulated samples of n normal differences that it rejects."""
    import numpy as np
    from scipy.stats import t as student

    rng = np.random.default_rng(7)
    samples = rng.normal(effect, 1.0, size=(draws, n))
    t = samples.mean(axis=1) / (samples.std(axis=1, ddof=1) / math.sqrt(n))
    return float((np.abs(t) > student.ppf(1 - alpha / 2, n - 1)).mean())


@pytest.mark.parametrize(
    ("difference", "sd", "family"), [(2.269, 3.059, 36), (0.04, 0.06557, 8), (0.04, 0.06557, 4)]
)
def test_the_power_analysis_agrees_with_a_simulation(
    difference: float, sd: float, family: int
) -> None:
    from resilinet_cli.stats import detectable_difference, pairs_needed, power, test_level

    alpha = test_level("holm", family)
    assert alpha == pytest.approx(0.05 / family)
    needed = pairs_needed(difference, sd, alpha)
    effect = difference / sd
    assert power(needed, effect, alpha) >= 0.8 > power(needed - 1, effect, alpha)
    assert _simulated_power(needed, effect, alpha) == pytest.approx(
        power(needed, effect, alpha), abs=0.005
    )
    for n in (3, 10):
        detectable = detectable_difference(sd, n, alpha)
        assert _simulated_power(n, detectable / sd, alpha) == pytest.approx(0.8, abs=0.005)


def test_the_power_integral_agrees_with_the_noncentral_t_where_scipy_gives_one() -> None:
    from scipy.stats import nct
    from scipy.stats import t as student

    from resilinet_cli.stats import power

    for n, effect, alpha in ((3, 4.0, 0.0125), (35, 0.7417, 0.05 / 36), (1000, 0.1, 0.05 / 36)):
        df, shift = n - 1, effect * math.sqrt(n)
        critical = student.ppf(1 - alpha / 2, df)
        expected = nct.sf(critical, df, shift) + nct.cdf(-critical, df, shift)
        assert power(n, effect, alpha) == pytest.approx(expected, abs=1e-9)


def test_the_claims_profile_mobilenet_comparison_needs_35_pairs() -> None:
    """The audit's case: +2.27 points with an sd of 3.06 over 10 pairs, at 0.05/36."""
    from resilinet_cli.stats import pairs_needed

    assert pairs_needed(2.269, 3.059, 0.05 / 36) == 35


def test_no_difference_or_a_tiny_one_needs_more_pairs_than_we_say() -> None:
    from resilinet_cli.stats import MAX_PAIRS, pairs_needed

    assert pairs_needed(0.0, 1.0, 0.05) is None
    assert pairs_needed(0.01, 1.0, 0.05 / 36) is None  # thousands of pairs
    assert pairs_needed(0.1, 1.0, 0.05) < MAX_PAIRS  # about 800
    assert pairs_needed(1.0, 0.0, 0.05) is None  # no spread, no test


def test_pairs_report_their_correlation() -> None:
    from resilinet_cli.stats import pearson

    # A = 86, 88, 85, 90, 87 and B = 85, 86, 82, 86, 82: by hand, deviations from the means
    # 87.2 and 84.2 are (-1.2, 0.8, -2.2, 2.8, -0.2) and (0.8, 1.8, -2.2, 1.8, -2.2);
    # Σxy = 10.8, Σx² = 14.8, Σy² = 16.8, r = 10.8 / √(14.8·16.8) = 0.6849...
    assert paired(A, B).correlation == pytest.approx(10.8 / math.sqrt(14.8 * 16.8), abs=1e-12)
    assert pearson([1.0, 2.0], [2.0, 1.0]) is None  # two points always correlate ±1
    assert pearson([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) is None  # a constant side
