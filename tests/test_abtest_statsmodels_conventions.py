"""statsmodels' calling conventions of the statsmodels-named functions of mlsd.abtest, each
compared with statsmodels directly: multipletests (4-tuple, short method names, is_sorted, empty
input)."""

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests as sm_multipletests

import mlsd.abtest as ab

SHORT = [("b", "bonferroni"), ("bonf", "bonferroni"), ("h", "holm"), ("fdr_i", "fdr_bh"), ("fdr_p", "fdr_bh"),
         ("fdri", "fdr_bh"), ("fdrp", "fdr_bh"), ("fdr_n", "fdr_by"), ("fdr_c", "fdr_by"), ("fdrn", "fdr_by"),
         ("fdrcorr", "fdr_by"), ("holm", "holm"), ("fdr_bh", "fdr_bh"), ("s", "sidak"), ("sidak", "sidak"),
         ("hs", "holm-sidak"), ("holm-sidak", "holm-sidak"), ("sh", "simes-hochberg"),
         ("simes-hochberg", "simes-hochberg"), ("ho", "hommel"), ("hommel", "hommel")]


def _pvals(seed, m=60):
    rng = np.random.default_rng(seed)
    p = np.where(rng.random(m) < 0.3, rng.uniform(0, 0.01, m), rng.uniform(0, 1, m))
    p[rng.random(m) < 0.1] = p[0]  # ties
    return p


@pytest.mark.parametrize("short, full", SHORT)
@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_multipletests_four_values_and_short_names(short, full, alpha):
    p = _pvals(len(short))
    res = ab.multipletests(p, alpha=alpha, method=short)
    ref = sm_multipletests(p, alpha=alpha, method=short)
    assert len(res) == 4 and res.method == full
    np.testing.assert_array_equal(res[0], ref[0])
    np.testing.assert_allclose(res[1], ref[1], rtol=1e-12, atol=0)
    assert res[2] == pytest.approx(ref[2], rel=1e-15) and res[3] == pytest.approx(ref[3], rel=1e-15)
    assert res.reject is res[0] and res.pvals_corrected is res[1]
    assert (res.alphacSidak, res.alphacBonf) == (res[2], res[3])


@pytest.mark.parametrize("method", ["bonferroni", "sidak", "holm", "holm-sidak", "simes-hochberg", "hommel", "fdr_bh",
                                    "fdr_by"])
@pytest.mark.parametrize("presorted", [True, False])
def test_multipletests_is_sorted(method, presorted):
    p = _pvals(7)
    if presorted:
        p = np.sort(p)
    # is_sorted=True on unsorted input: statsmodels takes the order as given; so must mlsd
    res = ab.multipletests(p, method=method, is_sorted=True)
    ref = sm_multipletests(p, method=method, is_sorted=True)
    np.testing.assert_array_equal(res[0], ref[0])
    np.testing.assert_allclose(res[1], ref[1], rtol=1e-12)


@pytest.mark.parametrize("method", ["b", "s", "holm", "hs", "sh", "ho", "fdr_bh", "fdr_by"])
def test_multipletests_empty_as_statsmodels(method):
    res = ab.multipletests([], method=method)
    ref = sm_multipletests(np.array([]), method=method)
    assert res[0].shape == res[1].shape == ref[1].shape == (0,)
    assert np.isnan(res[2]) and np.isnan(ref[2]) and np.isnan(res[3]) and np.isnan(ref[3])


def test_multipletests_default_is_statsmodels_holm_sidak():
    p = _pvals(11)
    res, ref = ab.multipletests(p), sm_multipletests(p)
    assert res.method == "holm-sidak"
    np.testing.assert_array_equal(res[0], ref[0])
    np.testing.assert_allclose(res[1], ref[1], rtol=1e-12)


def _at_levels(method, alpha, m):
    """Sorted p-values each equal to its step's level (statsmodels rejects p <= level)."""
    k = np.arange(m, 0, -1)
    i = np.arange(1, m + 1)
    return np.sort({"b": np.full(m, alpha / m), "s": np.full(m, 1 - (1 - alpha) ** (1 / m)), "h": alpha / k,
                    "hs": 1 - (1 - alpha) ** (1 / k), "sh": alpha / k, "ho": alpha / k, "fdr_bh": alpha * i / m,
                    "fdr_by": alpha * i / m / np.sum(1 / i)}[method])


@pytest.mark.parametrize("method", ["b", "s", "h", "hs", "sh", "ho", "fdr_bh", "fdr_by"])
@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.1, 0.2, 0.07])
@pytest.mark.parametrize("m", [1, 2, 3, 7, 11])
def test_multipletests_reject_at_the_level_as_statsmodels(method, alpha, m):
    # a p-value equal to its level: statsmodels compares it with the level, where the corrected
    # value can round a hair above alpha (default "hs", m=1, p=alpha=0.05: rejected)
    p = _at_levels(method, alpha, m)
    for pv in (p, np.r_[p[:1], np.full(m - 1, 0.9)]):
        res, ref = ab.multipletests(pv, alpha=alpha, method=method), sm_multipletests(pv, alpha=alpha, method=method)
        np.testing.assert_array_equal(res[0], ref[0])
        np.testing.assert_allclose(res[1], ref[1], rtol=1e-12)


