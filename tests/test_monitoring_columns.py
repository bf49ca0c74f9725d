"""Per-column drift statistics equal their references: KS against scipy.stats.ks_2samp (exact and
asymptotic, every alternative, ties), Wasserstein-1 against scipy.stats.wasserstein_distance (with
weights), Jensen-Shannon against scipy.spatial.distance.jensenshannon on the same bins, chi-square
against scipy.stats.chi2_contingency and Cramér's V against scipy.stats.contingency.association,
the bins against np.quantile / np.searchsorted."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

import mlsd
from mlsd.monitoring import drift, ks_2samp, wasserstein_distance

ALTS = ["two-sided", "less", "greater"]


def _samples(rng, n1, n2, ties):
    a = rng.normal(size=n1)
    b = rng.normal(0.3, 1.2, size=n2)
    if ties:
        a, b = np.round(a * 2) / 2, np.round(b * 2) / 2
    return a, b


@pytest.mark.parametrize("alternative", ALTS)
@pytest.mark.parametrize("method", ["exact", "asymp", "auto"])
@pytest.mark.parametrize("n1, n2, ties", [(3, 97, False), (40, 40, False), (37, 53, True), (200, 150, True),
                                          (1, 5, False), (64, 48, False)])
def test_ks_2samp_equals_scipy(n1, n2, ties, method, alternative):
    rng = np.random.default_rng(n1 * 1000 + n2)
    a, b = _samples(rng, n1, n2, ties)
    got = ks_2samp(a, b, alternative=alternative, method=method)
    want = stats.ks_2samp(a, b, alternative=alternative, method=method)
    assert got.statistic == pytest.approx(want.statistic, rel=1e-14, abs=1e-15)
    assert got.pvalue == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)


def test_ks_2samp_tiny_exact_pvalues_keep_relative_accuracy():
    a = np.arange(60.0)
    b = np.arange(60.0) + 45.5
    for alt in ALTS:
        got, want = ks_2samp(a, b, alt, "exact"), stats.ks_2samp(a, b, alt, "exact")
        assert want.pvalue < 1e-10 or alt == "less"  # a lies below b: "less" has statistic 0
        assert got.pvalue == pytest.approx(want.pvalue, rel=1e-9)


def test_ks_2samp_large_samples_use_the_asymptotic_law_in_auto():
    rng = np.random.default_rng(5)
    for shift in (0.01, 0.03, 0.05, 0.2):  # p from ~0.5 to the 2 x Smirnov branch and below 1e-100
        a, b = rng.normal(size=20000), rng.normal(shift, 1, size=15000)
        got, want = ks_2samp(a, b), stats.ks_2samp(a, b)
        assert got.statistic == want.statistic
        assert got.pvalue == pytest.approx(want.pvalue, rel=1e-10, abs=1e-300)


@pytest.mark.parametrize("n1, n2", [(1, 1), (5, 3), (97, 256), (1000, 999)])
@pytest.mark.parametrize("weighted", [False, True])
def test_wasserstein_equals_scipy(n1, n2, weighted):
    rng = np.random.default_rng(n1 + n2)
    u, v = np.round(rng.exponential(size=n1), 1), np.round(rng.exponential(size=n2) + 0.3, 1)
    uw = rng.uniform(0, 3, n1) if weighted else None
    vw = rng.uniform(0, 3, n2) if weighted else None
    want = stats.wasserstein_distance(u, v, uw, vw)
    assert wasserstein_distance(u, v, uw, vw) == pytest.approx(want, rel=1e-12, abs=1e-14)


def test_wasserstein_with_zero_weights_equals_scipy():
    u, v = np.array([0.0, 1, 2, 5]), np.array([1.0, 1, 3])
    uw, vw = np.array([1.0, 0, 2, 0]), np.array([0.0, 1, 1])
    assert wasserstein_distance(u, v, uw, vw) == pytest.approx(stats.wasserstein_distance(u, v, uw, vw), rel=1e-13)


@pytest.mark.parametrize("weights", [None, "whole"])
def test_wasserstein_of_huge_values_equals_scipy(weights):
    # values near 1e305: the gaps times n1 n2 (the integer walk's scale) overflow a double, while
    # the distance itself is finite
    rng = np.random.default_rng(11)
    u, v = rng.normal(size=1000) * 1e305, rng.normal(0.5, 1, size=800) * 1e305
    uw, vw = (None, None) if weights is None else (rng.integers(1, 4, 1000) * 1.0, rng.integers(1, 4, 800) * 1.0)
    want = stats.wasserstein_distance(u, v, uw, vw)
    assert np.isfinite(want)
    assert wasserstein_distance(u, v, uw, vw) == pytest.approx(want, rel=1e-12)
    if weights is None:
        w = drift({"x": u}, {"x": v}).to_frame()["wasserstein"].iloc[0]
        assert w == pytest.approx(want, rel=1e-12)


def test_reference_std_of_huge_values_is_finite():
    # squared deviations of values near 1e200 overflow: the std was NaN and the row said
    # "constant reference column" with wasserstein_norm inf
    rng = np.random.default_rng(12)
    u, v = rng.normal(size=1000) * 1e200, rng.normal(0.5, 1, size=800) * 1e200
    row = drift({"x": u}, {"x": v}).to_frame().iloc[0]
    sd = np.std(u / 1e200) * 1e200
    assert row["wasserstein_norm"] == pytest.approx(row["wasserstein"] / sd, rel=1e-12)
    assert row["note"] != "constant reference column"


@pytest.mark.parametrize("scale", [1e300, 1e307])
def test_reference_mean_and_std_of_values_near_the_top_of_float64_are_finite(scale):
    # values near 1e307: the reference mean's sum overflowed (5000 values of ~1e307), so ref_mean
    # was inf and wasserstein_norm inf while wasserstein was finite and right
    rng = np.random.default_rng(0)
    u, v = rng.normal(0, 1, 5000) * scale, rng.normal(0.5, 1, 5000) * scale
    row = drift({"x": u}, {"x": v}).to_frame().iloc[0]
    k = 2.0**-1000  # exact: the same computation on scaled data
    us, vs = u * k, v * k
    assert row["wasserstein"] * k == pytest.approx(stats.wasserstein_distance(us, vs), rel=1e-12)
    assert np.isfinite(row["wasserstein_norm"])
    assert row["wasserstein_norm"] == pytest.approx(stats.wasserstein_distance(us, vs) / np.std(us), rel=1e-12)


def test_reference_std_reaches_the_largest_double():
    # half the values at -DBL_MAX, half at +DBL_MAX: mean 0 and std DBL_MAX, neither inf nor NaN
    # (the kernel's numbers: the Wasserstein distance of such columns overflows itself)
    from mlsd import _core

    big = np.finfo(np.float64).max
    u = np.r_[np.full(50, -big), np.full(50, big), np.full(1, big / 3)]
    got = _core.monitoring.drift_columns([u], [u], False, [], 10)
    assert got["ref_mean"][0] == pytest.approx(big / 3 / 101, rel=1e-12)
    assert np.isfinite(got["ref_std"][0])
    assert got["ref_std"][0] == pytest.approx(np.std(u * 2.0**-600) * 2.0**600, rel=1e-12)


@pytest.mark.parametrize("uw", [[0.0, 0.0], [1e308, 1e308]])
def test_wasserstein_weights_must_sum_to_a_positive_finite_value(uw):
    # SciPy raises for both; a sum that overflows to inf used to give a silently wrong distance
    with pytest.raises(ValueError, match="positive and finite"), np.errstate(over="ignore"):
        stats.wasserstein_distance([0.0, 1.0], [0.0, 1.0], uw)
    with pytest.raises(ValueError, match="wasserstein_distance.*u_weights must sum to a positive finite value"):
        wasserstein_distance([0.0, 1.0], [0.0, 1.0], uw)


def _numeric_case(seed, n1=3000, n2=2500):
    rng = np.random.default_rng(seed)
    ref = {"a": rng.normal(size=n1), "b": np.round(rng.gamma(2, size=n1), 1), "c": rng.uniform(size=n1)}
    cur = {"a": rng.normal(0.2, 1, size=n2), "b": np.round(rng.gamma(2.3, size=n2), 1), "c": rng.uniform(size=n2)}
    ref["c"][rng.random(n1) < 0.1] = np.nan
    cur["c"][rng.random(n2) < 0.2] = np.nan
    return ref, cur


@pytest.mark.parametrize("seed", range(3))
def test_drift_numeric_columns_equal_their_references(seed):
    ref, cur = _numeric_case(seed)
    rep = drift(ref, cur, n_bins=10)
    for i, name in enumerate(rep.column):
        r, c = ref[name][~np.isnan(ref[name])], cur[name][~np.isnan(cur[name])]
        ks = stats.ks_2samp(r, c)
        assert rep.ks[i] == pytest.approx(ks.statistic, rel=1e-14)
        assert rep.ks_pvalue[i] == pytest.approx(ks.pvalue, rel=1e-9, abs=1e-300)
        w = stats.wasserstein_distance(r, c)
        assert rep.wasserstein[i] == pytest.approx(w, rel=1e-12)
        assert rep.wasserstein_norm[i] == pytest.approx(w / np.std(r), rel=1e-12)
        # bins: the reference's deciles (np.quantile), repeated edges merged, outer bins open
        edges = np.unique(np.quantile(r, np.linspace(0, 1, 11)))
        labels, rc, cc = rep._bins[name]
        inner = edges[1:-1]
        want_rc = np.bincount(np.searchsorted(inner, r, side="right"), minlength=len(edges) - 1)
        want_cc = np.bincount(np.searchsorted(inner, c, side="right"), minlength=len(edges) - 1)
        np.testing.assert_array_equal(rc, want_rc)
        np.testing.assert_array_equal(cc, want_cc)
        assert rep.jensenshannon[i] == pytest.approx(jensenshannon(want_rc, want_cc), rel=1e-12, abs=1e-15)
        p, q = want_rc / want_rc.sum(), want_cc / want_cc.sum()
        pe, qe = np.where(p == 0, 1e-4, p), np.where(q == 0, 1e-4, q)
        assert rep.psi[i] == pytest.approx(np.sum((qe - pe) * np.log(qe / pe)), rel=1e-12, abs=1e-15)
        assert rep.hellinger[i] == pytest.approx(np.sqrt(max(0.0, 1 - np.sum(np.sqrt(p * q)))), rel=1e-9, abs=1e-12)
        assert rep.missing_ref[i] == pytest.approx(np.isnan(ref[name]).mean(), abs=0)
        assert rep.missing_change[i] == pytest.approx(np.isnan(cur[name]).mean() - np.isnan(ref[name]).mean())


def test_fixed_edges_count_like_numpy_with_open_outer_bins():
    ref, cur = _numeric_case(7)
    edges = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    rep = drift(ref, cur, bins=edges, columns=["a", "b"])
    for name in ("a", "b"):
        _, rc, cc = rep._bins[name]
        for got, x in ((rc, ref[name]), (cc, cur[name])):
            want = np.histogram(np.clip(x, edges[0], edges[-1]), bins=edges)[0]
            np.testing.assert_array_equal(got, want)
        i = list(rep.column).index(name)
        assert rep.jensenshannon[i] == pytest.approx(jensenshannon(rc, cc), rel=1e-12)


@pytest.mark.parametrize("alternative", ALTS)
@pytest.mark.parametrize("ks_method", ["exact", "asymp"])
def test_drift_ks_options_follow_scipy(alternative, ks_method):
    ref, cur = _numeric_case(3, 300, 211)
    rep = drift(ref, cur, ks_method=ks_method, alternative=alternative)
    for i, name in enumerate(rep.column):
        r, c = ref[name][~np.isnan(ref[name])], cur[name][~np.isnan(cur[name])]
        want = stats.ks_2samp(r, c, alternative=alternative, method=ks_method)
        assert rep.ks[i] == pytest.approx(want.statistic, rel=1e-14)
        assert rep.ks_pvalue[i] == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("k_ref, k_cur", [(2, 2), (5, 5), (6, 4), (3, 6)])
def test_categorical_columns_equal_their_references(k_ref, k_cur):
    rng = np.random.default_rng(k_ref * 10 + k_cur)
    ref = {"c": rng.choice([f"v{i}" for i in range(k_ref)], 800).astype(object)}
    cur = {"c": rng.choice([f"v{i}" for i in range(k_cur)], 600, p=np.arange(1, k_cur + 1) / np.arange(1, k_cur + 1).sum()).astype(object)}
    ref["c"][:13] = None
    cur["c"][:7] = np.nan
    rep = drift(ref, cur)
    cats = sorted(set(ref["c"][13:]) | set(cur["c"][7:]))
    rc = np.array([np.sum(ref["c"][13:] == v) for v in cats])
    cc = np.array([np.sum(cur["c"][7:] == v) for v in cats])
    table = np.vstack([rc, cc])
    want = stats.chi2_contingency(table)
    assert rep.chi2[0] == pytest.approx(want.statistic, rel=1e-12)
    assert rep.chi2_pvalue[0] == pytest.approx(want.pvalue, rel=1e-9)
    assert rep.cramers_v[0] == pytest.approx(stats.contingency.association(table, method="cramer"), rel=1e-12)
    assert rep.jensenshannon[0] == pytest.approx(jensenshannon(rc, cc), rel=1e-12)
    assert rep.new_categories[0] == tuple(v for v in cats if v not in set(ref["c"][13:]))
    assert rep.vanished_categories[0] == tuple(v for v in cats if v not in set(cur["c"][7:]))
    assert rep.missing_ref[0] == pytest.approx(13 / 800) and rep.missing_cur[0] == pytest.approx(7 / 600)
    assert rep.method[0] == "chisquare" and rep.drifted[0] == (want.pvalue < 0.05)


def test_auto_methods_and_thresholds_follow_evidentlys_defaults():
    rng = np.random.default_rng(1)
    small = drift({"x": rng.normal(size=500), "c": rng.choice(list("ab"), 500)},
                  {"x": rng.normal(size=500), "c": rng.choice(list("ab"), 500)})
    assert list(small.method) == ["ks", "chisquare"] and list(small.threshold) == [0.05, 0.05]
    big = drift({"x": rng.normal(size=1001), "c": rng.choice(list("ab"), 1001)},
                {"x": rng.normal(2, 1, size=900), "c": rng.choice(list("ab"), 900)})
    assert list(big.method) == ["wasserstein", "jensenshannon"] and list(big.threshold) == [0.1, 0.1]
    assert big.statistic[0] == big.wasserstein_norm[0] and big.drifted[0]
    assert big.statistic[1] == big.jensenshannon[1]
    # per-column method and threshold overrides
    rep = drift({"x": rng.normal(size=200)}, {"x": rng.normal(size=200)}, method={"x": "psi"}, threshold=0.2)
    assert rep.method[0] == "psi" and rep.threshold[0] == 0.2 and rep.statistic[0] == rep.psi[0]
    assert rep.drifted[0] == (rep.psi[0] >= 0.2)


def test_results_do_not_depend_on_the_thread_count():
    ref, cur = _numeric_case(11, 70000, 50000)
    try:
        mlsd.set_num_threads(1)
        one = drift(ref, cur).to_frame()
    finally:
        mlsd.set_num_threads(None)
    many = drift(ref, cur).to_frame()
    assert one.equals(many)


@pytest.mark.parametrize("n, x", [(141, 0.2), (200, 0.1), (1000, 0.05), (1000, 0.6), (30000, 0.02), (500000, 0.0025),
                                  (500000, 0.005), (1000000, 0.003), (1000000, 0.0191),
                                  (1000001, 0.003), (2000000, 0.0021), (10**7, 0.0032), (10**7, 0.6)])
def test_kolmogorov_tail_equals_scipy_kstwo(n, x):
    from mlsd.monitoring._stats import kolmogorov_sf

    got = kolmogorov_sf(np.array([x]), np.array([float(n)]))[0]
    assert got == pytest.approx(stats.kstwo.sf(x, n), rel=1e-11, abs=1e-300)


@pytest.mark.parametrize("method", ["psi", "jensenshannon", "hellinger"])
def test_binned_distances_see_a_constant_reference_move(method):
    # one quantile bin held every value: the distances were 0 whatever current held
    ref = {"x": np.zeros(2000)}
    moved = drift(ref, {"x": np.full(1500, 5.0)}, method=method)
    below = drift(ref, {"x": np.full(1500, -5.0)}, method=method)
    same = drift(ref, {"x": np.zeros(1500)}, method=method)
    assert bool(moved.drifted[0]) and bool(below.drifted[0]) and not same.drifted[0]
    assert same.statistic[0] == 0.0
    labels, rc, cc = moved._bins["x"]
    assert list(rc) == [0, 2000, 0] and list(cc) == [0, 0, 1500]
    p, q = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    assert moved.jensenshannon[0] == pytest.approx(jensenshannon(p, q), rel=1e-15)
