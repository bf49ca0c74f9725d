"""window_aggregate over the events themselves takes one of two groupings: entity codes are
grouped by a counting scatter (dense codes as they are: integer ids, encoded strings; sparse codes
numbered densely first), and all events are radix-sorted when an entity is larger than the caches
hold; within either, an entity of more than 32 events is walked with sliding pointers.  Every path
must give the same numbers, bit for bit, and equal the brute force of test_features_window."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlsd.features import window_aggregate

from test_features_window import AGGS, CLOSED, _check, assert_same_bits_for_one_and_two_threads, brute_force

WINDOWS = [3, 1, 10**9]


def _mixed_events(rng, n_small=300, big_sizes=(33, 90), n_times=40):
    """Entities of 1-8 events (direct) and a few above 32 (walked), many events at one time, NaN
    values, rows with a missing key, rows shuffled."""
    sizes = np.concatenate([rng.integers(1, 9, n_small), np.asarray(big_sizes, dtype=np.int64)])
    k = np.repeat(rng.permutation(sizes.size), sizes).astype(float)
    k[rng.random(k.size) < 0.02] = np.nan
    n = k.size
    v = np.round(rng.normal(0, 10, n), 2)
    v[rng.random(n) < 0.15] = np.nan
    w = rng.integers(-5, 5, n).astype(float)
    ev = pd.DataFrame({"k": pd.array(k).astype("Int64"), "t": rng.integers(0, n_times, n), "v": v, "w": w})
    return ev.sample(frac=1, random_state=int(rng.integers(1 << 30))).reset_index(drop=True)


def _sparse(ev):
    """The same events with keys spread over the int64 range: the codes are then too sparse to
    group by counting as they are, so they are numbered densely first."""
    out = ev.copy()
    out["k"] = out["k"] * np.int64(7_919_000_000_013) - np.int64(4_000_000_000_000_000_000)
    return out


_HEAVY = 65_537  # events of one entity: more than the counting scatter groups in cache


def _with_heavy(ev):
    """The events followed by 65,537 events of a new entity: every event is then sorted instead of
    grouped; the first len(ev) rows' features are those of ``ev``."""
    rng = np.random.default_rng(len(ev))
    key = ev["k"].max() + 1
    heavy = pd.DataFrame({"k": pd.array(np.full(_HEAVY, key)).astype(ev["k"].dtype), "t": rng.integers(0, 40, _HEAVY),
                          "v": rng.normal(0, 10, _HEAVY), "w": rng.normal(0, 1, _HEAVY)})
    return pd.concat([ev, heavy], ignore_index=True)


def _brute(ev, values, closed):
    keyed = ev["k"].notna().to_numpy()
    part = ev[keyed].astype({"k": np.int64})
    return keyed, brute_force(part, part[["k", "t"]], values, WINDOWS, AGGS, closed)


def _features(df):
    return df[[c for c in df.columns if c not in ("k", "t", "v", "w")]]


@pytest.mark.parametrize("closed", CLOSED)
@pytest.mark.parametrize("seed", range(2))
def test_grouped_and_sorted_paths_agree_bit_for_bit_and_equal_brute_force(seed, closed):
    rng = np.random.default_rng(100 + seed)
    ev = _mixed_events(rng)
    for values in ("v", ["v", "w"]):  # one value column is carried through the grouping, several are read by row
        vals = [values] if isinstance(values, str) else values
        dense = window_aggregate(ev, by="k", on="t", values=values, windows=WINDOWS, closed=closed)
        sparse = window_aggregate(_sparse(ev), by="k", on="t", values=values, windows=WINDOWS, closed=closed)
        walk = window_aggregate(ev, by="k", on="t", values=values, windows=WINDOWS, closed=closed, at=ev[["k", "t"]])
        pd.testing.assert_frame_equal(_features(dense), _features(sparse), check_exact=True)
        for frame in (_with_heavy(ev), _sparse(_with_heavy(ev))):  # sorted: dense and sparse codes
            sort = window_aggregate(frame, by="k", on="t", values=values, windows=WINDOWS, closed=closed)
            pd.testing.assert_frame_equal(_features(dense), _features(sort.iloc[:len(ev)]), check_exact=True)
        pd.testing.assert_frame_equal(_features(dense), _features(walk), check_exact=True)
        keyed, want = _brute(ev, vals, closed)
        _check(dense[keyed], want)
        counts = [c for c in dense.columns if "_count_" in c]
        assert (dense.loc[~keyed, counts] == 0).all().all()
        assert dense.loc[~keyed, [c for c in _features(dense).columns if c not in counts]].isna().all().all()


