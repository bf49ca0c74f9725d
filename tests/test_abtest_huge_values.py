"""Counts and samples near float64's largest values (1e300): squaring them overflows, and SciPy
returns an infinite statistic with a RuntimeWarning there.  mlsd computes the finite statistic:
checked against SciPy on the same data scaled down by a power of two (exact), and against exact
rational arithmetic where Yates' correction (half a count, not scale-free) applies."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.stats as st

from mlsd import abtest as ab

BIG = 2.0**997  # a power of two: dividing by it is exact
HUGE = [1e300, 12.0, 9.0, 3e299]


def test_chisquare_of_huge_counts_is_scipys_statistic_scaled():
    obs = np.array(HUGE)
    want = st.chisquare(obs / BIG)
    got = ab.chisquare(obs)
    assert got.statistic == pytest.approx(want.statistic * BIG, rel=1e-12)
    assert got.pvalue == 0.0 and got.dof == 3
    exp = np.full(4, obs.sum() / 4)
    got = ab.chisquare(obs, exp)
    assert got.statistic == pytest.approx(st.chisquare(obs / BIG, exp / BIG).statistic * BIG, rel=1e-12)


@pytest.mark.parametrize("axis", [1, None])
def test_chisquare_totals_beyond_rescale_with_counts_below_keep_scipys_bits(axis):
    # every count below 2**300 but each row's total above it: no square can overflow, so the
    # statistic is SciPy's own, bit for bit, on the batched and the 1-D path alike
    obs = np.random.default_rng(1).uniform(0.5, 1.0, (50, 8)) * 2.0**298
    rows = obs if axis == 1 else obs[:1]
    got = ab.chisquare(rows, axis=axis).statistic
    np.testing.assert_array_equal(got, st.chisquare(rows, axis=axis).statistic)
    assert ab.chisquare(obs[0]).statistic == st.chisquare(obs[0]).statistic


def test_srm_test_of_huge_counts_is_scipys_statistic_scaled():
    counts, weights = np.array([1e300, 9e299, 1.1e300]), np.array([1e300, 1.0e300, 1.2e300])
    got = ab.srm_test(counts, weights)
    want = st.chisquare(counts / BIG, (counts / BIG).sum() * weights / weights.sum())
    assert got.statistic == pytest.approx(want.statistic * BIG, rel=1e-12)
    assert got.mismatch and got.pvalue == 0.0
    np.testing.assert_allclose(got.expected, counts.sum() * (weights / weights.sum()), rtol=1e-14)


def _pearson_exact(table, correction):
    """Pearson's statistic (Yates' correction for 2x2) in exact rational arithmetic."""
    obs = [[Fraction(v) for v in row] for row in table]
    rows = [sum(r) for r in obs]
    cols = [sum(c) for c in zip(*obs)]
    total = sum(rows)
    stat = Fraction(0)
    for i, row in enumerate(obs):
        for j, o in enumerate(row):
            e = rows[i] * cols[j] / total
            diff = abs(o - e)
            if correction:
                diff -= min(Fraction(1, 2), diff)
            stat += diff * diff / e
    return float(stat)


@pytest.mark.parametrize("correction", [True, False])
def test_chi2_contingency_of_huge_counts_is_exact(correction):
    table = np.array([[1e300, 12.0], [9.0, 14.0]])
    got = ab.chi2_contingency(table, correction=correction)
    assert got.statistic == pytest.approx(_pearson_exact(table, correction), rel=1e-12)
    assert got.dof == 1 and got.pvalue == 0.0
    assert np.all(np.isfinite(got.expected_freq)) and got.expected_freq[1, 1] > 0


def test_chi2_contingency_larger_table_of_huge_counts_matches_scipy_scaled():
    table = np.array([[1e300, 2e299, 5e299], [3e299, 1e300, 4e299]])
    got = ab.chi2_contingency(table)
    want = st.chi2_contingency(table / BIG)
    assert got.statistic == pytest.approx(want.statistic * BIG, rel=1e-12)
    np.testing.assert_allclose(got.expected_freq, want.expected_freq * BIG, rtol=1e-14)


def test_a_statistic_beyond_float64_is_an_error_naming_the_argument():
    with pytest.raises(ValueError, match="chisquare.*f_obs.*float64"):
        ab.chisquare([1e308, 1.0], [1.0, 1e308], sum_check=False)  # (1e308 - 1)**2 / 1
    with pytest.raises(ValueError, match="srm_test.*counts.*float64"):
        ab.srm_test([1.7e308, 1.7e308, 1.0])  # 3.4e308 units
    with pytest.raises(ValueError, match="chi2_contingency.*observed.*float64"):
        ab.chi2_contingency([[1.7e308, 1.0], [1.7e308, 2.0]])
    assert ab.chisquare([1.7e308, 1.0]).statistic == pytest.approx(1.7e308, rel=1e-12)  # finite: no error


@pytest.mark.parametrize("shape", ["1-D", "2-D"])
def test_a_statistic_beyond_float64_of_moderate_counts_is_an_error_too(shape):
    # counts below the rescaling threshold whose statistic still overflows ((1e80)**2 / 1e-200):
    # the one-test path and the batched path raise as the rescaled path does, with no RuntimeWarning
    obs, exp = np.array([1e80, 1.0]), np.array([1e-200, 1e80])
    if shape == "2-D":
        obs, exp = np.stack([obs, obs[::-1]]), np.stack([exp, exp[::-1]])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="chisquare.*f_obs.*float64"):
            ab.chisquare(obs, exp, axis=-1, sum_check=False)


@pytest.mark.parametrize("nan_policy", ["omit", "propagate"])
def test_huge_expected_counts_beside_a_nan_are_rescaled(nan_policy):
    # a NaN elsewhere in f_exp (its pair left out, or its row NaN) must not hide a huge expected
    # count from the rescaling: row 0's statistic is the one of the same row alone
    obs = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    exp = np.array([[1e300, 1.0, 1.0], [2.0, np.nan, 2.0]])
    alone = ab.chisquare(obs[0], exp[0], sum_check=False).statistic
    assert alone == pytest.approx(1e300, rel=1e-12)
    got = ab.chisquare(obs, exp, axis=1, sum_check=False, nan_policy=nan_policy)
    assert got.statistic[0] == alone
    assert np.isnan(got.statistic[1]) if nan_policy == "propagate" else np.isfinite(got.statistic[1])


@pytest.mark.parametrize("method", ["bca", "percentile", "basic"])
def test_bootstrap_of_huge_values_is_the_scaled_bootstrap(method):
    rng = np.random.default_rng(3)
    data, control = rng.exponential(size=60), rng.exponential(size=50)
    small = ab.bootstrap(data, control, method=method, n_resamples=300, seed=4)
    big = ab.bootstrap(data * BIG, control * BIG, method=method, n_resamples=300, seed=4)
    assert big.estimate == small.estimate * BIG
    np.testing.assert_array_equal(big.bootstrap_distribution, small.bootstrap_distribution * BIG)
    np.testing.assert_allclose(big.confidence_interval, np.array(small.confidence_interval) * BIG, rtol=1e-12)
    assert big.standard_error == pytest.approx(small.standard_error * BIG, rel=1e-12)
    one = ab.bootstrap(data * BIG, method=method, n_resamples=300, seed=4)
    np.testing.assert_allclose(one.confidence_interval,
                               np.array(ab.bootstrap(data, method=method, n_resamples=300, seed=4).confidence_interval)
                               * BIG, rtol=1e-12)


def test_bootstrap_of_data_whose_sum_exceeds_float64_is_an_error_naming_the_argument():
    # Values near 1e307: each is finite but their sum (the mean's numerator) is not.
    data = np.random.default_rng(3).exponential(size=60) * 2.0**1020
    with pytest.raises(ValueError, match="bootstrap.*data.*float64"):
        ab.bootstrap(data, n_resamples=50, seed=4)
    with pytest.raises(ValueError, match="bootstrap.*control.*float64"):
        ab.bootstrap(data[:5] / 2.0**1000, data, n_resamples=50, seed=4)
    with pytest.raises(ValueError, match="bootstrap.*data's denominator.*float64"):
        ab.bootstrap({"y": data[:60] / 2.0**1000, "denominator": data}, statistic="ratio", n_resamples=50)
