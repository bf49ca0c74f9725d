"""chisquare's nan_policy, keepdims and float ddof, checked against scipy.stats.chisquare itself
(SciPy's _axis_nan_policy rules: NaN propagates to its slice, "omit" leaves the NaN categories
out, paired with f_exp, "raise" raises)."""

import warnings

import numpy as np
import pytest
import scipy.stats as st

from mlsd import abtest as ab

NAN = np.nan


def same(mine, ref, rtol=1e-12):
    assert np.shape(mine) == np.shape(ref)
    np.testing.assert_allclose(np.asarray(mine, dtype=float), np.asarray(ref, dtype=float), rtol=rtol, atol=0,
                               equal_nan=True)


def both(*args, **kwargs):
    """mlsd's and SciPy's results; SciPy's NaN arithmetic warnings are its own business."""
    res = ab.chisquare(*args, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = st.chisquare(*args, **kwargs)
    return res, ref


def _with_nan(shape, seed, share=0.2):
    rng = np.random.default_rng(seed)
    obs = rng.integers(1, 40, size=shape).astype(float)
    obs[rng.random(shape) < share] = NAN
    return obs


@pytest.mark.parametrize("nan_policy", ["propagate", "omit"])
@pytest.mark.parametrize("axis", [0, 1, -1, None])
@pytest.mark.parametrize("seed", range(4))
def test_nan_counts_follow_nan_policy_as_scipy(nan_policy, axis, seed):
    obs = _with_nan((6, 5), seed)
    res, ref = both(obs, axis=axis, nan_policy=nan_policy)
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue)
    if nan_policy == "propagate" and axis is not None:  # every slice with a NaN, and only those, is NaN
        has_nan = np.isnan(obs).any(axis=axis)
        assert np.array_equal(np.isnan(res.statistic), has_nan)


@pytest.mark.parametrize("nan_policy", ["propagate", "omit"])
def test_one_dimensional_nan_as_scipy(nan_policy):
    obs = np.array([10.0, NAN, 12, 9, 14])
    res, ref = both(obs, nan_policy=nan_policy)
    assert isinstance(res.statistic, float) and isinstance(res.pvalue, float)
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue)
    if nan_policy == "omit":  # four categories are left, so three degrees of freedom
        assert res.dof == 3
        same(res.statistic, st.chisquare(obs[~np.isnan(obs)]).statistic)


def test_omit_leaves_out_the_pair_when_either_count_is_nan():
    obs = np.array([[10.0, 20, NAN, 30], [5, NAN, 15, 20]])
    exp = np.array([[12.0, NAN, 9, 29], [6, 8, 14, 20]])
    # the totals of what is left agree in each row: row 0 keeps categories 0 and 3, row 1 keeps 0, 2, 3
    exp[0, [0, 3]] *= 40.0 / exp[0, [0, 3]].sum()
    exp[1, [0, 2, 3]] *= 40.0 / exp[1, [0, 2, 3]].sum()
    res, ref = both(obs, exp, axis=1, nan_policy="omit")
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue)
    assert res.dof.tolist() == [1, 2]
    # and the sum check sees only what is left, as SciPy's
    with pytest.raises(ValueError, match="For each axis slice"):
        ab.chisquare(obs, exp * 1.5, axis=1, nan_policy="omit")
    with pytest.raises(ValueError, match="For each axis slice"):
        st.chisquare(obs, exp * 1.5, axis=1, nan_policy="omit")


def test_propagate_with_nan_in_f_exp_as_scipy():
    obs = np.array([[10.0, 20, 30], [5, 15, 20]])
    exp = np.array([[NAN, 20, 30], [6, 14, 20]])
    for sum_check in (True, False):
        res, ref = both(obs, exp, axis=1, sum_check=sum_check)
        same(res.statistic, ref.statistic)
        same(res.pvalue, ref.pvalue)
    assert np.isnan(res.statistic[0]) and not np.isnan(res.statistic[1])


