"""The lift intervals: published values and coverage on synthetic data with a known truth."""

from __future__ import annotations

import numpy as np
import pytest

from fencun.insights import stats


def test_newcombe_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873-890, table II, example (a): 56/70 - 48/80.
    ci = stats.newcombe_difference(56, 70, 48, 80)
    assert ci.estimate == pytest.approx(0.2)
    assert (ci.low, ci.high) == pytest.approx((0.0524, 0.3339), abs=5e-4)


def test_newcombe_with_zero_conversions_is_not_degenerate():
    ci = stats.newcombe_difference(0, 50, 0, 50)
    assert ci.low < 0 < ci.high
    assert ci.high - ci.low > 0.05


def test_conversion_interval_covers_the_true_lift_about_95_percent_of_the_time():
    rng = np.random.default_rng(7)
    p_treated, p_holdout, n_treated, n_holdout = 0.04, 0.025, 4000, 800
    trials, covered = 2000, 0
    for x1, x2 in zip(rng.binomial(n_treated, p_treated, trials), rng.binomial(n_holdout, p_holdout, trials), strict=True):
        ci = stats.newcombe_difference(int(x1), n_treated, int(x2), n_holdout)
        covered += ci.low <= p_treated - p_holdout <= ci.high
    assert 0.93 <= covered / trials <= 0.975


def test_revenue_interval_covers_the_true_difference():
    rng = np.random.default_rng(11)
    trials, covered = 500, 0
    for _ in range(trials):
        a = rng.binomial(1, 0.05, 5000) * rng.gamma(2.0, 150.0, 5000)
        b = rng.binomial(1, 0.03, 2000) * rng.gamma(2.0, 150.0, 2000)
        ci = stats.mean_difference(a.sum(), (a * a).sum(), a.size, b.sum(), (b * b).sum(), b.size)
        covered += ci.low <= (0.05 - 0.03) * 300.0 <= ci.high
    assert 0.92 <= covered / trials <= 0.98
