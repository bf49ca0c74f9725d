"""Conventions added so that SciPy's and statsmodels' own test suites run on mlsd.abtest (issue 18,
tests/peer_suites), each checked against the peer directly: chisquare along an axis of n-D counts,
n-way chi2_contingency, ttest_ind's trim, float32 results, SciPy's warning texts, wilcoxon's
``mode``/"approx" and its zstatistic attribute, solve_power for ratio and one-sided powers below
alpha."""

import warnings

import numpy as np
import pytest
import scipy.stats as st
from scipy.stats._axis_nan_policy import SmallSampleWarning as ScipySmallSampleWarning
from scipy.stats._axis_nan_policy import too_small_1d_not_omit, too_small_nd_not_omit, too_small_nd_omit
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from mlsd import abtest as ab


def same(mine, ref, rtol=1e-12):
    np.testing.assert_allclose(np.asarray(mine, dtype=float), np.asarray(ref, dtype=float), rtol=rtol, atol=0,
                               equal_nan=True)


# ---- chisquare: axis, n-D counts, broadcast f_exp and ddof --------------------------------------
@pytest.mark.parametrize("axis", [0, 1, 2, -1, None])
@pytest.mark.parametrize("with_exp", [False, True])
def test_chisquare_along_axis_matches_scipy(axis, with_exp):
    rng = np.random.default_rng(3)
    obs = rng.integers(1, 40, size=(4, 5, 3)).astype(float)
    exp = None
    if with_exp:
        exp = rng.uniform(1, 3, size=obs.shape)
        ax = tuple(range(3)) if axis is None else axis
        exp = exp / exp.sum(axis=ax, keepdims=True) * obs.sum(axis=ax, keepdims=True)
    res, ref = ab.chisquare(obs, exp, axis=axis), st.chisquare(obs, exp, axis=axis)
    assert np.shape(res.statistic) == np.shape(ref.statistic)
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue)


def test_chisquare_broadcasts_f_exp_and_ddof_as_scipy():
    obs = np.array([[4.0, 8, 12, 8], [10, 12, 6, 4]]).T  # 4 categories x 2 sets
    for f_exp, ddof in ((8.0, 0), (np.array([[8.0, 8.0]]), 1), (None, np.array([[0], [1]])), (None, -1)):
        if f_exp is not None and np.ndim(f_exp) == 0:
            res, ref = ab.chisquare(obs[:, 0], f_exp, ddof), st.chisquare(obs[:, 0], f_exp, ddof)
        else:
            res, ref = ab.chisquare(obs, f_exp, ddof), st.chisquare(obs, f_exp, ddof)
        same(res.statistic, ref.statistic)
        same(res.pvalue, ref.pvalue)
        assert np.shape(res.pvalue) == np.shape(ref.pvalue)


def test_chisquare_empty_and_float32_as_scipy():
    for obs in ([], np.zeros((0, 3)), np.zeros((3, 0))):
        res, ref = ab.chisquare(obs), st.chisquare(obs)
        same(res.statistic, ref.statistic)
        same(res.pvalue, ref.pvalue)
    obs32 = np.array([4, 8, 12, 8], dtype=np.float32)
    res, ref = ab.chisquare(obs32), st.chisquare(obs32)
    assert res.statistic.dtype == ref.statistic.dtype == np.float32
    same(res.pvalue, ref.pvalue, rtol=1e-6)


@pytest.mark.parametrize("ddof", [1, np.int64(1), np.array(1), [0, 1], np.array([0, 1], dtype=np.int8),
                                  np.array([0, 1], dtype=np.int32)])
@pytest.mark.parametrize("exp_dtype", [None, np.float32, np.float64])
def test_chisquare_float32_result_dtype_promotes_ddof_as_scipy(ddof, exp_dtype):
    # SciPy promotes f_obs, f_exp and ddof together: an int64 ddof array makes float32 counts float64
    obs32 = np.array([4, 8, 12, 8], dtype=np.float32)
    f_exp = None if exp_dtype is None else np.full(4, 8, dtype=exp_dtype)
    res, ref = ab.chisquare(obs32, f_exp, ddof), st.chisquare(obs32, f_exp, ddof)
    assert np.asarray(res.statistic).dtype == np.asarray(ref.statistic).dtype
    assert np.asarray(res.pvalue).dtype == np.asarray(ref.pvalue).dtype
    same(res.pvalue, ref.pvalue, rtol=1e-6)


def test_chisquare_ddof_that_does_not_broadcast_names_it():
    with pytest.raises(ValueError, match=r"chisquare: ddof of shape \(2,\) does not broadcast"):
        ab.chisquare(np.ones((3, 4)), ddof=np.array([0, 1]))