def test_every_count_omitted_gives_statistic_zero_and_nan_p_as_scipy():
    for obs in ([NAN, NAN, NAN], [NAN, 3.0, NAN]):
        res, ref = both(obs, nan_policy="omit")
        same(res.statistic, ref.statistic)
        same(res.pvalue, ref.pvalue)
    obs = np.array([[NAN, 1.0], [NAN, 2.0], [NAN, 4.0]])
    res, ref = both(obs, nan_policy="omit")
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue)


def test_raise_raises_with_scipys_words():
    for call in (lambda f: f([3.0, NAN, 2.0], nan_policy="raise"),
                 lambda f: f([3.0, 1.0, 2.0], [2.0, NAN, 4.0], nan_policy="raise"),
                 lambda f: f(np.array([[3.0, NAN], [1.0, 2.0]]), nan_policy="raise", axis=1)):
        with pytest.raises(ValueError, match="The input contains nan values"):
            call(st.chisquare)
        with pytest.raises(ValueError, match="The input contains nan values") as info:
            call(ab.chisquare)
        assert "chisquare: f_" in str(info.value)
    # without NaN, "raise" changes nothing
    res, ref = both([3.0, 1.0, 2.0], nan_policy="raise")
    same(res.pvalue, ref.pvalue)


def test_inf_and_negative_counts_still_raise():
    for policy in ("propagate", "omit"):
        with pytest.raises(ValueError, match="chisquare: f_obs must be finite"):
            ab.chisquare([3.0, np.inf, NAN], nan_policy=policy)
        with pytest.raises(ValueError, match="chisquare: f_obs must be >= 0"):
            ab.chisquare([3.0, -1.0, NAN], nan_policy=policy)


@pytest.mark.parametrize("axis", [0, 1, -1, None])
@pytest.mark.parametrize("nan_policy", ["propagate", "omit"])
def test_keepdims_as_scipy(axis, nan_policy):
    obs = _with_nan((4, 3), 7, share=0.1)
    res, ref = both(obs, axis=axis, keepdims=True, nan_policy=nan_policy)
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue)
    res, ref = both(obs[0], keepdims=True, nan_policy=nan_policy)  # 1-D: arrays of shape (1,)
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue)
    res, ref = both(np.ones((2, 3, 4)), axis=axis, keepdims=True)
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue)


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (5,)])
@pytest.mark.parametrize("axis", [0, 1, -1, None])
@pytest.mark.parametrize("ddof", [[0, 1], [[0], [1]], [0, 1, 2], [0.5, 1, 2, 0], np.zeros((3, 1)), [[0, 1, 2, 0]],
                                  np.zeros((2, 1, 1))])
def test_keepdims_with_an_array_ddof_as_scipy(shape, axis, ddof):
    """SciPy pairs an array ddof with the reduced statistics, then puts the reduced axes back into
    the p-values (np.expand_dims at `axis`): shapes such as (1, 2, 4) or (1, 1, 2) -- or an error
    where the reduced statistics and ddof do not broadcast."""
    obs = np.random.default_rng(1).integers(1, 30, shape).astype(float)
    if axis is not None and not -len(shape) <= axis < len(shape):
        with pytest.raises(np.exceptions.AxisError, match="chisquare"):
            ab.chisquare(obs, ddof=ddof, axis=axis, keepdims=True)
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = st.chisquare(obs, ddof=np.asarray(ddof), axis=axis, keepdims=True)
    except ValueError:
        with pytest.raises(ValueError, match="chisquare: ddof of shape"):
            ab.chisquare(obs, ddof=ddof, axis=axis, keepdims=True)
        return
    res = ab.chisquare(obs, ddof=ddof, axis=axis, keepdims=True)
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue)
    assert np.shape(res.dof) == np.shape(ref.pvalue)


@pytest.mark.parametrize("obs_shape, exp_shape", [((), None), ((), ()), ((), (1,)), ((6,), (2, 3)), ((6,), (1, 2, 3)),
                                                  ((2, 3), (6,)), ((1,), (1, 1))])
