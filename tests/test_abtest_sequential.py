"""Sequential testing: mSPRT formulas and A/A validity under continuous monitoring; Lan-DeMets
boundaries against published values and a Monte Carlo of the crossing probabilities."""

import numpy as np
import pytest
import scipy.stats as st

from mlsd.abtest import Stats, group_sequential_boundaries, msprt, ttest_ind


def test_msprt_matches_hand_formula_at_each_look():
    rng = np.random.default_rng(0)
    t = [rng.normal(0.2, 1.5, 300) for _ in range(4)]
    c = [rng.normal(0.0, 1.0, 250) for _ in range(4)]
    tau, alpha = 0.3, 0.1
    r = msprt(t, c, tau=tau, alpha=alpha)
    p_prev, lo_prev, hi_prev = 1.0, -np.inf, np.inf
    for k in range(4):
        yt, yc = np.concatenate(t[:k + 1]), np.concatenate(c[:k + 1])
        d = yt.mean() - yc.mean()
        v = yt.var(ddof=1) / yt.size + yc.var(ddof=1) / yc.size
        lr = np.sqrt(v / (v + tau**2)) * np.exp(tau**2 * d**2 / (2 * v * (v + tau**2)))
        p_prev = min(p_prev, 1 / lr)
        half = np.sqrt(v * (v + tau**2) / tau**2 * (np.log((v + tau**2) / v) + 2 * np.log(1 / alpha)))
        lo_prev, hi_prev = max(lo_prev, d - half), min(hi_prev, d + half)
        assert r.estimate[k] == pytest.approx(d, rel=1e-12)
        assert r.likelihood_ratio[k] == pytest.approx(lr, rel=1e-10)
        assert r.pvalue[k] == pytest.approx(p_prev, rel=1e-10)
        assert r.confidence_interval[0][k] == pytest.approx(lo_prev, rel=1e-10)
        assert r.confidence_interval[1][k] == pytest.approx(hi_prev, rel=1e-10)
        # the boundary of the confidence sequence is where 1 / L = alpha
    # cumulative input gives the same answer
    cum_t = [Stats.from_arrays(np.concatenate(t[:k + 1])) for k in range(4)]
    cum_c = [Stats.from_arrays(np.concatenate(c[:k + 1])) for k in range(4)]
    r2 = msprt(cum_t, cum_c, tau=tau, alpha=alpha, cumulative=True)
    np.testing.assert_allclose(r2.pvalue, r.pvalue, rtol=1e-10)


def test_msprt_is_valid_under_continuous_monitoring_where_repeated_t_tests_are_not():
    rng = np.random.default_rng(1)
    sims, looks, per_look, alpha = 300, 20, 100, 0.05
    msprt_rejects = naive_rejects = cs_misses = 0
    for _ in range(sims):
        t = [Stats.from_arrays(rng.normal(size=per_look)) for _ in range(looks)]
        c = [Stats.from_arrays(rng.normal(size=per_look)) for _ in range(looks)]
        r = msprt(t, c, tau=0.2, alpha=alpha)
        msprt_rejects += r.stop is not None
        cs_misses += bool(np.any((r.confidence_interval[0] > 0) | (r.confidence_interval[1] < 0)))
        cum_t, cum_c = t[0], c[0]
        hit = False
        for k in range(looks):
            if k:
                cum_t, cum_c = cum_t + t[k], cum_c + c[k]
            hit |= ttest_ind(cum_t, cum_c).pvalue <= alpha
        naive_rejects += hit
    se = np.sqrt(alpha * (1 - alpha) / sims)
    assert msprt_rejects / sims <= alpha + 2 * se
    assert cs_misses == msprt_rejects  # the sequence excludes 0 exactly when p <= alpha
    assert naive_rejects / sims > 0.12  # peeking at 20 looks inflates the error about threefold


def test_msprt_detects_a_real_effect():
    rng = np.random.default_rng(2)
    t = [rng.normal(0.1, 1, 2000) for _ in range(10)]
    c = [rng.normal(0.0, 1, 2000) for _ in range(10)]
    r = msprt(t, c, tau=0.1)
    assert r.stop is not None and r.pvalue[-1] < 1e-3
    assert r.confidence_interval[0][-1] < 0.1 < r.confidence_interval[1][-1]