@pytest.mark.parametrize("closed", CLOSED)
def test_datetime_times_take_the_same_paths(closed):
    rng = np.random.default_rng(7)
    ev = _mixed_events(rng, n_small=120)
    t0 = np.datetime64("2024-03-01T00:00:00", "s")
    dt = ev.assign(t=t0 + ev["t"].to_numpy().astype("timedelta64[m]"))
    windows = ["3min", "1min", "100000d"]
    for frame in (dt, _sparse(dt)):
        got = window_aggregate(frame, by="k", on="t", values="v", windows=windows, closed=closed)
        ints = window_aggregate(ev, by="k", on="t", values="v", windows=WINDOWS, closed=closed)
        np.testing.assert_array_equal(_features(got).to_numpy(float), _features(ints).to_numpy(float))


def test_an_entity_larger_than_the_grouping_limit_falls_back_to_the_sort():
    """One entity of 70,000 events (more than the 65,536 that the counting scatter groups in cache)
    beside small ones: the whole call is sorted instead, with the same numbers as the walk over
    ``at`` and, for a sample of rows, as the brute force."""
    rng = np.random.default_rng(3)
    n_big, n_small = 70_000, 2_000
    k = np.concatenate([np.zeros(n_big, np.int64), rng.integers(1, 400, n_small)])
    n = k.size
    v = np.round(rng.normal(0, 10, n), 2)
    v[rng.random(n) < 0.1] = np.nan
    ev = pd.DataFrame({"k": k, "t": rng.integers(0, 5_000, n), "v": v}).sample(frac=1, random_state=1)
    windows = [10, 1, 300]
    got = window_aggregate(ev, by="k", on="t", values="v", windows=windows)
    walk = window_aggregate(ev, by="k", on="t", values="v", windows=windows, at=ev[["k", "t"]])
    features = walk.columns[2:]  # every feature column (the first two are at's k and t)
    assert list(features) == [f"v_{a}_{w}" for a in AGGS for w in windows]
    pd.testing.assert_frame_equal(got[features], walk[features], check_exact=True)
    sample = ev.iloc[rng.choice(n, 150, replace=False)]
    _check(got.loc[sample.index], brute_force(ev, sample[["k", "t"]], ["v"], windows, AGGS, "left"))


@pytest.mark.parametrize("sparse", [False, True])
def test_each_path_gives_the_same_bits_for_any_thread_count(sparse):
    rng = np.random.default_rng(21)
    n = 120_000
    sizes = rng.integers(1, 40, 6_000)  # a few entities above 32 events: walked
    k = np.repeat(np.arange(sizes.size), sizes)[:n]
    ev = pd.DataFrame({"k": k, "t": rng.integers(0, 20_000, k.size), "v": rng.normal(0, 1, k.size)}).sample(
        frac=1, random_state=2)
    if sparse:
        ev = _sparse(ev)
    assert_same_bits_for_one_and_two_threads(ev, by="k", on="t", values="v", windows=[10, 1_000])


@pytest.mark.parametrize("closed", CLOSED)
def test_one_feature_column_equals_the_same_column_of_many(closed):
    """The grouping lends the result table to its first pass when the table is large enough (many
    feature columns) and allocates its own otherwise (one column): the numbers do not change."""
    rng = np.random.default_rng(11)
    ev = _mixed_events(rng)
    full = window_aggregate(ev, by="k", on="t", values="v", windows=WINDOWS, closed=closed)
    for agg in AGGS:
        one = window_aggregate(ev, by="k", on="t", values="v", windows=WINDOWS[0], aggs=agg, closed=closed)
        name = f"v_{agg}_{WINDOWS[0]}"
        pd.testing.assert_series_equal(one[name], full[name], check_exact=True)