@pytest.mark.parametrize("with_exp", [False, True])
def test_chisquare_one_test_equals_the_batched_path_bit_for_bit(with_exp):
    # the 1-D call skips the n-D plumbing; its numbers are the batched ones exactly
    rng = np.random.default_rng(5)
    # (rows contiguous: NumPy sums a strided axis in another order, a last-bit difference)
    obs = rng.integers(1, 1000, size=(3, 37)).astype(float)
    exp = obs.sum(axis=1, keepdims=True) * rng.dirichlet(np.ones(37), size=3) if with_exp else None
    batched = ab.chisquare(obs, exp, axis=1)
    for j in range(3):
        one = ab.chisquare(obs[j], None if exp is None else exp[j])
        assert one.statistic == batched.statistic[j] and one.pvalue == batched.pvalue[j]
        same(one.statistic, st.chisquare(obs[j], None if exp is None else exp[j]).statistic)


def test_chisquare_sum_check_per_slice_quotes_scipy():
    obs = np.array([[10.0, 20.0], [30.0, 20.0]])
    with pytest.raises(ValueError, match="For each axis slice"):
        ab.chisquare(obs, f_exp=np.array([[5.0, 15.0], [35.0, 25.0]]), axis=1)
    res, ref = ab.chisquare(obs, f_exp=np.array([[5.0, 15.0], [35.0, 25.0]])), \
        st.chisquare(obs, f_exp=np.array([[5.0, 15.0], [35.0, 25.0]]))
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue)


# ---- chi2_contingency of n-way tables ------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 4, 3), (2, 2, 2), (3, 2, 2, 2)])
@pytest.mark.parametrize("correction", [True, False])
def test_chi2_contingency_n_way_matches_scipy(shape, correction):
    table = np.random.default_rng(sum(shape)).integers(1, 30, size=shape)
    res, ref = ab.chi2_contingency(table, correction), st.chi2_contingency(table, correction)
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue)
    assert res.dof == ref.dof
    same(res.expected_freq, ref.expected_freq)


# ---- ttest_ind(trim=...): Yuen's trimmed t-test ------------------------------------------------------
@pytest.mark.parametrize("trim", [0.1, 0.2, 0.3, 0.45])
@pytest.mark.parametrize("equal_var", [True, False])
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_ttest_ind_trim_matches_scipy(trim, equal_var, alternative):
    rng = np.random.default_rng(int(trim * 100))
    a, b = rng.standard_t(3, size=23), rng.standard_t(3, size=17) + 0.4
    res = ab.ttest_ind(a, b, trim=trim, equal_var=equal_var, alternative=alternative)
    ref = st.ttest_ind(a, b, trim=trim, equal_var=equal_var, alternative=alternative)
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue)
    same(res.df, ref.df)
    ci, ref_ci = res.confidence_interval(0.9), ref.confidence_interval(0.9)
    same(ci.low, ref_ci.low)
    same(ci.high, ref_ci.high)


def test_ttest_ind_trim_nd_and_nan_omit_match_scipy():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(3, 20, 2)), rng.normal(size=(3, 15, 2))
    a[0, 3, 1] = np.nan
    for policy in ("propagate", "omit"):
        res = ab.ttest_ind(a, b, axis=1, trim=0.2, nan_policy=policy)
        ref = st.ttest_ind(a, b, axis=1, trim=0.2, nan_policy=policy)
        same(res.statistic, ref.statistic)
        same(res.pvalue, ref.pvalue)


def test_ttest_ind_trim_needs_raw_samples():
    s = ab.Stats.from_arrays(np.arange(10.0))
    with pytest.raises(ValueError, match="ttest_ind: trim needs raw samples"):
        ab.ttest_ind(s, s, trim=0.2)


# ---- float32 in, float32 out; SciPy's warning texts ------------------------------------------------
@pytest.mark.parametrize("name", ["ttest_ind", "ttest_rel", "mannwhitneyu", "wilcoxon"])
def test_float32_samples_give_float32_results_as_scipy(name):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=12).astype(np.float32), rng.normal(size=12).astype(np.float32)
    res, ref = getattr(ab, name)(x, y), getattr(st, name)(x, y)
    assert res.statistic.dtype == ref.statistic.dtype == np.float32
    assert res.pvalue.dtype == ref.pvalue.dtype == np.float32
    same(res.pvalue, ref.pvalue, rtol=1e-6)
    res64 = getattr(ab, name)(x.astype(np.float64), y)
    assert isinstance(res64.pvalue, float)


