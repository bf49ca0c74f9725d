"""mlsd.abtest Stats and two-sample tests against SciPy / statsmodels and hand-derived formulas."""

import json

import numpy as np
import pytest
import scipy.stats as st
from statsmodels.stats.proportion import proportions_ztest as sm_proportions_ztest
from statsmodels.stats import proportion as sm_proportion

import mlsd
from mlsd.abtest import Stats, ZeroVarianceWarning, compare, proportions_ztest, ttest_ind

SEEDS = range(12)
ALTS = ["two-sided", "greater", "less"]
SM_ALT = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    both_inf = np.isinf(a) & (a == b)
    return np.where(both_inf, 0.0, np.abs(a - b) / np.maximum(np.abs(b), 1e-300))


def close(a, b, tol=1e-10):
    assert np.all(rel(a, b) <= tol), (a, b)


def close_p(p, ref, tol=1e-10):
    """p-values: relative error tol * max(1, |ln p|).  In the tail a relative error e of the
    statistic becomes about z^2 e in p, so this is the statistic's own tolerance carried over."""
    p, ref = np.asarray(p, float), np.asarray(ref, float)
    if np.all(ref == 0):  # both underflow (z above ~38)
        assert np.all(p == 0)
        return
    assert np.all(np.abs(np.log(p) - np.log(ref)) <= tol * np.maximum(1.0, np.abs(np.log(ref)))), (p, ref)


def sample(seed):
    rng = np.random.default_rng(seed)
    na, nb = rng.integers(2, 400, size=2)
    a = rng.normal(rng.uniform(-1, 1), rng.uniform(0.1, 3), na)
    b = rng.normal(rng.uniform(-1, 1), rng.uniform(0.1, 3), nb)
    if seed % 3 == 0:  # large offset, small spread
        a, b = a + 1e6, b + 1e6
    return a, b


# ---- Stats -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_stats_match_numpy_and_merge_equals_concatenation(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 100_000))
    cols = {"y": rng.normal(5, 2, n), "denominator": rng.poisson(3, n) + 1.0,
            "covariate": rng.normal(-1, 1, n), "covariate_denominator": rng.uniform(1, 2, n)}
    whole = Stats.from_arrays(**cols)
    data = np.vstack(list(cols.values()))
    close(whole.mean, data.mean(axis=1), 1e-12)
    close(whole.comoment, np.cov(data) * (n - 1), 1e-9)
    cuts = np.sort(rng.integers(0, n, 3))
    parts = [Stats.from_arrays(**{k: v[lo:hi] for k, v in cols.items()})
             for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, n])]
    merged = sum(parts)
    assert merged.n == n
    close(merged.mean, whole.mean, 1e-12)
    scale = np.sqrt(np.outer(np.diag(whole.comoment), np.diag(whole.comoment)))
    assert np.all(np.abs(merged.comoment - whole.comoment) <= 1e-12 * scale)
    assert merged.columns == whole.columns


def test_stats_serialisation_round_trip_is_exact():
    rng = np.random.default_rng(3)
    s = Stats.from_arrays(rng.normal(size=1000), covariate=rng.normal(size=1000))
    back = Stats.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back.columns == s.columns and back.n == s.n
    assert np.array_equal(back.mean, s.mean) and np.array_equal(back.comoment, s.comoment)


def test_stats_derived_quantities():
    y = np.array([1.0, 2.0, 4.0, 7.0])
    s = Stats.from_arrays(y)
    assert s.sum() == 14.0 and s.sum_of_squares() == 70.0
    assert s.var() == pytest.approx(np.var(y, ddof=1), rel=1e-15)
    c = Stats.from_counts(3, 10)
    d = Stats.from_arrays(np.r_[np.ones(3), np.zeros(7)])
    assert c.n == d.n and c.mean[0] == pytest.approx(d.mean[0], rel=1e-15) and c.comoment[0, 0] == pytest.approx(d.comoment[0, 0], rel=1e-15)
    m = Stats.from_summary(len(y), y.mean(), y.std(ddof=1))
    assert m.comoment[0, 0] == pytest.approx(s.comoment[0, 0], rel=1e-14)