def test_lan_demets_boundaries_match_published_tables():
    # gsDesign / rpact: 5 equally spaced looks, two-sided alpha = 0.05 (0.025 per side).
    obf = group_sequential_boundaries([0.2, 0.4, 0.6, 0.8, 1.0], spending="obrien_fleming")
    np.testing.assert_allclose(obf.z, [4.877, 3.357, 2.680, 2.290, 2.031], atol=6e-4)
    poc = group_sequential_boundaries([0.2, 0.4, 0.6, 0.8, 1.0], spending="pocock")
    np.testing.assert_allclose(poc.z, [2.438, 2.427, 2.410, 2.397, 2.386], atol=6e-4)
    assert obf.alpha_spent[-1] == pytest.approx(0.05, rel=1e-12)
    one = group_sequential_boundaries([1.0], alpha=0.05)
    assert one.z[0] == pytest.approx(st.norm.isf(0.025), rel=1e-12)
    # the integration grid does not matter at this precision
    fine = group_sequential_boundaries([0.2, 0.4, 0.6, 0.8, 1.0], grid=3001)
    np.testing.assert_allclose(fine.z, obf.z, rtol=1e-6)


def test_a_look_that_spends_nothing_has_no_boundary():
    b = group_sequential_boundaries([1e-6, 1.0])  # O'Brien-Fleming spends ~0 at t = 1e-6
    assert b.z[0] == np.inf and b.nominal_alpha[0] == 0.0
    assert b.z[1] == pytest.approx(st.norm.isf(0.025), rel=1e-6)


@pytest.mark.parametrize("spending", ["obrien_fleming", "pocock"])
@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_boundaries_spend_alpha_as_planned_monte_carlo(spending, alternative):
    info = np.array([0.15, 0.45, 0.7, 1.0])
    b = group_sequential_boundaries(info, alpha=0.1, spending=spending, alternative=alternative)
    rng = np.random.default_rng(3)
    paths = 400_000
    s = np.cumsum(rng.normal(size=(paths, info.size)) * np.sqrt(np.diff(np.r_[0, info])), axis=1)
    z = s / np.sqrt(info)
    cross = (np.abs(z) if alternative == "two-sided" else z) >= b.z
    first = np.where(cross.any(axis=1), cross.argmax(axis=1), -1)
    increments = np.diff(np.r_[0, b.alpha_spent])
    for k in range(info.size):
        rate = np.mean(first == k)
        assert abs(rate - increments[k]) < 4 * np.sqrt(increments[k] / paths) + 1e-5
    assert np.mean(first >= 0) == pytest.approx(0.1, abs=4 * np.sqrt(0.1 * 0.9 / paths))


@pytest.mark.parametrize("call, fragment", [
    (lambda: group_sequential_boundaries([0.5, 0.4]), "information must be increasing"),
    (lambda: group_sequential_boundaries([0.5, 1.2]), "information must be increasing"),
    (lambda: group_sequential_boundaries([]), "information must be increasing"),
    (lambda: group_sequential_boundaries([1.0], alpha=1.5), "'alpha' parameter"),
    (lambda: group_sequential_boundaries([1.0], spending="haybittle"), "'spending' parameter"),
    (lambda: group_sequential_boundaries([1.0], grid=5), "'grid' parameter"),
    (lambda: msprt([np.ones(3)], [np.ones(3)], tau=0.0), "'tau' parameter"),
    (lambda: msprt([np.r_[1.0, 2.0]], [np.r_[1.0, 2.0], np.r_[1.0, 3.0]], tau=1.0), "treatment has 1 looks"),
    (lambda: msprt([np.r_[1.0]], [np.r_[1.0, 2.0]], tau=1.0), "fewer than two observations"),
    (lambda: msprt([np.ones(3)], [np.ones(3)], tau=1.0), "variance of the difference is zero"),
    (lambda: msprt([], [], tau=1.0), "non-empty sequence"),
])
def test_sequential_bad_input(call, fragment):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert fragment in str(info.value)
