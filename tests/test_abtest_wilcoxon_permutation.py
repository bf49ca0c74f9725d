"""wilcoxon(method=scipy.stats.PermutationMethod(...)): the exact permutation p-value when
n_resamples covers all 2**n sign flips (as SciPy's permutation test computes it then), checked
against SciPy itself; random resampling is refused by name."""

import numpy as np
import pytest
import scipy.stats as st

from mlsd import abtest as ab

CASES = [np.arange(-2.0, 5), np.arange(-4.0, 6), np.array([1.0, 2, 2, -3, 0, 4, 5, -1]),
         np.random.default_rng(1).normal(size=9), np.zeros(5)]


@pytest.mark.parametrize("i", range(len(CASES)))
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
@pytest.mark.parametrize("zero_method", ["wilcox", "pratt", "zsplit"])
def test_exact_permutation_method_as_scipy(i, alternative, zero_method):
    d = CASES[i]
    pm = st.PermutationMethod()
    kw = dict(alternative=alternative, zero_method=zero_method)
    with np.errstate(invalid="ignore", divide="ignore"):
        res, ref = ab.wilcoxon(d, method=pm, **kw), st.wilcoxon(d, method=pm, **kw)
    np.testing.assert_allclose(res.statistic, ref.statistic, rtol=1e-12)
    np.testing.assert_allclose(res.pvalue, ref.pvalue, rtol=1e-12, atol=0)
    assert res.method == "permutation"


def test_batched_and_paired_permutation_method_as_scipy():
    rng = np.random.default_rng(4)
    x, y = rng.integers(0, 5, size=(3, 9)).astype(float), rng.integers(0, 5, size=(3, 9)).astype(float)
    pm = st.PermutationMethod(n_resamples=2**9)
    res, ref = ab.wilcoxon(x, y, method=pm, axis=1), st.wilcoxon(x, y, method=pm, axis=1)
    np.testing.assert_allclose(res.pvalue, ref.pvalue, rtol=1e-12, atol=0)
    # the same null as method="auto" takes for these small samples with ties and zeros
    np.testing.assert_array_equal(res.pvalue, ab.wilcoxon(x, y, axis=1).pvalue)


def test_random_resampling_is_not_implemented():
    with pytest.raises(NotImplementedError, match=r"wilcoxon: method=PermutationMethod\(n_resamples=99\)"):
        ab.wilcoxon(np.arange(1.0, 10), method=st.PermutationMethod(n_resamples=99))
    with pytest.raises(NotImplementedError, match=r"2\*\*14 sign flips"):
        ab.wilcoxon(np.arange(1.0, 15), method=st.PermutationMethod())


def test_other_objects_are_refused_by_the_declaration():
    with pytest.raises(ValueError, match="'method' parameter of wilcoxon .*PermutationMethod"):
        ab.wilcoxon(np.arange(1.0, 10), method=st.MonteCarloMethod())


@pytest.mark.parametrize("n", [20, 63, 64, 70, 120])
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_all_flips_of_many_differences_give_the_exact_p_value(n, alternative):
    # n_resamples=inf asks for all 2**n flips at any n (SciPy would enumerate them); without ties or
    # zeros that permutation null is the exact signed-rank distribution, so the p-values are
    # method="exact"'s.  (The count of 2**n flips overflowed int64 from n = 64: negative p-values.)
    d = np.random.default_rng(n).normal(size=n) + 0.2
    res = ab.wilcoxon(d, method=st.PermutationMethod(n_resamples=np.inf), alternative=alternative)
    ref = ab.wilcoxon(d, method="exact", alternative=alternative)
    assert res.statistic == ref.statistic
    np.testing.assert_allclose(res.pvalue, ref.pvalue, rtol=1e-12, atol=0)


def test_all_flips_with_ties_and_zeros_stay_probabilities():
    d = np.random.default_rng(5).integers(-6, 7, size=90).astype(float)  # ties and zeros
    for zero_method in ("wilcox", "pratt", "zsplit"):
        res = ab.wilcoxon(d, method=st.PermutationMethod(n_resamples=np.inf), zero_method=zero_method)
        asym = ab.wilcoxon(d, method="asymptotic", zero_method=zero_method)
        assert 0.0 <= res.pvalue <= 1.0
        assert res.pvalue == pytest.approx(asym.pvalue, rel=0.1)  # the normal approximation at n = 90


def test_all_flips_of_too_many_differences_is_an_error_not_an_overflow():
    # 2**1100 does not fit a float: a ValueError naming the limit (as method="exact"), not OverflowError
    d = np.arange(1.0, 1101)
    with pytest.raises(ValueError, match="wilcoxon: .*limited to 1000 differences"):
        ab.wilcoxon(d, method=st.PermutationMethod(n_resamples=np.inf))
    with pytest.raises(NotImplementedError, match=r"2\*\*1100 sign flips"):
        ab.wilcoxon(d, method=st.PermutationMethod())


@pytest.mark.parametrize("x", [[1.5], [[1.5], [2.0]]], ids=["one difference", "one per row"])
def test_one_difference_cannot_be_permuted_as_scipy(x):
    """SciPy's permutation test refuses samples of one observation along axis; so does mlsd."""
    method = st.PermutationMethod(n_resamples=np.inf)
    with pytest.raises(ValueError, match="two or more observations"):
        st.wilcoxon(x, method=method, axis=-1)
    with pytest.raises(ValueError, match="two or more observations"):
        ab.wilcoxon(x, method=method, axis=-1)