def test_stats_independent_of_thread_count():
    rng = np.random.default_rng(4)
    y, x = rng.normal(size=200_001), rng.normal(size=200_001)
    mlsd.set_num_threads(1)
    one = Stats.from_arrays(y, covariate=x)
    mlsd.set_num_threads(2)
    two = Stats.from_arrays(y, covariate=x)
    assert np.array_equal(one.mean, two.mean) and np.array_equal(one.comoment, two.comoment)


# ---- t and z tests ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("equal_var", [False, True])
@pytest.mark.parametrize("alternative", ALTS)
def test_ttest_ind_matches_scipy_on_arrays_and_stats(seed, equal_var, alternative):
    a, b = sample(seed)
    ref = st.ttest_ind(a, b, equal_var=equal_var, alternative=alternative)
    ref_ci = ref.confidence_interval(0.9)
    tol = 1e-10 if seed % 3 else 1e-8  # 1e6 offset: the inputs' own rounding is ~1e-10 of the spread
    for x, y in [(a, b), (Stats.from_arrays(a), Stats.from_arrays(b))]:
        r = ttest_ind(x, y, equal_var=equal_var, alternative=alternative, alpha=0.1)
        close(r.statistic, ref.statistic, tol)
        close_p(r.pvalue, ref.pvalue, tol)
        close(r.df, ref.df, tol)
        for mine, theirs in zip(r.confidence_interval, ref_ci):
            assert np.isinf(theirs) and mine == theirs or abs(mine - theirs) <= tol * abs(r.estimate) + 1e-9


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("alternative", ALTS)
def test_proportions_match_statsmodels(seed, alternative):
    rng = np.random.default_rng(seed)
    n = rng.integers(5, 100_000, size=2)
    p = rng.uniform(0.01, 0.99)
    s = rng.binomial(n, [p, p * rng.uniform(0.9, 1.1)])
    ref = sm_proportions_ztest(s, n, alternative=SM_ALT[alternative])
    ya = np.r_[np.ones(s[0]), np.zeros(n[0] - s[0])]
    yb = np.r_[np.ones(s[1]), np.zeros(n[1] - s[1])]
    for a, b in [((s[0], n[0]), (s[1], n[1])), (ya, yb), (Stats.from_arrays(ya), Stats.from_arrays(yb))]:
        r = proportions_ztest(a, b, alternative=alternative)
        close(r.statistic, ref[0])
        close_p(r.pvalue, ref[1])
    wald = sm_proportion.test_proportions_2indep(s[0], n[0], s[1], n[1], method="wald", compare="diff",
                                   alternative=SM_ALT[alternative])
    r = proportions_ztest((s[0], n[0]), (s[1], n[1]), pooled=False, alternative=alternative)
    close(r.statistic, wald.statistic)
    close_p(r.pvalue, wald.pvalue)


def test_proportions_vectorised_equals_loop():
    rng = np.random.default_rng(5)
    n = rng.integers(100, 10_000, size=(2, 50))
    s = rng.binomial(n, 0.3)
    r = proportions_ztest((s[0], n[0]), (s[1], n[1]))
    for i in range(50):
        ref = sm_proportions_ztest(s[:, i], n[:, i])
        close(r.statistic[i], ref[0])
        close_p(r.pvalue[i], ref[1])


