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
