"""mlsd.abtest against its peers, measured in the same run and printed as ratios.

    python benchmarks/bench_abtest.py            # the sizes quoted in the README
    python benchmarks/bench_abtest.py --quick    # small sizes, a smoke run (used by the tests)

Cases (issue #6):
  * BCa bootstrap of a difference in means, 2 x 5,000,000 rows, 2,000 resamples
      vs scipy.stats.bootstrap -- which needs an n x resamples matrix per sample (and an n x (n-1)
      jackknife matrix for BCa) and cannot run at this size; it is compared at 2 x 10,000 rows,
      where it fits in memory
  * Mann-Whitney U, 1,000,000 vs 1,000,000 (with ties)   vs scipy.stats.mannwhitneyu
  * 10,000 metric x variant two-proportion z-tests from summary counts
      vs a loop of statsmodels proportions_ztest
  * Stats (count, means, centred cross-moments) of 10M rows x 2 columns vs NumPy mean/var/cov
  * chisquare: 10,000 one-test calls on 6 categories (the per-call overhead) and one call on
      10,000 x 1,000 counts with NaN omitted (nan_policy="omit"), vs scipy.stats.chisquare
Each timing is the best of --repeat runs (runs over 10 s are not repeated).  Every case checks
that mlsd and the peer agree before printing the ratio.
"""

from __future__ import annotations

import numpy as np

from mlsd import abtest as ab
from _common import best_time, setup


def report(name, t, peer_name, pt, agree, detail=""):
    print(f"  {name:<36} mlsd {t * 1e3:10.1f} ms   {peer_name:<36} {pt * 1e3:11.1f} ms   "
          f"ratio {pt / t:8.1f}x   {'values agree' if agree else 'MISMATCH ' + detail}")
    if not agree:
        raise SystemExit(1)


def bench_bootstrap(n_big, n_small, resamples, repeat):
    import scipy.stats as st

    rng = np.random.default_rng(0)
    t, c = rng.exponential(1.02, n_big), rng.exponential(1.0, n_big)
    print(f"BCa bootstrap of a difference in means, 2 x {n_big:,} rows, {resamples:,} resamples")
    r, secs = best_time(lambda: ab.bootstrap(t, c, method="bca", n_resamples=resamples, seed=1), repeat)
    gb = 2 * resamples * n_big * 8 / 1e9
    jack_gb = n_big * (n_big - 1) * 8 / 1e9  # (batching bounds the memory, not the n^2 work)
    print(f"  {'mlsd bootstrap (streaming Poisson)':<36} mlsd {secs * 1e3:10.1f} ms   "
          f"CI [{r.confidence_interval[0]:.5f}, {r.confidence_interval[1]:.5f}]")
    print(f"  {'scipy.stats.bootstrap':<36} not run: its resample matrices need {gb:,.2f} GB "
          f"(2 x {resamples:,} x {n_big:,} float64) and BCa's jackknife {jack_gb:,.0f} GB per sample "
          f"(n x (n-1) float64)")
    ts, cs = t[:n_small], c[:n_small]
    ours, secs = best_time(lambda: ab.bootstrap(ts, cs, method="bca", n_resamples=resamples, seed=1), repeat)
    stat = lambda a, b, axis: a.mean(axis) - b.mean(axis)  # noqa: E731
    ref, ref_secs = best_time(lambda: st.bootstrap((ts, cs), stat, method="BCa", n_resamples=resamples,
                                                   random_state=1), 1)
    width = ref.confidence_interval.high - ref.confidence_interval.low
    # different random resamples: the endpoints agree to Monte Carlo error (a few % of the width)
    agree = (abs(ours.confidence_interval[0] - ref.confidence_interval.low) < 0.15 * width
             and abs(ours.confidence_interval[1] - ref.confidence_interval.high) < 0.15 * width)
    report(f"bootstrap BCa 2 x {n_small:,}", secs, "scipy.stats.bootstrap BCa", ref_secs, agree,
           f"{ours.confidence_interval} vs {ref.confidence_interval}")


def bench_mann_whitney(n, repeat):
    import scipy.stats as st

    rng = np.random.default_rng(1)
    x, y = np.round(rng.normal(0.0, 1, n), 3), np.round(rng.normal(0.002, 1, n), 3)
    print(f"Mann-Whitney U: {n:,} vs {n:,}, {len(np.unique(np.r_[x, y])):,} distinct values (ties)")
    ours, secs = best_time(lambda: ab.mannwhitneyu(x, y), repeat)
    ref, ref_secs = best_time(lambda: st.mannwhitneyu(x, y), repeat)
    agree = ours.statistic == ref.statistic and np.isclose(ours.pvalue, ref.pvalue, rtol=1e-9)
    report("mannwhitneyu", secs, "scipy.stats.mannwhitneyu", ref_secs, agree)