def test_small_sample_warning_is_filtered_by_scipys_message():
    cases = [(lambda: ab.ttest_ind([], [1.0, 2.0]), too_small_1d_not_omit),
             (lambda: ab.ttest_rel(np.empty((3, 0)), np.empty((3, 0)), axis=-1), too_small_nd_not_omit),
             (lambda: ab.mannwhitneyu(np.array([[np.nan, np.nan], [1.0, 2.0]]), np.ones((2, 2)), axis=1,
                                      nan_policy="omit"), too_small_nd_omit)]
    for call, text in cases:
        with pytest.warns(ScipySmallSampleWarning, match=text):
            call()
        with warnings.catch_warnings():  # SciPy users' filter (message matched from its start) catches mlsd's
            warnings.simplefilter("error")
            warnings.filterwarnings("ignore", text, ScipySmallSampleWarning)
            call()


def test_zero_variance_warns_where_scipy_does():
    with pytest.warns(ab.ZeroVarianceWarning, match="Precision loss occurred"):
        r = ab.ttest_rel([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    with pytest.warns(RuntimeWarning, match="Precision loss occurred"):
        ref = st.ttest_rel([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    assert (r.statistic, r.pvalue) == (ref.statistic, ref.pvalue)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # all-zero samples: NaN without a warning, as SciPy
        for f in (ab.ttest_rel, ab.ttest_ind):
            r = f([0.0, 0.0, 0.0], [0.0, 0.0, 0.0])
            assert np.isnan(r.statistic) and np.isnan(r.pvalue)


# ---- wilcoxon: SciPy's older spellings, zstatistic only when asymptotic ----------------------------
def test_wilcoxon_mode_and_method_together_raise_as_scipy():
    x = np.array([1.5, -2, 3.1, 4, -0.5, 6, 7.2, 8, 9.1, -10, 11, 12.5])
    with pytest.raises(TypeError):
        st.wilcoxon(x, method="exact", mode="approx")
    with pytest.raises(TypeError, match="wilcoxon: got both method='exact' and mode='approx'"):
        ab.wilcoxon(x, method="exact", mode="approx")


def test_wilcoxon_mode_and_approx_are_scipys_aliases():
    x = np.array([3, 5, 23, 7, 243, 58, 98, 2, 8, -3, 9, 11])
    y = np.array([2, -2, 1, 23, 0, 5, 12, 18, 99, 12, 17, 27])
    ref = st.wilcoxon(x, y, method="asymptotic")
    for kw in ({"method": "approx"}, {"mode": "approx"}, {"mode": "asymptotic"}):
        res = ab.wilcoxon(x, y, **kw)
        assert (res.statistic, res.pvalue) == (ab.wilcoxon(x, y, method="asymptotic").statistic,
                                               ab.wilcoxon(x, y, method="asymptotic").pvalue)
        same(res.pvalue, ref.pvalue)
    assert hasattr(ab.wilcoxon(x, y, method="asymptotic"), "zstatistic")
    assert not hasattr(ab.wilcoxon(x, y), "zstatistic") and not hasattr(ab.wilcoxon(x, y, method="exact"),
                                                                        "zstatistic")


# ---- solve_power: ratio, and one-sided powers below alpha -------------------------------------------
@pytest.mark.parametrize("cls, test", [(NormalIndPower, "z"), (TTestIndPower, "t")])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_solve_power_for_ratio_matches_statsmodels(cls, test, alternative):
    sm_alt = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}[alternative]
    es = -0.3 if alternative == "less" else 0.3
    pw = cls().power(es, 80, 0.05, ratio=1.7, alternative=sm_alt)
    r = ab.solve_power(effect_size=es, nobs1=80, power=pw, ratio=None, alternative=alternative, test=test)
    assert r == pytest.approx(1.7, rel=1e-8)
    ref = cls().solve_power(es, nobs1=80, alpha=0.05, power=pw, ratio=None, alternative=sm_alt)
    assert r == pytest.approx(ref, rel=1e-3)  # statsmodels' root finder stops near 1e-3


@pytest.mark.parametrize("cls, test", [(NormalIndPower, "z"), (TTestIndPower, "t")])
def test_one_sided_power_below_alpha_is_an_effect_on_the_other_side(cls, test):
    pw = cls().power(0.01, 80, 0.05, alternative="smaller")  # below alpha
    es = ab.solve_power(nobs1=80, power=pw, alternative="less", test=test)
    assert es == pytest.approx(0.01, rel=1e-8)
    n = ab.solve_power(effect_size=0.01, power=pw, alternative="less", test=test)
    assert n == pytest.approx(80, rel=1e-8)
    with pytest.raises(ValueError, match="No solution exists"):
        ab.solve_power(effect_size=0.5, power=0.8, alternative="less", test=test)
    with pytest.raises(ValueError, match="No solution exists"):
        ab.solve_power(effect_size=0.5, nobs1=10, power=0.8, ratio=None, alternative="less", test=test)