def test_multipletests_default_rejects_p_equal_to_alpha():
    assert ab.multipletests([0.05], alpha=0.05).reject.tolist() == [True] == sm_multipletests([0.05])[0].tolist()


@pytest.mark.parametrize("method", ["fdr_tsbh", "fdr_tsbky", "fdr_gbs", "lfdr"])
def test_multipletests_unimplemented_method_names_it(method):
    with pytest.raises(ValueError, match=f"'method' parameter of multipletests.*Got '{method}'"):
        ab.multipletests([0.01, 0.2], method=method)


# ---- solve_power for alpha ---------------------------------------------------------------------
SM_ALT = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("test", ["z", "t"])
def test_solve_power_for_alpha_matches_statsmodels(seed, alternative, test):
    from statsmodels.stats.power import tt_ind_solve_power, zt_ind_solve_power

    rng = np.random.default_rng(seed)
    d = rng.uniform(0.1, 0.4) * (-1 if alternative == "less" else 1)
    n, ratio, pw = rng.uniform(50, 400), rng.uniform(0.5, 2), rng.uniform(0.3, 0.9)
    a = ab.solve_power(effect_size=d, nobs1=n, power=pw, alpha=None, ratio=ratio, alternative=alternative, test=test)
    # mlsd solves to ~1e-15 relative: the power at the returned alpha is the requested one
    assert ab.power(d, n, alpha=a, ratio=ratio, alternative=alternative, test=test) == pytest.approx(pw, rel=1e-10)
    ref = (zt_ind_solve_power if test == "z" else tt_ind_solve_power)(
        effect_size=d, nobs1=n, alpha=None, power=pw, ratio=ratio, alternative=SM_ALT[alternative])
    # statsmodels' root finder stops early for alpha: its answer reproduces the power only to ~3e-5
    assert ab.power(d, n, alpha=float(ref), ratio=ratio, alternative=alternative, test=test) == pytest.approx(
        pw, abs=1e-4)
    assert a == pytest.approx(float(ref), rel=1e-3)


def test_solve_power_alpha_round_trip_and_one_unknown():
    n = ab.solve_power(effect_size=0.2, power=0.8, alpha=0.01)
    assert ab.solve_power(effect_size=0.2, nobs1=n, power=0.8, alpha=None) == pytest.approx(0.01, rel=1e-9)
    with pytest.raises(ValueError, match="solve_power: exactly one of"):
        ab.solve_power(effect_size=0.2, nobs1=100, power=0.8)


# ---- proportions_ztest: statsmodels' one-sample form and prop_var ----------------------------
@pytest.mark.parametrize("count, nobs, value", [(45, 100, 0.5), (7, 30, 0.1), (512, 1000, 0.5), (3.0, 9.0, 0.6)])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("prop_var", [False, 0.5, 0.3])
def test_proportions_ztest_one_sample_matches_statsmodels(count, nobs, value, alternative, prop_var):
    from statsmodels.stats.proportion import proportions_ztest as sm_ztest

    res = ab.proportions_ztest(count, nobs, value=value, alternative=alternative, prop_var=prop_var)
    ref = sm_ztest(count, nobs, value=value, alternative=SM_ALT[alternative], prop_var=prop_var)
    np.testing.assert_allclose(tuple(res), ref, rtol=1e-12)
    stat, p = res
    assert (res[0], res[1]) == (stat, p) == (res.statistic, res.pvalue)
    assert res.estimate == pytest.approx(count / nobs - value, rel=1e-15)


@pytest.mark.parametrize("prop_var", [False, 0.2])
def test_proportions_ztest_two_sample_prop_var_matches_statsmodels(prop_var):
    from statsmodels.stats.proportion import proportions_ztest as sm_ztest

    res = ab.proportions_ztest((120, 1000), (100, 900), prop_var=prop_var)
    ref = sm_ztest([120, 100], [1000, 900], prop_var=prop_var)
    np.testing.assert_allclose(tuple(res), ref, rtol=1e-12)


def test_proportions_ztest_one_sample_bad_input_names_argument():
    with pytest.raises(ValueError, match="proportions_ztest: value .* is required for the one-sample form"):
        ab.proportions_ztest(45, 100)
    with pytest.raises(ValueError, match=r"proportions_ztest: a \(count\) must be <= b \(nobs\)"):
        ab.proportions_ztest(120, 100, value=0.5)
    with pytest.raises(ValueError, match="proportions_ztest: value .* applies to the one-sample form"):
        ab.proportions_ztest((120, 1000), (100, 1000), value=0.1)
    with pytest.raises(ValueError, match="proportions_ztest: a and b must both be numbers"):
        ab.proportions_ztest(45, (100, 1000), value=0.5)