@pytest.mark.parametrize("sparse", [False, True, "sorted"])
@pytest.mark.parametrize("values", ["v", ["w", "v"]])
def test_an_infinite_value_is_refused_on_every_path_naming_the_first_row(sparse, values):
    rng = np.random.default_rng(5)
    ev = _mixed_events(rng, n_small=50)
    ev.loc[[40, 9], "v"] = [np.inf, -np.inf]
    if sparse == "sorted":
        ev = _with_heavy(ev)
    elif sparse:
        ev = _sparse(ev)
    with pytest.raises(ValueError, match=r"window_aggregate: .*values must be finite or NaN; row 9 holds an infinite"):
        window_aggregate(ev, by="k", on="t", values=values, windows=WINDOWS)


@pytest.mark.parametrize("sparse", [False, True])
def test_an_infinite_value_of_a_row_without_key_is_refused_too(sparse):
    ev = pd.DataFrame({"k": pd.array([1, None, 1, 2], dtype="Int64"), "t": [0, 1, 2, 3],
                       "v": [1.0, np.inf, 2.0, 3.0]})
    if sparse:
        ev = _sparse(ev)
    with pytest.raises(ValueError, match="values must be finite or NaN; row 1 holds an infinite value"):
        window_aggregate(ev, by="k", on="t", values="v", windows=2)


@pytest.mark.parametrize("n_before", [0, 40])
def test_a_frame_sums_exactly_when_huge_values_cancel_inside_it(n_before):
    """+-1e300 and +-1.7e308 cancelling inside a frame leave rounding errors of ~1e290 in any running
    compensation, long double's included: the frame, recomputed from its values, must still sum to
    its exact value rounded (math.fsum), not to 0.  With ``n_before`` zeros far in the past the
    entity has more than 32 events and is walked; without, its frames are summed directly."""
    vals = [2.0e16, 2.0, -2.0e-3, 1.0e300, 1.0e-3, -3.0e-3, -3.0e-3, 1.7e308, -1.7e308, 2.0, -1.0e300, 2.0e-3, -1.0]
    n = len(vals)
    t = [-10**6 + i for i in range(n_before)] + list(range(n + 1))
    ev = pd.DataFrame({"k": 7, "t": t, "v": [0.0] * n_before + vals + [5.0]})
    want = math.fsum(vals)
    assert want == 2.0000000000000004e16
    for frame in (ev, _sparse(ev)):
        for at in (None, frame[["k", "t"]]):
            got = window_aggregate(frame, by="k", on="t", values="v", windows=100, aggs=["sum", "mean"], at=at)
            assert got["v_sum_100"].iloc[-1] == want
            assert got["v_mean_100"].iloc[-1] == want / n


def test_every_frame_sums_exactly_when_huge_values_come_and_go():
    """Half the values +-1e300 or +-1.7e308 (sums past the doubles, cancellations), the rest
    ordinary: every frame's sum is its exact value rounded once (fractions), whether the entity is
    walked with a running sum (about 1000 events each) or summed directly (at most 32).  The walk
    restarts its running sum from an exact re-sum whose compensation has already lost the small
    values below its last bit: that rounding must count towards the running sum's error, or the
    large values leaving next read 0 instead of 4.66 (row 3434)."""
    from fractions import Fraction

    rng = np.random.default_rng(0)
    n = 4000
    k = rng.integers(0, 4, n)
    v = rng.normal(size=n)
    big = rng.random(n) < 0.5
    v[big] = rng.choice([1e300, -1e300, 1.7e308, -1.7e308, 1e200], big.sum())
    t = np.arange(n)
    small = np.arange(n) % 125  # the same values in entities of at most 32 events: summed directly
    for keys in (k, small):
        ev = pd.DataFrame({"k": keys, "t": t, "v": v})
        got = window_aggregate(ev, by="k", on="t", values="v", windows=100, aggs="sum")["v_sum_100"].to_numpy()
        wrong = []
        for i in range(n):
            m = (keys == keys[i]) & (t < i) & (t >= i - 100)
            if not m.any():
                continue
            exact = sum(Fraction(float(x)) for x in v[m])
            try:
                want = float(exact)  # rounded to nearest
            except OverflowError:  # beyond the doubles
                want = math.inf if exact > 0 else -math.inf
            if got[i] != want:
                wrong.append((i, got[i], want))
        assert not wrong, wrong[:5]
