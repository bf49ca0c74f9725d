"""mlsd.abtest's raw-sample tests against SciPy directly: the paired tests (ttest_rel, wilcoxon
with every zero_method / correction / method / alternative, ties and zeros), SciPy's calling
conventions (scalars, n-D with axis, nan_policy, keepdims, ±inf ranked, exact with ties), the
confidence_interval method and the zero-variance values."""

import itertools
import warnings

import numpy as np
import pytest
import scipy.stats as st

from mlsd import abtest as ab


def same(mine, ref, rtol=1e-10):
    np.testing.assert_allclose(np.asarray(mine, dtype=float), np.asarray(ref, dtype=float), rtol=rtol, atol=0,
                               equal_nan=True)


def _pair(n, kind, rng):
    x, y = rng.normal(size=n), rng.normal(size=n)
    if kind == "ties":
        x, y = np.round(x * 2) / 2, np.round(y * 2) / 2
    elif kind == "zeros":
        y = x.copy()
        y[::3] += np.round(rng.normal(size=len(y[::3])) * 2) / 2
    return x, y


@pytest.mark.parametrize("n", [1, 5, 12, 13, 14, 30, 60])
@pytest.mark.parametrize("kind", ["continuous", "ties", "zeros"])
def test_wilcoxon_matches_scipy_for_every_option(n, kind):
    x, y = _pair(n, kind, np.random.default_rng(n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # SciPy's own small-sample and tie warnings
        for zm, corr, alt, meth in itertools.product(["wilcox", "pratt", "zsplit"], [False, True],
                                                     ["two-sided", "less", "greater"], ["auto", "exact", "asymptotic"]):
            ref = st.wilcoxon(x, y, zero_method=zm, correction=corr, alternative=alt, method=meth)
            r = ab.wilcoxon(x, y, zero_method=zm, correction=corr, alternative=alt, method=meth)
            same([r.statistic, r.pvalue], [ref.statistic, ref.pvalue], 1e-9)
            if meth == "asymptotic":
                same(r.zstatistic, ref.zstatistic, 1e-9)
            stat, p = r  # unpacks as SciPy's
            assert (stat, p) == (r.statistic, r.pvalue)


def test_wilcoxon_one_sample_and_differences_agree():
    rng = np.random.default_rng(3)
    x, y = rng.normal(0.3, size=40), rng.normal(size=40)
    same(ab.wilcoxon(x - y).pvalue, ab.wilcoxon(x, y).pvalue, 1e-15)
    same(ab.wilcoxon(x - y).pvalue, st.wilcoxon(x - y).pvalue)


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
@pytest.mark.parametrize("n", [2, 3, 10, 500])
def test_ttest_rel_matches_scipy(alternative, n):
    rng = np.random.default_rng(n)
    a, b = rng.normal(size=n), rng.normal(0.2, size=n)
    ref = st.ttest_rel(a, b, alternative=alternative)
    r = ab.ttest_rel(a, b, alternative=alternative)
    same([r.statistic, r.pvalue, r.df], [ref.statistic, ref.pvalue, ref.df], 1e-11)
    for level in (0.9, 0.95):
        same(r.confidence_interval(confidence_level=level), ref.confidence_interval(confidence_level=level), 1e-11)


@pytest.mark.parametrize("axis", [0, 1, -1, None])
@pytest.mark.parametrize("nan_policy", ["propagate", "omit"])
@pytest.mark.parametrize("test", ["ttest_rel", "wilcoxon", "ttest_ind", "mannwhitneyu"])
def test_nd_axis_and_nan_policy_match_scipy(axis, nan_policy, test):
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(6, 9, 4)), rng.normal(0.4, size=(6, 9, 4))
    a[1, 2, 0] = np.nan
    b[3, 1, 2] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = getattr(st, test)(a, b, axis=axis, nan_policy=nan_policy)
        r = getattr(ab, test)(a, b, axis=axis, nan_policy=nan_policy)
    same(r.statistic, ref.statistic)
    same(r.pvalue, ref.pvalue)
    a, b = np.nan_to_num(a), np.nan_to_num(b)
    kept = getattr(ab, test)(a, b, axis=axis, keepdims=True)
    ref = getattr(st, test)(a, b, axis=axis, keepdims=True)
    assert np.shape(kept.pvalue) == np.shape(ref.pvalue)
    same(kept.pvalue, ref.pvalue)


@pytest.mark.parametrize("test", ["ttest_rel", "wilcoxon", "ttest_ind", "mannwhitneyu"])
def test_nan_policy_raise_and_default_propagate(test):
    a, b = np.array([1.0, np.nan, 3.0, 4.0]), np.array([2.0, 1.0, 5.0, 0.5])
    with pytest.raises(ValueError, match=f"{test}: a contains NaN|{test}: x contains NaN"):
        getattr(ab, test)(a, b, nan_policy="raise")
    r = getattr(ab, test)(a, b)
    assert np.isnan(r.statistic) and np.isnan(r.pvalue)
    ref = getattr(st, test)(a, b, nan_policy="omit")
    same(getattr(ab, test)(a, b, nan_policy="omit").pvalue, ref.pvalue)


def test_scalars_and_infinities_as_scipy():
    same(ab.ttest_ind(4.0, [2.0, 3.0]).pvalue, st.ttest_ind(4.0, [2.0, 3.0]).pvalue)
    x, y = np.array([np.inf, 1.0, 2.0, -np.inf, 5.0]), np.array([0.5, np.inf, 3.0, 4.0])
    for method in ("asymptotic", "exact"):
        ref = st.mannwhitneyu(x, y, method=method)
        r = ab.mannwhitneyu(x, y, method=method)
        same([r.statistic, r.pvalue], [ref.statistic, ref.pvalue], 1e-12)
    d = np.array([np.inf, -1.0, 2.0, 3.5, -np.inf, 4.0])
    same(ab.wilcoxon(d).pvalue, st.wilcoxon(d).pvalue)


def test_empty_samples_give_nan_with_scipys_warning_class():
    for call in (lambda: ab.ttest_ind([], [1.0, 2.0]), lambda: ab.mannwhitneyu([], [1.0]),
                 lambda: ab.ttest_rel([], []), lambda: ab.wilcoxon([])):
        with pytest.warns(st._axis_nan_policy.SmallSampleWarning):
            r = call()
        assert np.isnan(r.pvalue)


@pytest.mark.parametrize("test", ["ttest_ind", "ttest_rel"])
def test_constant_samples_give_infinite_t_as_scipy(test):
    with pytest.warns(ab.ZeroVarianceWarning):
        r = getattr(ab, test)([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = getattr(st, test)([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    assert r.statistic == ref.statistic == -np.inf and r.pvalue == ref.pvalue == 0.0


def test_ttest_ind_default_is_students_as_scipy():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=20), rng.normal(scale=3, size=35)
    same(ab.ttest_ind(a, b).pvalue, st.ttest_ind(a, b).pvalue, 1e-12)
    same(ab.ttest_ind(a, b).df, 53.0)


def test_confidence_interval_is_a_tuple_and_scipys_method():
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=30), rng.normal(size=25)
    r = ab.ttest_ind(a, b, alpha=0.1)
    ref = st.ttest_ind(a, b)
    lo, hi = r.confidence_interval  # mlsd's own: the 1 - alpha interval
    same((lo, hi), ref.confidence_interval(0.9), 1e-12)
    ci = r.confidence_interval(confidence_level=0.99)
    same((ci.low, ci.high), ref.confidence_interval(confidence_level=0.99), 1e-12)
    with pytest.raises(ValueError, match="confidence_level"):
        r.confidence_interval(1.5)


@pytest.mark.parametrize("equal_var", [True, False])
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_nan_propagated_problem_is_nan_everywhere(equal_var, alternative):
    # review: with nan_policy="propagate" a problem holding NaN must give NaN df (Welch's df was
    # 1.0) and NaN for both interval bounds (the one-sided interval kept its +-inf bound), as SciPy.
    x, y = [1.0, np.nan, 3.0, 4.0], [2.0, 3.0, 5.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = ab.ttest_ind(x, y, equal_var=equal_var, alternative=alternative)
        ref = st.ttest_ind(x, y, equal_var=equal_var, alternative=alternative)
    same(mine.df, ref.df)
    for level in (0.95, 0.8):
        same(tuple(mine.confidence_interval(confidence_level=level)),
             tuple(ref.confidence_interval(confidence_level=level)))
    same(tuple(mine.confidence_interval), (np.nan, np.nan))


@pytest.mark.parametrize("alternative", ["less", "greater"])
def test_nan_propagated_paired_problem_interval_is_nan(alternative):
    a, b = np.array([1.0, np.nan, 3.0, 4.0]), np.array([2.0, 3.0, 5.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = ab.ttest_rel(a, b, alternative=alternative)
        ref = st.ttest_rel(a, b, alternative=alternative)
    same(tuple(mine.confidence_interval(confidence_level=0.9)), tuple(ref.confidence_interval(confidence_level=0.9)))


# ---- chisquare sum_check, chi2_contingency of a 1-D table (as SciPy) ----------------------------
@pytest.mark.parametrize("ddof", [0, 1])
def test_chisquare_sum_check_false_matches_scipy(ddof):
    from scipy import stats as sps

    obs, exp = [10, 12, 30, 7], [10, 12, 29, 7.5]
    with pytest.raises(ValueError, match="chisquare: f_obs and f_exp must have the same total"):
        ab.chisquare(obs, exp, ddof)
    res = ab.chisquare(obs, exp, ddof, sum_check=False)
    ref = sps.chisquare(obs, exp, ddof, sum_check=False)
    np.testing.assert_allclose(tuple(res), tuple(ref), rtol=1e-12)
    assert res.dof == 3 - ddof


@pytest.mark.parametrize("table", [[1, 2, 3], [5.0, 7.0], [4]])
def test_chi2_contingency_one_dimensional_as_scipy(table):
    from scipy import stats as sps

    res, ref = ab.chi2_contingency(table), sps.chi2_contingency(table)
    assert (res.statistic, res.pvalue, res.dof) == (ref.statistic, ref.pvalue, ref.dof)
    np.testing.assert_array_equal(res.expected_freq, ref.expected_freq)
    with pytest.raises(ValueError, match="chi2_contingency: observed has a zero count"):
        ab.chi2_contingency([1, 0, 2])
    with pytest.raises(ValueError):
        sps.chi2_contingency([1, 0, 2])