def test_far_tail_p_values_are_not_one_minus_cdf():
    # z = 10: 1 - cdf gives exactly 0; the survival function gives 1.5e-23.
    r = proportions_ztest((600_000, 1_000_000), (586_000, 1_000_000))
    assert 8 < r.statistic < 40
    assert 0 < r.pvalue < 1e-30
    close(r.pvalue, 2 * st.norm.sf(r.statistic), 1e-12)
    # z = 40: the p-value (~7e-350) is below the smallest double; log_pvalue stays exact.
    sd = np.sqrt(50.0)  # standard error sqrt(2 * 50 / 10_000) = 0.1, z = 4 / 0.1
    r = compare(Stats.from_summary(10_000, 4.0, sd), Stats.from_summary(10_000, 0.0, sd), test="z")
    assert r.statistic == pytest.approx(40.0, rel=1e-12)
    assert r.pvalue == 0.0  # honest underflow: 2 * Phi(-40) = 7.3e-350 is not a double
    close(r.log_pvalue, np.log(2) + st.norm.logsf(r.statistic), 1e-12)
    assert np.isfinite(r.log_pvalue) and r.log_pvalue < np.log(1e-300)
    # t tests use the t distribution's own tail
    t = ttest_ind(Stats.from_summary(50, 4.0, 1.0), Stats.from_summary(50, 0.0, 1.0))
    close(t.pvalue, 2 * st.t.sf(t.statistic, t.df), 1e-10)
    assert t.pvalue > 0


# ---- compare: means, ratios, CUPED, relative lift ----------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_compare_plain_mean_is_welch(seed):
    a, b = sample(seed)
    ref = st.ttest_ind(a, b, equal_var=False)
    r = compare(a, b)
    tol = 1e-10 if seed % 3 else 1e-8
    close(r.statistic, ref.statistic, tol)
    close_p(r.pvalue, ref.pvalue, tol)


def cuped_arms(seed, ratio):
    rng = np.random.default_rng(seed)
    arms = []
    for lift in (rng.uniform(0, 0.2), 0.0):
        n = int(rng.integers(50, 5000))
        d = rng.poisson(4, n) + 1.0
        e = rng.poisson(4, n) + 1.0
        x = rng.gamma(2, 1, n) * (e if ratio else 1)
        y = (0.8 * x / (e if ratio else 1) + rng.normal(1 + lift, 1, n)) * (d if ratio else 1)
        arm = {"y": y, "covariate": x}
        if ratio:
            arm.update(denominator=d, covariate_denominator=e)
        arms.append(arm)
    return arms


@pytest.mark.parametrize("seed", SEEDS)
def test_cuped_equals_welch_on_explicitly_adjusted_rows(seed):
    t, c = cuped_arms(seed, ratio=False)
    y = np.r_[t["y"], c["y"]]
    x = np.r_[t["covariate"], c["covariate"]]
    theta = np.cov(y, x)[0, 1] / np.var(x, ddof=1)
    adj_t = t["y"] - theta * (t["covariate"] - x.mean())
    adj_c = c["y"] - theta * (c["covariate"] - x.mean())
    ref = st.ttest_ind(adj_t, adj_c, equal_var=False)
    for a, b in [(t, c), (Stats.from_mapping(t), Stats.from_mapping(c))]:
        r = compare(a, b)
        close(r.extra["theta"], theta, 1e-10)
        close(r.statistic, ref.statistic)
        close_p(r.pvalue, ref.pvalue)
        close(r.estimate, adj_t.mean() - adj_c.mean())
        raw = np.var(t["y"], ddof=1) / len(adj_t) + np.var(c["y"], ddof=1) / len(adj_c)
        adj = np.var(adj_t, ddof=1) / len(adj_t) + np.var(adj_c, ddof=1) / len(adj_c)
        close(r.extra["variance_reduction"], 1 - adj / raw)
        assert r.extra["variance_reduction"] > 0.2


def linearised(arm, num, den):
    """Delta-method linearisation of sum(num) / sum(den): (num - R den) / mean(den)."""
    r = arm[num].sum() / arm[den].sum()
    return r, (arm[num] - r * arm[den]) / arm[den].mean()


