"""analyze(): many metrics x variants in one call, tidy frame, plot; A/A p-values are uniform."""

import numpy as np
import pytest
import scipy.stats as st
from statsmodels.stats.multitest import multipletests as sm_multipletests
from statsmodels.stats.proportion import proportions_ztest as sm_proportions_ztest

from mlsd.abtest import Stats, analyze, combine, compare, mannwhitneyu, proportions_ztest, ttest_ind


def test_counts_rows_equal_statsmodels_loop_and_correction():
    rng = np.random.default_rng(0)
    m = 40
    n = {v: rng.integers(1000, 5000, m) for v in "ABC"}
    s = {v: rng.binomial(n[v], 0.2) for v in "ABC"}
    res = analyze({v: (s[v], n[v]) for v in "ABC"}, control="A", metrics=[f"m{i}" for i in range(m)],
                  correction="fdr_bh")
    df = res.to_frame()
    assert list(df.columns[:11]) == ["metric", "variant", "control", "estimate", "ci_low", "ci_high", "pvalue",
                                     "pvalue_corrected", "method", "treatment_value", "control_value"]
    assert len(df) == 2 * m and set(df.variant) == {"B", "C"} and (df.control == "A").all()
    for _, row in df.sample(10, random_state=1).iterrows():
        i = int(row.metric[1:])
        ref = sm_proportions_ztest([s[row.variant][i], s["A"][i]], [n[row.variant][i], n["A"][i]])
        assert row.pvalue == pytest.approx(ref[1], rel=1e-10)
        assert row.estimate == pytest.approx(s[row.variant][i] / n[row.variant][i] - s["A"][i] / n["A"][i], rel=1e-12)
    np.testing.assert_allclose(df.pvalue_corrected, sm_multipletests(df.pvalue, method="fdr_bh")[1], rtol=1e-12)


def test_stats_batches_equal_single_calls_and_raw_arrays():
    rng = np.random.default_rng(1)
    raw = {v: [{"y": rng.normal(0.1 * i, 1, 300), "covariate": rng.normal(size=300)} for i in range(3)] for v in "AB"}
    batched = {v: Stats.stack([Stats.from_mapping(d) for d in raw[v]]) for v in "AB"}
    res = analyze(batched, control="A", relative=True, correction=None)
    for i in range(3):
        ref = compare(raw["B"][i], raw["A"][i], relative=True)
        assert res.estimate[i] == pytest.approx(ref.estimate, rel=1e-12)
        assert res.pvalue[i] == pytest.approx(ref.pvalue, rel=1e-10)
        assert res.ci_low[i] == pytest.approx(ref.confidence_interval[0], rel=1e-10)
        assert res.extra["variance_reduction"][i] == pytest.approx(ref.extra["variance_reduction"], rel=1e-10)
    assert np.array_equal(res.pvalue_corrected, res.pvalue)
    one = analyze({"A": raw["A"][0]["y"], "B": raw["B"][0]["y"]}, control="A")
    assert one.pvalue[0] == pytest.approx(ttest_ind(raw["B"][0]["y"], raw["A"][0]["y"], equal_var=False).pvalue, rel=1e-12)


def test_combine_corrects_over_all_rows():
    rng = np.random.default_rng(3)
    conv = analyze({v: (rng.binomial(1000, 0.1, 3), np.full(3, 1000)) for v in "ABC"}, control="A",
                   metrics=["c1", "c2", "c3"])
    arm = lambda: {"y": rng.poisson(3, 400) * 1.0, "denominator": rng.poisson(2, 400) + 1.0}  # noqa: E731
    ratio = analyze({v: arm() for v in "AB"}, control="A", metrics=["clicks/session"], test="z")
    both = combine([conv, ratio], correction="bonferroni")
    df = both.to_frame()
    assert len(df) == len(conv) + len(ratio) == 7
    np.testing.assert_allclose(df.pvalue, np.r_[conv.pvalue, ratio.pvalue])
    np.testing.assert_allclose(df.pvalue_corrected, np.minimum(df.pvalue * 7, 1.0), rtol=1e-14)
    assert "ratio (delta method)" in df.method.iloc[-1]
    with pytest.raises(ValueError, match="same control"):
        combine([conv, analyze({v: arm() for v in "XB"}, control="X")])


def test_plot_draws_every_interval():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    res = analyze({"A": (np.array([100, 50, 10]), np.array([1000, 1000, 1000])),
                   "B": (np.array([160, 52, 12]), np.array([1000, 1000, 1000]))}, control="A",
                  metrics=["click", "buy", "share"])
    ax = res.plot()
    xs = np.concatenate([line.get_xdata() for line in ax.lines if line.get_marker() == "o"])
    assert sorted(xs) == sorted(res.estimate)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["click: B", "buy: B", "share: B"]
    plt.close(ax.figure)


@pytest.mark.parametrize("call, fragment", [
    (lambda: analyze({"A": np.ones(3)}, control="A"), "at least one other variant"),
    (lambda: analyze({"A": np.arange(3.0), "B": np.arange(4.0)}, control="C"), "control 'C' is not among"),
    (lambda: analyze({"A": (np.array([1]), np.array([10])), "B": np.arange(4.0)}, control="A"), "mix of"),
    (lambda: analyze({"A": (np.array([1, 2]), np.array([10, 10])), "B": (np.array([1]), np.array([10]))},
                     control="A"), "batch shape"),
    (lambda: analyze({"A": (np.array([1, 2]), np.array([10, 10])), "B": (np.array([1, 3]), np.array([10, 10]))},
                     control="A", metrics=["x"]), "metrics has 1 names"),
    (lambda: analyze({"A": np.arange(3.0), "B": np.arange(4.0)}, control="A", correction="fdr_tsbh"), "'correction'"),
])
def test_analyze_bad_input(call, fragment):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert fragment in str(info.value)


# ---- A/A: p-values are uniform ------------------------------------------------------------------

def uniform(p):
    return st.kstest(p, "uniform").pvalue > 0.001


def test_aa_p_values_are_uniform():
    rng = np.random.default_rng(7)
    m = 1500
    # means (skewed data), through batched Stats
    a = Stats.stack([Stats.from_arrays(rng.exponential(size=200)) for _ in range(m)])
    b = Stats.stack([Stats.from_arrays(rng.exponential(size=200)) for _ in range(m)])
    assert uniform(ttest_ind(a, b).pvalue)
    # proportions from counts
    n = 20_000
    assert uniform(proportions_ztest((rng.binomial(n, 0.3, m), n), (rng.binomial(n, 0.3, m), n)).pvalue)
    # CUPED with a correlated covariate
    cuped = []
    for _ in range(300):
        x_t, x_c = rng.normal(size=300), rng.normal(size=300)
        cuped.append(compare({"y": x_t + rng.normal(size=300), "covariate": x_t},
                             {"y": x_c + rng.normal(size=300), "covariate": x_c}).pvalue)
    assert uniform(cuped)
    # Mann-Whitney: continuous data gives uniform p-values; with heavy ties the p-values are
    # discrete, so check the size of the 5% test instead (binomial sd over 300 runs: 1.3%)
    assert uniform([mannwhitneyu(rng.normal(size=150), rng.normal(size=170)).pvalue for _ in range(300)])
    tied = np.array([mannwhitneyu(rng.integers(0, 10, 150), rng.integers(0, 10, 170)).pvalue for _ in range(300)])
    assert 0.015 <= np.mean(tied <= 0.05) <= 0.09