@pytest.mark.parametrize("ddof", [[0, 1], [[0], [1]], np.zeros((2, 1, 1))])
def test_keepdims_with_an_array_ddof_and_axis_none_puts_back_every_axis_of_both_samples(obs_shape, exp_shape, ddof):
    """With axis=None SciPy reduces every axis of the sample of the most dimensions (f_exp may have
    more than f_obs; a number counts as one axis) and puts them all back into the p-values."""
    rng = np.random.default_rng(2)
    obs = rng.integers(1, 30, obs_shape).astype(float)
    exp = None
    if exp_shape is not None:
        exp = rng.integers(1, 30, exp_shape).astype(float)
        exp *= obs.sum() / exp.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = st.chisquare(obs, exp, ddof=np.asarray(ddof), axis=None, keepdims=True)
        res = ab.chisquare(obs, exp, ddof=ddof, axis=None, keepdims=True)
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue)
    assert np.shape(res.dof) == np.shape(ref.pvalue)


@pytest.mark.parametrize("shape, axis, ddof", [((3, 4), 0, [0, 1]), ((3, 4), 1, [[0, 1], [1, 2]]),
                                               ((2, 3, 4), -1, np.zeros((4, 1))), ((3, 4), 0, [])])
@pytest.mark.parametrize("keepdims", [False, True])
def test_ddof_that_does_not_broadcast_ends_with_scipys_words(shape, axis, ddof, keepdims):
    """The README's promise for shapes that do not broadcast: mlsd's message ends with SciPy's
    (NumPy's, from k - 1 - ddof on the reduced statistics), so code matching SciPy's matches it."""
    obs = np.random.default_rng(3).integers(1, 30, shape).astype(float)
    with pytest.raises(ValueError) as ref:
        st.chisquare(obs, ddof=np.asarray(ddof, dtype=float), axis=axis, keepdims=keepdims)
    with pytest.raises(ValueError, match="chisquare: ddof of shape") as mine:
        ab.chisquare(obs, ddof=ddof, axis=axis, keepdims=keepdims)
    assert str(mine.value).endswith(f"(SciPy: {ref.value})")


@pytest.mark.parametrize("shape, axis, exp_shape", [((0, 3), 1, None), ((3, 0), 0, None), ((0,), 0, (2, 0)),
                                                   ((3, 0), -2, (1, 0)), ((2, 0, 4), 2, None)])
@pytest.mark.parametrize("ddof", [[0, 1], [[0], [1]], np.zeros((3, 1)), np.array(1), [0.5, 1, 2, 0, 1]])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_tests_at_all_give_scipys_empty_results_whatever_ddof(shape, axis, exp_shape, ddof, keepdims, dtype):
    """No slice to test (an empty output): SciPy's decorator returns empty results of the
    counts' dtype without calling the test, so ddof's shape and dtype play no part."""
    obs = np.zeros(shape, dtype=dtype)
    exp = None if exp_shape is None else np.ones(exp_shape, dtype=dtype)
    ref = st.chisquare(obs, exp, ddof=np.asarray(ddof), axis=axis, keepdims=keepdims)
    res = ab.chisquare(obs, exp, ddof=ddof, axis=axis, keepdims=keepdims)
    for mine, theirs in ((res.statistic, ref.statistic), (res.pvalue, ref.pvalue)):
        assert mine.shape == theirs.shape and mine.dtype == theirs.dtype and mine.size == 0
    assert np.shape(res.dof) == ref.pvalue.shape


@pytest.mark.parametrize("ddof", [0.5, np.float64(1.5), np.float32(0.5), -0.25, [0.5, 1.0], np.array([[0.0], [1.5]])])
def test_float_ddof_as_scipy(ddof):
    obs = np.array([[10.0, 2], [12, 9], [3, 4]])
    rtol = 1e-6 if np.asarray(ddof).dtype == np.float32 else 1e-12  # float32 results, as SciPy's
    res, ref = both(obs, ddof=ddof)
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue, rtol)
    res, ref = both(obs[:, 0], ddof=np.asarray(ddof).ravel()[0])
    same(res.pvalue, ref.pvalue, rtol)
    assert np.asarray(res.pvalue).dtype == np.asarray(ref.pvalue).dtype
    assert np.allclose(res.dof, 3 - 1 - np.asarray(ddof).ravel()[0])