def bench_ztests(n_metrics, repeat):
    from statsmodels.stats.proportion import proportions_ztest

    rng = np.random.default_rng(2)
    n = {v: rng.integers(10_000, 1_000_000, n_metrics) for v in "ABC"}
    s = {v: rng.binomial(n[v], rng.uniform(0.01, 0.3, n_metrics)) for v in "ABC"}
    print(f"{2 * n_metrics:,} two-proportion z-tests ({n_metrics:,} metrics x 2 variants vs control) from counts")

    def loop():
        return np.array([proportions_ztest([s[v][i], s["A"][i]], [n[v][i], n["A"][i]])[1]
                         for v in "BC" for i in range(n_metrics)])

    ref, ref_secs = best_time(loop, 1)
    vec, secs = best_time(lambda: np.concatenate([ab.proportions_ztest((s[v], n[v]), (s["A"], n["A"])).pvalue
                                                  for v in "BC"]), repeat)
    report("proportions_ztest (vectorised)", secs, "statsmodels proportions_ztest loop", ref_secs,
           np.allclose(vec, ref, rtol=1e-9, atol=0))
    res, secs = best_time(lambda: ab.analyze({v: (s[v], n[v]) for v in "ABC"}, control="A", correction="holm"),
                          repeat)
    report("analyze (+ Holm, tidy result)", secs, "statsmodels proportions_ztest loop", ref_secs,
           np.allclose(res.pvalue, ref, rtol=1e-9, atol=0))


def bench_stats(n, repeat):
    rng = np.random.default_rng(3)
    y, x = rng.normal(10, 2, n), rng.normal(5, 1, n)
    print(f"Stats: {n:,} rows x 2 columns (metric and covariate)")
    ours, secs = best_time(lambda: ab.Stats.from_arrays(y, covariate=x), repeat)

    def numpy_moments():
        return np.array([y.mean(), x.mean()]), np.cov(y, x) * (n - 1)

    (mean, com), ref_secs = best_time(numpy_moments, repeat)
    agree = np.allclose(ours.mean, mean, rtol=1e-12) and np.allclose(ours.comoment, com, rtol=1e-9)
    report("Stats.from_arrays", secs, "numpy mean + cov", ref_secs, agree)


def bench_chisquare(n_calls, shape, repeat):
    import scipy.stats as st

    rng = np.random.default_rng(4)
    obs = rng.integers(10, 50, 6).astype(float)
    print(f"chisquare: {n_calls:,} calls on 6 categories; one call on {shape[0]:,} x {shape[1]:,} counts with NaN")
    ours, secs = best_time(lambda: [ab.chisquare(obs) for _ in range(n_calls)][-1], repeat)
    ref, ref_secs = best_time(lambda: [st.chisquare(obs) for _ in range(n_calls)][-1], repeat)
    report(f"chisquare 1-D x {n_calls:,} calls", secs, "scipy.stats.chisquare", ref_secs,
           np.isclose(ours.statistic, ref.statistic, rtol=1e-12) and np.isclose(ours.pvalue, ref.pvalue, rtol=1e-10))
    table = rng.integers(1, 50, size=shape).astype(float)
    table[rng.random(shape) < 0.01] = np.nan
    ours, secs = best_time(lambda: ab.chisquare(table, axis=1, nan_policy="omit"), repeat)
    ref, ref_secs = best_time(lambda: st.chisquare(table, axis=1, nan_policy="omit"), 1)
    report("chisquare n-D, nan_policy='omit'", secs, "scipy.stats.chisquare", ref_secs,
           np.allclose(ours.statistic, ref.statistic, rtol=1e-10) and np.allclose(ours.pvalue, ref.pvalue, rtol=1e-9))


def main():
    args = setup(__doc__)
    quick = args.quick
    bench_bootstrap(50_000 if quick else 5_000_000, 2_000 if quick else 10_000, 200 if quick else 2_000, args.repeat)
    bench_mann_whitney(10_000 if quick else 1_000_000, args.repeat)
    bench_ztests(100 if quick else 5_000, args.repeat)
    bench_stats(100_000 if quick else 10_000_000, args.repeat)
    bench_chisquare(1_000 if quick else 10_000, (200, 100) if quick else (10_000, 1_000), args.repeat)


if __name__ == "__main__":
    main()