@pytest.mark.parametrize("seed", SEEDS)
def test_ratio_metric_delta_method_matches_linearisation(seed):
    t, c = cuped_arms(seed, ratio=True)
    (rt, lt), (rc, lc) = linearised(t, "y", "denominator"), linearised(c, "y", "denominator")
    se = np.sqrt(np.var(lt, ddof=1) / len(lt) + np.var(lc, ddof=1) / len(lc))
    plain = {k: t[k] for k in ("y", "denominator")}, {k: c[k] for k in ("y", "denominator")}
    r = compare(*plain, test="z")
    close(r.estimate, rt - rc)
    close(r.stderr, se)
    close(r.pvalue, 2 * st.norm.sf(abs(rt - rc) / se))
    # the explicit formula with the covariance term
    for arm, lin in ((t, lt), (c, lc)):
        md = arm["denominator"].mean()
        R = arm["y"].sum() / arm["denominator"].sum()
        cov = np.cov(arm["y"], arm["denominator"])
        close((cov[0, 0] - 2 * R * cov[0, 1] + R**2 * cov[1, 1]) / md**2, np.var(lin, ddof=1))
    # relative lift by the delta method
    rr = compare(*plain, relative=True)
    close(rr.estimate, rt / rc - 1)
    vt, vc = np.var(lt, ddof=1) / len(lt), np.var(lc, ddof=1) / len(lc)
    se_rel = np.sqrt(vt / rc**2 + rt**2 * vc / rc**4)
    close(rr.stderr, se_rel)
    close(rr.confidence_interval[1], rt / rc - 1 + st.norm.isf(0.025) * se_rel)
    assert rr.pvalue == compare(*plain).pvalue


@pytest.mark.parametrize("seed", SEEDS)
def test_cuped_for_ratio_metrics_matches_linearised_rows(seed):
    t, c = cuped_arms(seed, ratio=True)
    pooled = {k: np.r_[t[k], c[k]] for k in t}
    _, ly = linearised(pooled, "y", "denominator")
    _, lx = linearised(pooled, "covariate", "covariate_denominator")
    theta = np.cov(ly, lx)[0, 1] / np.var(lx, ddof=1)
    rx_pooled = pooled["covariate"].sum() / pooled["covariate_denominator"].sum()
    est, var = [], []
    for arm in (t, c):
        r, ly = linearised(arm, "y", "denominator")
        rx, lx = linearised(arm, "covariate", "covariate_denominator")
        est.append(r - theta * (rx - rx_pooled))
        var.append(np.var(ly - theta * lx, ddof=1) / len(ly))
    r = compare(Stats.from_mapping(t), Stats.from_mapping(c), test="z")
    close(r.extra["theta"], theta)
    close(r.extra["treatment_estimate"], est[0])
    close(r.estimate, est[0] - est[1])
    close(r.stderr, np.sqrt(var[0] + var[1]))
    assert 0 < r.extra["variance_reduction"] < 1


def test_relative_lift_of_means_hand_computed():
    # treatment mean 11, control mean 10; var of means 0.04 and 0.01
    t = Stats.from_summary(100, 11.0, 2.0)
    c = Stats.from_summary(100, 10.0, 1.0)
    r = compare(t, c, relative=True)
    assert r.estimate == pytest.approx(0.1, rel=1e-14)
    assert r.stderr == pytest.approx(np.sqrt(0.04 / 100 + 121 * 0.01 / 10_000), rel=1e-14)


def test_zero_variance_gives_scipys_values_with_warning():
    # two different constants: t = -inf, p = 0 (SciPy); equal constants: NaN
    for equal_var in (True, False):
        with pytest.warns(ZeroVarianceWarning):
            r = ttest_ind([1.0, 1.0, 1.0], [2.0, 2.0], equal_var=equal_var)
        with pytest.warns(RuntimeWarning):
            ref = st.ttest_ind([1.0, 1.0, 1.0], [2.0, 2.0], equal_var=equal_var)
        assert r.statistic == ref.statistic == -np.inf and r.pvalue == ref.pvalue == 0.0
        with pytest.warns(ZeroVarianceWarning):
            r = ttest_ind([2.0, 2.0, 2.0], [2.0, 2.0], equal_var=equal_var)
        assert np.isnan(r.statistic) and np.isnan(r.pvalue)
    with pytest.warns(ZeroVarianceWarning):
        r = proportions_ztest((0, 10), (0, 20))
    assert np.isnan(r.pvalue)