def test_fractional_ddof_gives_fractional_dof_and_whole_ddof_an_int():
    assert ab.chisquare([10, 12, 9], ddof=0.5).dof == 1.5
    assert type(ab.chisquare([10, 12, 9], ddof=1.0).dof) is int
    assert type(ab.chisquare([10, 12, 9], ddof=1).dof) is int


@pytest.mark.parametrize("ddof", [NAN, np.inf, [0.5, NAN], "1", 1j, True])
def test_non_finite_or_non_numeric_ddof_is_refused_by_name(ddof):
    with pytest.raises((ValueError, TypeError), match="'ddof' parameter of chisquare"):
        ab.chisquare([10, 12, 9], ddof=ddof)


def test_float32_counts_with_nan_keep_scipys_dtype():
    obs = np.array([10, NAN, 3, 7], dtype=np.float32)
    res, ref = both(obs, nan_policy="omit")
    assert np.asarray(res.statistic).dtype == np.asarray(ref.statistic).dtype == np.float32
    same(res.pvalue, ref.pvalue, rtol=1e-6)


def test_nan_policy_and_keepdims_are_declared():
    with pytest.raises(ValueError, match=r"'nan_policy' parameter of chisquare.*nan_policy must be one of"):
        ab.chisquare([1, 2, 3], nan_policy="ignore")
    with pytest.raises(TypeError, match="'keepdims' parameter of chisquare"):
        ab.chisquare([1, 2, 3], keepdims=1)


def test_no_nan_results_are_unchanged_by_the_policy():
    obs = np.random.default_rng(2).integers(1, 50, size=(5, 6)).astype(float)
    base = ab.chisquare(obs, axis=1)
    for policy in ("omit", "raise"):
        res = ab.chisquare(obs, axis=1, nan_policy=policy)
        assert np.array_equal(res.statistic, base.statistic) and np.array_equal(res.pvalue, base.pvalue)


@pytest.mark.parametrize("ddof", [np.float32(1.5), np.float16(0.25), np.float32(1.1), np.array(0.7, dtype=np.float32)])
def test_numpy_float_scalar_ddof_gives_scipys_float64_pvalue(ddof):
    # float64 counts with a NumPy float32 (or float16) ddof: SciPy promotes the degrees of freedom to
    # float64, so the p-value is float64's; the one-test path (1-D counts) must not compute it in float32
    obs = np.array([3.0, 4, 5, 9])
    res, ref = both(obs, ddof=ddof)
    same(res.statistic, ref.statistic)
    same(res.pvalue, ref.pvalue)
    # the same test through the batched path (a 2-D call) gives the same numbers
    batched = ab.chisquare(obs[:, None], ddof=ddof)
    assert res.pvalue == batched.pvalue[0] and res.dof == batched.dof[0]


@pytest.mark.parametrize("exp_shape, pairs", [((3,), False), ((6,), True), ((1,), True), ((2, 3), True),
                                              ((3, 2), True), ((1, 3), False)])
def test_axis_none_ravels_each_sample_before_pairing_them_as_scipy(exp_shape, pairs):
    """With axis=None SciPy ravels f_obs and f_exp each, then pairs them: a (2, 3) table takes an
    f_exp of 6 (or 1, or another shape of 6 values) but not one of 3, which would pair by rows."""
    obs = np.array([[10.0, 20, 30], [20, 30, 10]])
    exp = np.full(exp_shape, 120.0 / np.prod(exp_shape))
    if pairs:
        res, ref = both(obs, exp, axis=None, sum_check=False) if exp.size == 1 else both(obs, exp, axis=None)
        same(res.statistic, ref.statistic)
        same(res.pvalue, ref.pvalue)
    else:
        with pytest.raises(ValueError, match="incompatible"):
            st.chisquare(obs, exp, axis=None)
        with pytest.raises(ValueError, match="incompatible"):
            ab.chisquare(obs, exp, axis=None)
