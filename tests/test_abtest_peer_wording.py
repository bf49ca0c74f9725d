"""Where an mlsd function mirrors a peer function of the same name, a bad parameter's message ends
with the peer's own words (so code matching the peer's message keeps working) while naming the
mlsd function and the argument; statsmodels' spellings of ``alternative`` in proportions_ztest."""

import re
import warnings

import numpy as np
import pytest
import scipy.stats as st

from mlsd import abtest as ab

X = np.arange(10.0)
Y = X[::-1] + 0.5


def _normalise(text):
    """SciPy prints Python sets, whose order changes from run to run: sort their items."""
    return re.sub(r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", text)


def _message(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((ValueError, TypeError)) as info:
            fn(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("name, args, kwargs", [
    ("ttest_ind", (X, Y), dict(alternative="error")),
    ("ttest_ind", (X, Y), dict(trim=0.5)),
    ("ttest_ind", (X, Y), dict(trim=-0.2)),
    ("ttest_ind", (X, Y), dict(nan_policy="foobar")),
    ("ttest_ind", (X, Y), dict(axis=1.5)),
    ("ttest_rel", (X, Y), dict(alternative="error")),
    ("ttest_rel", (X, Y), dict(nan_policy="foobar")),
    ("mannwhitneyu", (X, Y), dict(use_continuity="ekki")),
    ("mannwhitneyu", (X, Y), dict(alternative="ekki")),
    ("mannwhitneyu", (X, Y), dict(method="ekki")),
    ("mannwhitneyu", (X, Y), dict(axis=1.5)),
    ("mannwhitneyu", (X, Y), dict(nan_policy="ekki")),
    ("wilcoxon", (X, Y), dict(zero_method="dummy")),
    ("wilcoxon", (X, Y), dict(correction="dummy")),
    ("wilcoxon", (X, Y), dict(alternative="dummy")),
    ("wilcoxon", (X, Y), dict(method="xyz")),
    ("wilcoxon", (X, Y), dict(nan_policy="xyz")),
    ("chisquare", (X + 1,), dict(nan_policy="xyz")),
])
def test_parameter_errors_end_with_scipys_words(name, args, kwargs):
    ref = _normalise(_message(getattr(st, name), *args, **kwargs))
    mine = _message(getattr(ab, name), *args, **kwargs)
    param = next(iter(kwargs))
    assert f"The '{param}' parameter of {name} must be" in mine  # mlsd's style first
    assert _normalise(mine).endswith(f"(SciPy: {ref})"), (mine, ref)


def test_confidence_level_error_ends_with_scipys_words():
    ref = _message(st.ttest_rel(X, Y).confidence_interval, confidence_level=10)
    for res in (ab.ttest_rel(X, Y), ab.ttest_ind(X, Y)):
        mine = _message(res.confidence_interval, confidence_level=10)
        assert "'confidence_level' parameter of ConfidenceInterval" in mine and mine.endswith(f"(SciPy: {ref})")


def test_nan_policy_raise_and_shape_errors_quote_scipy():
    nan = np.r_[X[:-1], np.nan]
    for name in ("ttest_ind", "ttest_rel", "mannwhitneyu", "wilcoxon"):
        ref = _message(getattr(st, name), X, nan, nan_policy="raise")
        mine = _message(getattr(ab, name), X, nan, nan_policy="raise")
        assert mine.startswith(f"{name}: ") and ref in mine
    ref = _message(st.wilcoxon, X, Y[:-1])
    mine = _message(ab.wilcoxon, X, Y[:-1])
    assert mine.startswith("wilcoxon: x and y") and ref in mine


def test_valid_values_are_unaffected_by_the_wording():
    for name in ("ttest_ind", "mannwhitneyu", "wilcoxon", "ttest_rel"):
        res, ref = getattr(ab, name)(X, Y, alternative="less"), getattr(st, name)(X, Y, alternative="less")
        assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-10)


# ---- proportions_ztest: statsmodels' spellings of alternative ----------------------------------------
sm_prop = pytest.importorskip("statsmodels.stats.proportion")


@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
@pytest.mark.parametrize("form", ["one", "two"])
def test_statsmodels_alternatives_as_statsmodels(alternative, form):
    if form == "one":
        mine, ref = ab.proportions_ztest(45, 100, 0.5, alternative=alternative), \
            sm_prop.proportions_ztest(45, 100, 0.5, alternative=alternative)
    else:
        mine, ref = ab.proportions_ztest((45, 100), (30, 90), alternative=alternative), \
            sm_prop.proportions_ztest([45, 30], [100, 90], alternative=alternative)
    assert mine.statistic == pytest.approx(ref[0], rel=1e-12)
    assert mine.pvalue == pytest.approx(ref[1], rel=1e-12)
    assert mine.alternative == {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alternative]


@pytest.mark.parametrize("alias, name", [("2-sided", "two-sided"), ("2s", "two-sided"), ("l", "larger"),
                                         ("s", "smaller")])
def test_statsmodels_deprecated_aliases_warn_as_statsmodels(alias, name):
    with pytest.warns(FutureWarning, match="deprecated alias"):
        ref = sm_prop.proportions_ztest([45, 30], [100, 90], alternative=alias)
    with pytest.warns(FutureWarning, match=f"alternative='{alias}' is a deprecated alias") as record:
        mine = ab.proportions_ztest((45, 100), (30, 90), alternative=alias)
    assert record[0].filename == __file__  # points at the caller
    assert mine.pvalue == pytest.approx(ref[1], rel=1e-12)
    assert mine.pvalue == ab.proportions_ztest((45, 100), (30, 90), alternative=name).pvalue


def test_bad_alternative_of_proportions_ztest_ends_with_statsmodels_words():
    ref = _message(sm_prop.proportions_ztest, 45, 100, 0.5, alternative="Two-Sided")
    mine = _message(ab.proportions_ztest, 45, 100, 0.5, alternative="Two-Sided")
    assert "The 'alternative' parameter of proportions_ztest must be" in mine
    assert mine.endswith(f"(statsmodels: {ref})"), (mine, ref)
    # the SciPy-named tests keep SciPy's names only
    with pytest.raises(ValueError, match="'alternative' parameter of ttest_ind"):
        ab.ttest_ind(X, Y, alternative="larger")


@pytest.mark.parametrize("name", ["ttest_ind", "ttest_rel", "mannwhitneyu", "wilcoxon", "chisquare"])
def test_axis_out_of_bounds_is_numpys_axis_error_as_in_scipy(name):
    args = (X,) if name == "chisquare" else (X, Y)
    with pytest.raises(np.exceptions.AxisError):
        getattr(st, name)(*args, axis=3)
    with pytest.raises(np.exceptions.AxisError, match=f"^{name}: axis 3 is out of bounds") as info:
        getattr(ab, name)(*args, axis=3)
    assert isinstance(info.value, TypeError)  # still mlsd's InvalidParameterError


@pytest.mark.parametrize("name", ["ttest_ind", "ttest_rel", "mannwhitneyu", "wilcoxon", "wilcoxon-1", "chisquare"])
@pytest.mark.parametrize("shape, axis", [((10,), 3), ((10,), -2), ((2, 5), 2), ((2, 5), -3)])
def test_axis_out_of_bounds_message_ends_with_scipys_words(name, shape, axis):
    # SciPy's text differs by test: "source: axis 3 is out of bounds for array of dimension 1" (NumPy's
    # moveaxis, for paired or one-sample tests) or "`axis` is out of bounds for array of dimension 1"
    # (independent samples); code matching it (SciPy's own test_wilcoxon_axis_broadcasting_errors_gh22051
    # matches "source: axis 3 ...") must match mlsd's message too
    one = name in ("chisquare", "wilcoxon-1")
    fn = name.split("-")[0]
    args = (X.reshape(shape),) if one else (X.reshape(shape), Y.reshape(shape))
    with pytest.raises(np.exceptions.AxisError) as ref:
        getattr(st, fn)(*args, axis=axis)
    with pytest.raises(np.exceptions.AxisError) as mine:
        getattr(ab, fn)(*args, axis=axis)
    assert str(mine.value).startswith(f"{fn}: axis {axis} is out of bounds")
    assert str(mine.value).endswith(f"(SciPy: {ref.value})"), (str(mine.value), str(ref.value))
