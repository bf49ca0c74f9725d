"""Every mlsd.abtest function rejects bad input with a ValueError/TypeError naming the function and
the argument (table-driven), or returns the documented NaN result."""

import numpy as np
import pytest

from mlsd import abtest as ab
from mlsd._validation import InvalidParameterError

A = np.array([1.0, 2.0, 4.0, 7.0])
B = np.array([2.0, 3.0, 3.5, 9.0, 1.0])
NAN = np.array([1.0, np.nan, 3.0])
INF = np.array([1.0, 2.0, np.inf])

CASES = [
    # (description, call, exception, message fragment)
    # raw samples follow SciPy (NaN propagates, scalars and n-D are accepted: test_abtest_scipy_conventions.py)
    ("t: one observation Stats", lambda: ab.ttest_ind(ab.Stats.from_arrays([1.0]), B), ValueError,
     "ttest_ind: a needs at least two observations"),
    ("t: NaN raise", lambda: ab.ttest_ind(A, NAN, nan_policy="raise"), ValueError, "ttest_ind: b contains NaN"),
    ("t: shapes", lambda: ab.ttest_ind(np.ones((2, 2)), B), ValueError, "ttest_ind: a and b must have compatible shapes"),
    ("t: axis", lambda: ab.ttest_ind(A, B, axis=1), ValueError, "ttest_ind: axis 1 is out of bounds"),
    ("t: nan_policy", lambda: ab.ttest_ind(A, B, nan_policy="skip"), InvalidParameterError,
     "'nan_policy' parameter of ttest_ind"),
    ("t: strings", lambda: ab.ttest_ind(["a", "b"], B), TypeError, "The 'a' parameter of ttest_ind must be"),
    ("t: None", lambda: ab.ttest_ind(None, B), TypeError, "The 'a' parameter of ttest_ind must be"),
    ("t: equal_var", lambda: ab.ttest_ind(A, B, equal_var="yes"), InvalidParameterError, "'equal_var' parameter of ttest_ind"),
    ("t: alternative", lambda: ab.ttest_ind(A, B, alternative="bigger"), InvalidParameterError, "'alternative' parameter of ttest_ind"),
    ("compare: one observation", lambda: ab.compare(A, [3.0]), ValueError, "compare: control needs at least two observations"),
    ("compare: NaN", lambda: ab.compare(NAN, A), ValueError, "compare: treatment must be finite"),
    ("compare: length mismatch", lambda: ab.compare({"y": A, "covariate": A[:3]}, {"y": A, "covariate": A}),
     ValueError, "compare: treatment: covariate has 3 elements but y has 4"),
    ("compare: NaN covariate", lambda: ab.compare({"y": A, "covariate": np.r_[A[:3], np.nan]}, {"y": A, "covariate": A}),
     ValueError, "covariate must be finite; found nan at index 3"),
    ("compare: columns differ", lambda: ab.compare({"y": A, "covariate": A}, A), ValueError, "treatment has columns"),
    ("compare: unknown role", lambda: ab.compare({"y": A, "pre": A}, A), ValueError, "unknown column role"),
    ("compare: cuped without covariate", lambda: ab.compare(A, B, cuped=True), ValueError, "cuped=True needs a 'covariate'"),
    ("compare: constant covariate", lambda: ab.compare({"y": A, "covariate": np.ones(4)}, {"y": B, "covariate": np.ones(5)}),
     ValueError, "covariate is constant"),
    ("compare: zero denominator", lambda: ab.compare({"y": A, "denominator": np.zeros(4)}, {"y": A, "denominator": np.ones(4)}),
     ValueError, "mean of denominator is zero"),
    ("compare: test", lambda: ab.compare(A, B, test="wilcoxon"), InvalidParameterError, "'test' parameter of compare"),
    ("prop: negative count", lambda: ab.proportions_ztest((-1, 10), (3, 10)), ValueError, "successes must be >= 0"),
    ("prop: successes > trials", lambda: ab.proportions_ztest((11, 10), (3, 10)), ValueError, "successes must be <= trials"),
    ("prop: fractional count", lambda: ab.proportions_ztest((1.5, 10), (3, 10)), ValueError, "whole counts"),
    ("prop: NaN count", lambda: ab.proportions_ztest((np.nan, 10), (3, 10)), ValueError, "successes must be finite"),
    ("prop: no trials", lambda: ab.proportions_ztest((0, 0), (3, 10)), ValueError, "proportions_ztest: a has no trials"),
    ("prop: non-binary Stats", lambda: ab.proportions_ztest(ab.Stats.from_arrays(A), (3, 10)), ValueError,
     "a does not summarise a 0/1 metric"),
    ("t: ratio Stats", lambda: ab.ttest_ind({"y": A, "denominator": A}, {"y": A, "denominator": A}), ValueError,
     "a is a ratio metric"),
    ("prop: non-binary", lambda: ab.proportions_ztest([0, 1, 2], [0, 1]), ValueError, "a must contain only 0 and 1; found 2 at index 2"),
    ("mwu: NaN raise", lambda: ab.mannwhitneyu(A, NAN, nan_policy="raise"), ValueError, "mannwhitneyu: y contains NaN"),
    ("mwu: shapes", lambda: ab.mannwhitneyu(np.ones((2, 3)), np.ones((3, 4))), ValueError,
     "mannwhitneyu: x and y must have compatible shapes"),
    ("mwu: method", lambda: ab.mannwhitneyu(A, B, method="perm"), InvalidParameterError, "'method' parameter of mannwhitneyu"),
    ("chisquare: negative", lambda: ab.chisquare([3, -1, 2]), ValueError, "chisquare: f_obs must be >= 0"),
    # (a NaN count follows nan_policy, as in SciPy: test_abtest_chisquare_nan_policy.py)
    ("chisquare: inf", lambda: ab.chisquare([3, np.inf, 2]), ValueError, "chisquare: f_obs must be finite"),
    ("chisquare: NaN raise", lambda: ab.chisquare([3, np.nan, 2], nan_policy="raise"), ValueError,
     "chisquare: f_obs contains NaN"),
    ("chisquare: totals", lambda: ab.chisquare([3, 1, 2], [1, 1, 1]), ValueError, "same total"),
    ("chisquare: lengths", lambda: ab.chisquare([3, 1, 2], [3, 3]), ValueError,
     "f_exp of shape (2,) does not broadcast against f_obs of shape (3,)"),
    ("chisquare: zero total", lambda: ab.chisquare([[0, 1], [0, 2]]), ValueError, "f_obs sums to zero"),
    ("contingency: zero row", lambda: ab.chi2_contingency([[0, 0], [1, 2]]), ValueError, "zero margin"),
    ("contingency: 3-D zero slice", lambda: ab.chi2_contingency([[[1, 2]], [[0, 0]]]), ValueError, "zero margin"),
    ("contingency: scalar", lambda: ab.chi2_contingency(5), ValueError, "observed must be a table"),
    ("srm: negative", lambda: ab.srm_test([100, -3]), ValueError, "srm_test: counts must be >= 0"),
    ("srm: weights length", lambda: ab.srm_test([100, 90], weights=[1, 1, 1]), ValueError, "weights has 3 elements but counts has 2"),
    ("srm: zero weight", lambda: ab.srm_test([100, 90], weights=[1, 0]), ValueError, "weights must be finite and > 0"),
    ("srm: one variant", lambda: ab.srm_test([100]), ValueError, "at least two variants"),
    ("multipletests: NaN", lambda: ab.multipletests([0.1, np.nan]), ValueError, "pvals must be within [0, 1]; found nan"),
    ("multipletests: > 1", lambda: ab.multipletests([0.1, 1.5]), ValueError, "pvals must be within [0, 1]"),
    ("multipletests: method", lambda: ab.multipletests([0.1], method="fdr_tsbh"), InvalidParameterError, "'method' parameter"),
    ("power: nobs", lambda: ab.power(0.2, 0.5), InvalidParameterError, "'nobs1' parameter of power"),
    ("solve_power: two unknowns", lambda: ab.solve_power(effect_size=0.2), InvalidParameterError, "exactly one of"),
    ("solve_power: power below alpha", lambda: ab.solve_power(effect_size=0.2, power=0.01), InvalidParameterError,
     "'power' parameter of solve_power must be a float in the range (0.05, 1.0)"),
    ("solve_power: zero effect", lambda: ab.solve_power(effect_size=0.0, power=0.8), ValueError, "effect_size must be non-zero"),
    ("sample size: p outside", lambda: ab.sample_size_proportions(1.2, 0.01), InvalidParameterError, "'p_control' parameter"),
    ("sample size: target outside", lambda: ab.sample_size_proportions(0.99, 0.05), ValueError, "must be in (0, 1)"),
    ("Stats: covariate_denominator alone", lambda: ab.Stats.from_arrays(A, covariate_denominator=A), ValueError, "needs a covariate"),
    ("Stats: merge columns", lambda: ab.Stats.from_arrays(A) + ab.Stats.from_arrays(A, covariate=A), ValueError, "cannot merge"),
    ("Stats: negative n", lambda: ab.Stats(-1, [0.0], [[0.0]]), ValueError, "n must hold non-negative integer counts"),
    ("Stats: bad shapes", lambda: ab.Stats(3, [0.0, 1.0], [[0.0]]), ValueError, "mean must have shape"),
    ("Stats: from_dict", lambda: ab.Stats.from_dict({"n": 3}), ValueError, "missing key"),
    ("Stats: summary std", lambda: ab.Stats.from_summary(10, 1.0, -1.0), ValueError, "std must be >= 0"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_rejected_with_a_clear_message(case):
    _, call, exc, fragment = case
    with pytest.raises(exc) as info:
        call()
    assert fragment in str(info.value)


ALPHA_CALLS = {
    "ttest_ind": lambda alpha: ab.ttest_ind(A, B, alpha=alpha),
    "compare": lambda alpha: ab.compare(A, B, alpha=alpha),
    "proportions_ztest": lambda alpha: ab.proportions_ztest((3, 10), (4, 10), alpha=alpha),
    "power": lambda alpha: ab.power(0.2, 100, alpha=alpha),
    "solve_power": lambda alpha: ab.solve_power(effect_size=0.2, power=0.8, alpha=alpha),
    "sample_size_proportions": lambda alpha: ab.sample_size_proportions(0.1, 0.01, alpha=alpha),
    "multipletests": lambda alpha: ab.multipletests([0.01, 0.2], alpha=alpha),
}


@pytest.mark.parametrize("name", list(ALPHA_CALLS))
@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, np.nan, "0.05", True, None])
def test_alpha_outside_open_unit_interval(name, alpha):
    if name == "solve_power" and alpha is None:
        # alpha=None asks solve_power for alpha (statsmodels); here nobs1 is unknown too
        with pytest.raises(InvalidParameterError, match="exactly one of effect_size, nobs1, power, alpha and ratio"):
            ALPHA_CALLS[name](alpha)
        return
    with pytest.raises(InvalidParameterError, match=r"The 'alpha' parameter of \w+ must be (None or )?a float in the range \(0.0, 1.0\)"):
        ALPHA_CALLS[name](alpha)


def test_zero_variance_is_documented_nan():
    with pytest.warns(ab.ZeroVarianceWarning):
        r = ab.compare([2.0, 2.0], [2.0, 2.0, 2.0])
    assert np.isnan(r.pvalue) and r.estimate == 0.0
