"""The column sort under drift and Profile.from_data takes different paths by column size and by how
the values spread (top-16-bit counts taken while reading, a bucket split on bit_width(m) - 1 bits
with one insertion sort over each run of parts of at most 32 keys, parts of more than 32 keys and
buckets of more than 32768 keys sorted by the LSD sort, tiny buckets insertion-sorted directly).  Each path must give NumPy's sorted
order, and drift's statistics must stay SciPy's on every one, whatever the thread count and however
the columns are batched (one column per task, or one column split across the threads)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import mlsd
from mlsd import _core
from mlsd.monitoring import drift

BIG = (1 << 19) + 3  # from 2^19 values the column's top 16 key bits are counted while reading


def _runs(rng, n: int) -> np.ndarray:
    c = np.repeat(rng.standard_normal(n // 25 + 1), 25)[:n]
    c = c + np.spacing(c) * rng.integers(0, 1000, n)
    rng.shuffle(c)
    return c


def _columns(n: int, seed: int) -> dict:
    """Columns that reach each path of the sort, n values each."""
    rng = np.random.default_rng(seed)
    out = {
        # both signs: the buckets are the counted top 16 bits
        "normal": rng.standard_normal(n),
        # one sign: the split bits sit lower, the buckets are counted again
        "lognormal": rng.lognormal(0.0, 2.0, n),
        # heavy ties: buckets of one repeated key
        "ties": rng.integers(0, 20, n).astype(float),
        # keys clustered below a bucket's split (a part of more than 32 distinct keys) among spread values
        "clustered": np.where(rng.random(n) < 0.01, 1.0 + rng.integers(0, 64, n) * 2.0**-52, rng.standard_normal(n)),
        # clusters of ~25 keys a few ulps apart in random order: parts of up to 32 keys whose keys move
        # many places in the insertion sort (and out is written 32 places behind it)
        "runs": _runs(rng, n),
        # one bucket of more than 32768 distinct keys (the LSD sort) among spread values
        "dense": np.where(rng.random(n) < 0.3, 1.0 + rng.random(n) * 2.0**-30, rng.standard_normal(n) * 100),
        # -0.0 and 0.0, subnormals, values near 1e305 and NaN (missing)
        "edges": rng.choice([-0.0, 0.0, 5e-324, -5e-324, 1e-310, 1e305, -1e305, 1.5, -2.5, np.nan], n)
        * np.where(rng.random(n) < 0.5, 1.0, rng.random(n) + 0.5),
    }
    with_nan = rng.standard_normal(n)
    with_nan[rng.random(n) < 0.2] = np.nan
    out["nan"] = with_nan
    return out


def _expected_sorted(x: np.ndarray) -> np.ndarray:
    # the sort canonicalises -0.0 to 0.0 (x + 0.0); every other value keeps its bits
    return np.sort(x[~np.isnan(x)]) + 0.0


@pytest.mark.parametrize("n", [1, 2, 47, 48, 49, 1000, 40000, BIG])
@pytest.mark.parametrize("threads", [1, 2])
def test_sort_columns_gives_numpys_order_on_every_path(n, threads):
    cols = _columns(n, n)
    arrays = [np.ascontiguousarray(v) for v in cols.values()]
    try:
        mlsd.set_num_threads(threads)
        together, missing = _core.monitoring.sort_columns(arrays)  # one column per task
        alone = [_core.monitoring.sort_columns([a])[0][0] for a in arrays]  # one column across the threads
    finally:
        mlsd.set_num_threads(None)
    for name, x, got, one, miss in zip(cols, arrays, together, alone, missing):
        want = _expected_sorted(x)
        assert miss == np.isnan(x).sum(), name
        assert np.array_equal(np.asarray(got).view(np.int64), want.view(np.int64)), name
        assert np.array_equal(np.asarray(one).view(np.int64), want.view(np.int64)), name


def test_drift_matches_scipy_on_every_sort_path():
    ref, cur = _columns(BIG, 1), _columns(BIG - 40000, 2)
    rep = drift(ref, cur)
    for i, name in enumerate(rep.column):
        a, b = ref[name], cur[name]
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        ks = stats.ks_2samp(a, b)
        assert rep.ks[i] == pytest.approx(ks.statistic, rel=1e-14, abs=1e-15), name
        assert rep.ks_pvalue[i] == pytest.approx(ks.pvalue, rel=1e-9, abs=1e-300), name
        w = stats.wasserstein_distance(a, b)
        assert rep.wasserstein[i] == pytest.approx(w, rel=1e-9, abs=1e-300), name


def test_drift_is_the_same_for_any_thread_count_and_batching():
    ref, cur = _columns(BIG, 3), _columns(BIG + 1000, 4)
    fields = ("ks", "ks_pvalue", "wasserstein", "wasserstein_norm", "psi", "jensenshannon", "hellinger")
    reports = []
    for threads in (1, 2):
        try:
            mlsd.set_num_threads(threads)
            reports.append(drift(ref, cur))  # columns >= threads: one column per task
            one = [drift({n: ref[n]}, {n: cur[n]}) for n in ref]  # a single column: split across threads
            reports.append(type("R", (), {f: np.concatenate([getattr(r, f) for r in one]) for f in fields})())
        finally:
            mlsd.set_num_threads(None)
    for r in reports[1:]:
        for f in fields:
            assert np.array_equal(getattr(r, f), getattr(reports[0], f), equal_nan=True), f
