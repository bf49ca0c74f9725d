"""Streaming Poisson bootstrap: jackknife closed forms, determinism, agreement with SciPy within
Monte Carlo error, and coverage on simulated A/A data."""

import numpy as np
import pytest
import scipy.stats as st

import mlsd
from mlsd.abtest import bootstrap
from mlsd.abtest._bootstrap import _Arm


def brute_jackknife_u(theta_of, n):
    theta = np.array([theta_of(np.delete(np.arange(n), i)) for i in range(n)])
    return (n - 1) * (theta.mean() - theta)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("q", [0.0, 0.1, 0.5, 0.77, 1.0])
def test_jackknife_closed_forms_equal_leave_one_out(seed, q):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    y = np.round(rng.normal(size=n), 1)  # ties
    d = rng.uniform(0.5, 2, n)
    arm = _Arm(y, "data", "quantile", q, "bootstrap")
    ref = brute_jackknife_u(lambda idx: np.quantile(y[idx], q, method="inverted_cdf"), n)
    # arm's U is indexed by sorted position, the brute force by row: the multisets must agree
    np.testing.assert_allclose(np.sort(arm.jackknife_u()), np.sort(ref), atol=1e-12)
    mean = _Arm(y, "data", "mean", q, "bootstrap")
    np.testing.assert_allclose(mean.jackknife_u(), brute_jackknife_u(lambda idx: y[idx].mean(), n), atol=1e-12)
    ratio = _Arm({"y": y, "denominator": d}, "data", "ratio", q, "bootstrap")
    np.testing.assert_allclose(ratio.jackknife_u(), brute_jackknife_u(lambda idx: y[idx].sum() / d[idx].sum(), n),
                               atol=1e-10)


def test_identical_for_any_thread_count_and_seeded():
    rng = np.random.default_rng(1)
    t, c = rng.exponential(1.1, 70_001), rng.exponential(1.0, 50_000)
    runs = []
    for threads in (1, 2):
        mlsd.set_num_threads(threads)
        runs.append([bootstrap(t, c, statistic=s, n_resamples=50, seed=5) for s in ("mean", "median")])
    for a, b in zip(*runs):
        assert np.array_equal(a.bootstrap_distribution, b.bootstrap_distribution)
        assert a.confidence_interval == b.confidence_interval
    other = bootstrap(t, c, n_resamples=50, seed=6)
    assert not np.array_equal(other.bootstrap_distribution, runs[0][0].bootstrap_distribution)


def test_block_size_does_not_change_the_result(monkeypatch):
    import mlsd.abtest._bootstrap as B

    rng = np.random.default_rng(4)
    t, c = rng.normal(size=3001), rng.normal(size=2000)
    whole = [bootstrap(t, c, statistic=s, n_resamples=250, seed=9) for s in ("mean", "median")]
    monkeypatch.setattr(B, "RESAMPLE_BLOCK", 7)
    blocks = [bootstrap(t, c, statistic=s, n_resamples=250, seed=9) for s in ("mean", "median")]
    for a, b in zip(whole, blocks):
        assert np.array_equal(a.bootstrap_distribution, b.bootstrap_distribution)


@pytest.mark.parametrize("method", ["bca", "percentile", "basic"])
@pytest.mark.parametrize("statistic", ["mean", "median", "ratio"])
def test_agrees_with_scipy_bootstrap_within_monte_carlo_error(method, statistic):
    rng = np.random.default_rng(2)
    n_t, n_c = 3000, 2000
    yt, yc = rng.exponential(1.1, n_t), rng.exponential(1.0, n_c)
    dt, dc = rng.poisson(3, n_t) + 1.0, rng.poisson(3, n_c) + 1.0
    if statistic == "ratio":
        mine = bootstrap({"y": yt, "denominator": dt}, {"y": yc, "denominator": dc}, statistic="ratio",
                         method=method, n_resamples=3000, seed=1)

        def stat(a, b, c, e, axis):
            return a.sum(axis) / b.sum(axis) - c.sum(axis) / e.sum(axis)

        # resample rows of (y, d) jointly: bootstrap the row indices
        idx_t, idx_c = np.arange(n_t), np.arange(n_c)
        ref = st.bootstrap((idx_t, idx_c), lambda i, j, axis: stat(yt[i], dt[i], yc[j], dc[j], axis),
                           method=method, n_resamples=3000, random_state=1)
    else:
        f = (lambda a, axis: a.mean(axis)) if statistic == "mean" else (
            lambda a, axis: np.quantile(a, 0.5, method="inverted_cdf", axis=axis))
        mine = bootstrap(yt, yc, statistic=statistic, method=method, n_resamples=3000, seed=1)
        ref = st.bootstrap((yt, yc), lambda a, b, axis: f(a, axis) - f(b, axis), method=method,
                           n_resamples=3000, random_state=1)
    width = ref.confidence_interval.high - ref.confidence_interval.low
    # Monte Carlo error of an endpoint with 3000 resamples is a few percent of the width.
    assert abs(mine.confidence_interval[0] - ref.confidence_interval.low) < 0.12 * width
    assert abs(mine.confidence_interval[1] - ref.confidence_interval.high) < 0.12 * width
    assert mine.standard_error == pytest.approx(ref.standard_error, rel=0.1)


