"""Integer entity keys spread far wider than the tables have rows (``user_id * 10**12``, snowflake or
hashed 63-bit ids) are numbered densely inside the kernel, so that window_aggregate and
point_in_time_join group them as they group dense keys.  Only the plan may change: the same data
with the keys ``k``, ``k * 10**12 + 7``, random ids below 2**61 (offset by the encoder, numbered by
the kernel) and random 63-bit ids (numbered by the encoder) must give the same numbers, bit for
bit, on 1 and 2 threads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlsd
from mlsd.features import point_in_time_join, window_aggregate

from test_features_join_plans import _reference_rows
from test_features_window import CLOSED, _check
from test_features_window_paths import WINDOWS, _brute, _features, _mixed_events

KEYS = ["times_1e12", "random61", "random63"]
_MAX_KEY = 100_000


def _relabel(keys: pd.Series, how: str, seed: int = 0) -> pd.Series:
    """The keys (nullable Int64, >= 0) mapped one to one onto sparse ids, missing keys kept."""
    k = keys.astype("Int64")
    present = k.notna().to_numpy()
    codes = k.to_numpy(dtype=np.int64, na_value=0)
    if how == "times_1e12":
        ids = codes * np.int64(10**12) + 7
    else:
        top = 2**61 if how == "random61" else 2**63 - 1
        rng = np.random.default_rng(seed)  # one map for every table of a call: the same seed and size
        table = rng.permutation(np.unique(rng.integers(0, top, 2 * _MAX_KEY, dtype=np.int64)))[:_MAX_KEY]
        assert codes.max(initial=0) < _MAX_KEY
        ids = table[codes]
    return pd.Series(pd.arrays.IntegerArray(np.where(present, ids, 0), ~present), index=keys.index)


def _on_threads(fn, n):
    try:
        mlsd.set_num_threads(n)
        return fn()
    finally:
        mlsd.set_num_threads(None)


# -- window_aggregate -------------------------------------------------------------------------------

def _large_events(rng, n_entities=30_000, n=120_000):
    """Many entities per hash bucket of the numbering (2,048 buckets), a few above 32 events
    (walked), NaN values, missing keys."""
    k = rng.integers(0, n_entities, n).astype(float)
    k[:40 * 3] = np.repeat([1.0, 2.0, 3.0], 40)
    k[rng.random(n) < 0.01] = np.nan
    v = np.round(rng.normal(0, 10, n), 2)
    v[rng.random(n) < 0.1] = np.nan
    ev = pd.DataFrame({"k": pd.array(k).astype("Int64"), "t": rng.integers(0, 5_000, n), "v": v,
                       "w": rng.integers(-5, 5, n).astype(float)})
    return ev.sample(frac=1, random_state=3).reset_index(drop=True)


@pytest.mark.parametrize("how", KEYS)
@pytest.mark.parametrize("closed", CLOSED)
def test_window_aggregate_sparse_keys_give_the_dense_keys_bits(how, closed):
    rng = np.random.default_rng(31)
    ev = _mixed_events(rng)
    sparse = ev.assign(k=_relabel(ev["k"], how))
    assert sparse["k"].notna().sum() == ev["k"].notna().sum() > 0
    for values in ("v", ["v", "w"]):
        dense = window_aggregate(ev, by="k", on="t", values=values, windows=WINDOWS, closed=closed)
        keyed, want = _brute(ev, [values] if isinstance(values, str) else values, closed)
        _check(dense[keyed], want)
        for threads in (1, 2):
            got = _on_threads(lambda: window_aggregate(sparse, by="k", on="t", values=values, windows=WINDOWS,
                                                       closed=closed), threads)
            pd.testing.assert_frame_equal(_features(got), _features(dense), check_exact=True)


@pytest.mark.parametrize("how", KEYS)
def test_window_aggregate_sparse_keys_with_datetimes_and_many_entities(how):
    rng = np.random.default_rng(32)
    ev = _large_events(rng)
    t0 = np.datetime64("2024-03-01T00:00:00", "s")
    for frame, windows in ((ev, [30, 1, 600]),
                           (ev.assign(t=t0 + ev["t"].to_numpy().astype("timedelta64[s]")), ["30s", "1s", "10min"])):
        sparse = frame.assign(k=_relabel(frame["k"], how, seed=5))
        for closed in ("left", "both"):
            dense = window_aggregate(frame, by="k", on="t", values="v", windows=windows, closed=closed)
            for threads in (1, 2):
                got = _on_threads(lambda: window_aggregate(sparse, by="k", on="t", values="v", windows=windows,
                                                           closed=closed), threads)
                pd.testing.assert_frame_equal(_features(got), _features(dense), check_exact=True)
        sample = ev[ev["k"].notna()].iloc[::997].astype({"k": np.int64})
        keyed = ev[ev["k"].notna()].astype({"k": np.int64})
        if frame is ev:  # the dense numbers themselves, on a sample, against the brute force
            _check(dense.loc[sample.index], _brute_sample(keyed, sample, windows))


def _brute_sample(keyed, sample, windows):
    from test_features_window import AGGS, brute_force

    return brute_force(keyed, sample[["k", "t"]], ["v"], windows, AGGS, "both")


# -- point_in_time_join ------------------------------------------------------------------------------

def _join_case(seed, n=3_000, m=4_000, n_entities=6_000):
    """Spine keys absent from the features (above n_entities // 2 on the spine only), missing keys
    on both sides, many ties in time, creation times at or after the feature times."""
    rng = np.random.default_rng(seed)
    sk = rng.integers(0, n_entities, n).astype(float)
    fk = rng.integers(0, n_entities // 2, m).astype(float)
    sk[rng.random(n) < 0.03] = np.nan
    fk[rng.random(m) < 0.03] = np.nan
    spine = pd.DataFrame({"k": pd.array(sk).astype("Int64"), "t": rng.integers(0, 400, n)})
    ft = rng.integers(0, 400, m)
    feats = pd.DataFrame({"k": pd.array(fk).astype("Int64"), "t": ft, "c": ft + rng.integers(0, 30, m),
                          "row": np.arange(m), "x": rng.standard_normal(m)})
    return spine, feats


@pytest.mark.parametrize("how", KEYS)
@pytest.mark.parametrize("seed", range(4))
def test_point_in_time_join_sparse_keys_give_the_dense_keys_rows(how, seed):
    spine, feats = _join_case(seed)
    ss = spine.assign(k=_relabel(spine["k"], how, seed))
    fs = feats.assign(k=_relabel(feats["k"], how, seed))
    ttl = [None, 0, 25, 100][seed]
    for created in (None, "c"):
        for exact in (True, False):
            kw = dict(by="k", on="t", ttl=ttl, created_at=created, allow_exact_matches=exact)
            dense = point_in_time_join(spine, feats, **kw)
            rows = dense["row"].to_numpy(dtype=np.float64, na_value=np.nan)
            assert 0 < np.isnan(rows).sum() < len(rows) or (ttl == 0 and not exact)  # matches and misses
            if created is None:  # the dense rows themselves, against pandas
                keyed = spine["k"].notna() & True
                want = _reference_rows(spine[keyed].astype({"k": np.int64}), feats[feats["k"].notna()]
                                       .astype({"k": np.int64}).reset_index(drop=True), ttl=ttl,
                                       allow_exact_matches=exact)
                kept = feats["row"].to_numpy()[feats["k"].notna().to_numpy()]
                want = np.where(np.isnan(want), np.nan, kept[np.nan_to_num(want).astype(int)])
                np.testing.assert_array_equal(rows[keyed.to_numpy()], want)
                assert np.isnan(rows[~keyed.to_numpy()]).all()
            for threads in (1, 2):
                got = _on_threads(lambda: point_in_time_join(ss, fs, **kw), threads)
                pd.testing.assert_frame_equal(got.drop(columns="k"), dense.drop(columns="k"), check_exact=True)
                pd.testing.assert_series_equal(got["k"], ss["k"], check_names=False)


def test_point_in_time_join_sparse_keys_on_a_larger_case_for_any_thread_count():
    rng = np.random.default_rng(9)
    n = 150_000
    spine = pd.DataFrame({"k": rng.integers(0, 40_000, n), "t": rng.integers(0, 10**6, n)})
    feats = pd.DataFrame({"k": rng.integers(0, 30_000, n), "t": rng.integers(0, 10**6, n), "row": np.arange(n)})
    dense = point_in_time_join(spine, feats, by="k", on="t", ttl=50_000)
    ss = spine.assign(k=spine["k"] * 10**12 + 7)
    fs = feats.assign(k=feats["k"] * 10**12 + 7)
    for threads in (1, 2):
        got = _on_threads(lambda: point_in_time_join(ss, fs, by="k", on="t", ttl=50_000), threads)
        pd.testing.assert_frame_equal(got.drop(columns="k"), dense.drop(columns="k"), check_exact=True)
    sample = np.arange(0, n, 997)
    want = _reference_rows(spine, feats, ttl=50_000)[sample]
    np.testing.assert_array_equal(dense["row"].to_numpy(dtype=np.float64, na_value=np.nan)[sample], want)


# -- keys crafted against the numbering's hash -------------------------------------------------------

def _colliding_ids(n):
    """``n`` ids below 2**62, 0 first (so the kernel gets the ids themselves), the others hashing
    (the kernel's MurmurHash3 finaliser) to the same bucket and the same low 24 bits: one probe
    run would hold them all, a quadratic numbering (hours for a few million)."""
    m = 2**64
    inv1, inv2 = pow(0xff51afd7ed558ccd, -1, m), pow(0xc4ceb9fe1a85ec53, -1, m)
    ids, i = [0], 0
    while len(ids) < n:
        h = (5 << 53) | (i << 24) | 12345
        h ^= h >> 33
        h = h * inv2 % m
        h ^= h >> 33
        h = h * inv1 % m
        h ^= h >> 33
        i += 1
        if h < 2**62:
            ids.append(h)
    return np.array(ids, dtype=np.int64)


def test_keys_sharing_their_hash_bits_give_the_dense_keys_results():
    n = 60_000
    ids = _colliding_ids(n)
    rng = np.random.default_rng(11)
    k = rng.integers(0, n, 2 * n)
    ev = pd.DataFrame({"k": k, "t": rng.integers(0, 1000, 2 * n), "v": rng.standard_normal(2 * n)})
    sparse = ev.assign(k=ids[k])
    dense = window_aggregate(ev, by="k", on="t", values="v", windows=[10, 100])
    for threads in (1, 2):
        got = _on_threads(lambda: window_aggregate(sparse, by="k", on="t", values="v", windows=[10, 100]), threads)
        pd.testing.assert_frame_equal(_features(got), _features(dense), check_exact=True)
    spine = pd.DataFrame({"k": rng.integers(0, n, n), "t": rng.integers(0, 1000, n)})
    feats = ev.assign(row=np.arange(2 * n))
    dense = point_in_time_join(spine, feats, by="k", on="t")
    got = point_in_time_join(spine.assign(k=ids[spine["k"]]), feats.assign(k=ids[feats["k"]]), by="k", on="t")
    pd.testing.assert_frame_equal(got.drop(columns="k"), dense.drop(columns="k"), check_exact=True)