@pytest.mark.parametrize("method", ["bca", "percentile", "basic"])
def test_coverage_on_simulated_aa_data(method):
    rng = np.random.default_rng(3)
    reps, n = 200, 300
    covered_diff = covered_median = 0
    for r in range(reps):
        a, b = rng.lognormal(0, 0.8, n), rng.lognormal(0, 0.8, n)  # A/A: true difference 0
        lo, hi = bootstrap(a, b, method=method, n_resamples=400, seed=r).confidence_interval
        covered_diff += lo <= 0 <= hi
        lo, hi = bootstrap(a, statistic="median", method=method, n_resamples=400, seed=r).confidence_interval
        covered_median += lo <= 1.0 <= hi  # median of lognormal(0, s) is 1
    # 95% intervals; the binomial sd of the rate over 200 runs is 1.5%
    assert 0.90 <= covered_diff / reps <= 0.99
    assert 0.88 <= covered_median / reps <= 0.99


@pytest.mark.parametrize("kwargs, exc, fragment", [
    ({"data": [1.0]}, ValueError, "bootstrap: data needs at least two observations"),
    ({"data": [1.0, np.nan, 2.0]}, ValueError, "bootstrap: data must be finite; found nan at index 1"),
    ({"data": [1.0, 2.0], "control": [np.inf, 1.0]}, ValueError, "control must be finite"),
    ({"data": [1.0, 2.0], "statistic": "ratio"}, ValueError, "needs data as a mapping"),
    ({"data": {"y": [1.0, 2.0], "denominator": [1.0]}, "statistic": "ratio"}, ValueError, "denominator has 1 elements"),
    ({"data": [1.0, 2.0], "statistic": "mode"}, ValueError, "'statistic' parameter of bootstrap"),
    ({"data": [1.0, 2.0], "method": "studentized"}, ValueError, "'method' parameter of bootstrap"),
    ({"data": [1.0, 2.0], "n_resamples": 0}, ValueError, "'n_resamples' parameter of bootstrap"),
    ({"data": [1.0, 2.0], "alpha": 1.0}, ValueError, "'alpha' parameter of bootstrap"),
    ({"data": [1.0, 2.0], "seed": -1}, ValueError, "'seed' parameter of bootstrap"),
    ({"data": [1.0, 2.0], "statistic": "quantile", "q": 1.5}, ValueError, "'q' parameter of bootstrap"),
])
def test_bad_input(kwargs, exc, fragment):
    with pytest.raises(exc) as info:
        bootstrap(**kwargs)
    assert fragment in str(info.value)


def test_key_column_follows_rows_wherever_they_are():
    """Weights keyed by a unit id follow the row: shuffled rows give the same resamples (to
    rounding), keys 0, 1, ... are the default keys bit for bit, and rows sharing a key share
    their weights.  (mlsd.dask.bootstrap relies on this; tests/test_dask_abtest.py checks it.)"""
    rng = np.random.default_rng(6)
    n = 1000
    y, d = rng.exponential(1.1, n), rng.poisson(3, n) + 1.0
    key = rng.choice(10**9, n, replace=False).astype(np.int64)
    order = rng.permutation(n)
    for statistic in ("mean", "ratio", "median"):
        keyed = {"y": y, "key": key, **({"denominator": d} if statistic == "ratio" else {})}
        shuffled = {r: v[order] for r, v in keyed.items()}
        a = bootstrap(keyed, statistic=statistic, n_resamples=100, seed=2)
        b = bootstrap(shuffled, statistic=statistic, n_resamples=100, seed=2)
        np.testing.assert_allclose(a.bootstrap_distribution, b.bootstrap_distribution, rtol=1e-13)
        np.testing.assert_allclose(a.confidence_interval, b.confidence_interval, rtol=1e-12)
    a = bootstrap({"y": y, "key": np.arange(n)}, n_resamples=100, seed=2)
    b = bootstrap(y, n_resamples=100, seed=2)
    np.testing.assert_array_equal(a.bootstrap_distribution, b.bootstrap_distribution)
    # every row twice under its own key: each resampled mean is unchanged
    twice = bootstrap({"y": np.repeat(y, 2), "key": np.repeat(np.arange(n), 2)}, n_resamples=100, seed=2)
    np.testing.assert_allclose(twice.bootstrap_distribution, b.bootstrap_distribution, rtol=1e-13)
    assert not np.allclose(bootstrap({"y": y, "key": key}, n_resamples=100, seed=2).bootstrap_distribution,
                           b.bootstrap_distribution, rtol=1e-6)
    with pytest.raises(TypeError, match="data: key must hold integers"):
        bootstrap({"y": y, "key": y})
    with pytest.raises(ValueError, match="control: key has 999 elements but y has 1000"):
        bootstrap(y, {"y": y, "key": key[:-1]})
    with pytest.raises(ValueError, match="a 'denominator' is needed for statistic='ratio' and only for it"):
        bootstrap({"y": y, "denominator": d})
    with pytest.raises(ValueError, match="must be a mapping with keys 'y'"):
        bootstrap({"y": y, "weight": d})
