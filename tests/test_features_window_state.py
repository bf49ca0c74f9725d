"""WindowState: online lookups equal window_aggregate offline over the events fed so far, at every
lookup of a random stream; bounded memory; lateness; persistence; merge == whole."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlsd.features import WindowState, window_aggregate

AGGS = ["count", "sum", "mean", "min", "max", "last"]


def _stream(rng, n, n_entities=20, step=3, keys="int"):
    """Events in time order (many at one time), values with NaNs."""
    t = np.cumsum(rng.integers(0, step, n))
    ent = rng.integers(0, n_entities, n)
    k = ent if keys == "int" else np.array([f"user-{e}" for e in ent], dtype=object)
    v = np.round(rng.normal(size=(n, 2)), 3)
    v[rng.random((n, 2)) < 0.1] = np.nan
    return k, t, v


def _offline(k, t, v, q_keys, q_time, windows, closed="left"):
    ev = pd.DataFrame({"k": k, "t": t, "a": v[:, 0], "b": v[:, 1]})
    sp = pd.DataFrame({"k": q_keys, "t": q_time})
    out = window_aggregate(ev, by="k", on="t", values=["a", "b"], windows=windows, at=sp, closed=closed)
    return out.drop(columns=["k", "t"]).reset_index(drop=True)


@pytest.mark.parametrize("closed", ["left", "both"])
@pytest.mark.parametrize("keys", ["int", "str"])
@pytest.mark.parametrize("seed", range(3))
def test_streamed_lookups_equal_offline(seed, keys, closed):
    rng = np.random.default_rng(seed)
    k, t, v = _stream(rng, 3000, keys=keys)
    windows = [5, 40, 200]
    cuts = np.sort(np.concatenate([[0, len(k)], rng.integers(0, len(k), 25)]))
    state = WindowState.from_arrays(k[:0], t[:0], v[:0], windows=windows, closed=closed, names=["a", "b"])
    for a, b in zip(cuts[:-1], cuts[1:]):
        state.update(k[a:b], t[a:b], v[a:b])
        if b == 0:
            continue
        q_keys = k[rng.integers(0, b, 40)]
        q_time = t[b - 1] + rng.integers(0, 50, 40)  # at or after the latest event (watermark, lateness 0)
        got = state.lookup(q_keys, q_time)
        want = _offline(k[:b], t[:b], v[:b], q_keys, q_time, windows, closed)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        # bounded: only events within the longest window of the watermark are kept
        assert state.result().n_events == int((t[:b] >= t[b - 1] - 200).sum())


def test_lookups_read_only_the_looked_up_entities(monkeypatch):
    """The held events stay sorted by (entity, time) across updates, so a lookup sorts only its
    queries and hands the kernel only the looked-up entities' events (it used to encode and sort
    every held event at each lookup: streaming with many small lookups was quadratic)."""
    import mlsd.features._state as st
    import mlsd.features._window as win

    rng = np.random.default_rng(11)
    k, t, v = _stream(rng, 4000, n_entities=300, keys="str")
    state = WindowState.from_arrays(k[:0], t[:0], v[:0], windows=[5, 40, 2000], names=["a", "b"])
    sorted_sizes, kernel_sizes = [], []
    real_sort, real_kernel = win.sort_order, st.run_kernel
    monkeypatch.setattr(win, "sort_order", lambda c, tt, tie=None: (sorted_sizes.append(len(c)), real_sort(c, tt, tie))[1])
    monkeypatch.setattr(st, "run_kernel",
                        lambda func, codes, *a, **kw: (kernel_sizes.append(len(codes)), real_kernel(func, codes, *a, **kw))[1])
    # batches much smaller than the events held: slotted into the sorted events, not re-sorted
    cuts = np.unique(np.concatenate([[0, len(k)], rng.integers(1, len(k), 60)]))
    for a, b in zip(cuts[:-1], cuts[1:]):
        state.update(k[a:b], t[a:b], v[a:b])
        ent, times = state._ent, state._times
        assert ((np.diff(ent) > 0) | ((np.diff(ent) == 0) & (np.diff(times) >= 0))).all()
        q_keys = np.append(k[rng.integers(0, b, 3)], "never-seen")
        q_time = t[b - 1] + rng.integers(0, 30, 4)
        sorted_sizes.clear()
        kernel_sizes.clear()
        got = state.lookup(q_keys, q_time)
        held = np.array(state.to_dict()["keys"][0], dtype=object)
        assert sorted_sizes == [4]  # the queries only, never the held events
        assert kernel_sizes == [int(np.isin(held, q_keys).sum())] and kernel_sizes[0] < held.size
        pd.testing.assert_frame_equal(got, _offline(k[:b], t[:b], v[:b], q_keys, q_time, [5, 40, 2000]),
                                      check_exact=True)


def test_lateness_raise_count_and_allowed():
    rng = np.random.default_rng(1)
    k, t, v = _stream(rng, 200, step=5)
    s = WindowState.from_arrays(k[:100], t[:100], v[:100], windows=[20], names=["a", "b"])
    late_t = t[100:110].copy()
    late_t[3] = t[99] - 1
    before = json.dumps(s.to_dict())
    with pytest.raises(ValueError, match="WindowState.update: times holds a late event at row 3"):
        s.update(k[100:110], late_t, v[100:110])
    assert json.dumps(s.to_dict()) == before  # nothing was added
    c = WindowState.from_arrays(k[:100], t[:100], v[:100], windows=[20], names=["a", "b"], on_late="count")
    c.update(k[100:110], late_t, v[100:110])
    assert c.result().n_late == 1
    keep = np.ones(10, bool)
    keep[3] = False
    q = np.unique(k)
    pd.testing.assert_frame_equal(
        c.lookup(q, t[109]),
        _offline(np.r_[k[:100], k[100:110][keep]], np.r_[t[:100], late_t[keep]], np.r_[v[:100], v[100:110][keep]],
                 q, np.full(q.size, t[109]), [20]), check_exact=True)
    # within allowed lateness: accepted, and lookups at or after the watermark are still exact
    a = WindowState.from_arrays(k[:100], t[:100], v[:100], windows=[20], names=["a", "b"], allowed_lateness=10)
    shuffled = rng.permutation(np.arange(100, 200))
    accepted = list(range(100))
    for part in np.array_split(shuffled, 7):  # out of order; drop what would be late, so no batch is rejected
        part = part[t[part] >= (a.watermark if a.watermark is not None else -10**18)]
        a.update(k[part], t[part], v[part])
        accepted += list(part)
        assert a.watermark == t[accepted].max() - 10
        at = a.watermark + np.arange(q.size) % 12  # at and after the watermark
        pd.testing.assert_frame_equal(a.lookup(q, at), _offline(k[accepted], t[accepted], v[accepted], q, at, [20]),
                                      check_exact=True)
    assert len(accepted) > 110  # the shuffled batches were partly accepted, so lookups saw them
    with pytest.raises(ValueError, match="before the state's watermark"):
        a.lookup(q, a.watermark - 1)


def test_round_trip_and_merge_of_disjoint_entities():
    rng = np.random.default_rng(2)
    k, t, v = _stream(rng, 1000, keys="str")
    whole = WindowState.from_arrays(k, t, v, windows=[10, 100], aggs=["sum", "last", "count"])
    again = WindowState.from_dict(json.loads(json.dumps(whole.to_dict())))
    assert again.to_dict() == whole.to_dict()
    shard = np.array([hash(x) % 3 for x in k])
    parts = [WindowState.from_arrays(k[shard == i], t[shard == i], v[shard == i], windows=[10, 100],
                                     aggs=["sum", "last", "count"]) for i in range(3)]
    merged = parts[2].merge(parts[0], parts[1])
    q = np.unique(k)
    pd.testing.assert_frame_equal(merged.lookup(q, t[-1] + 3), whole.lookup(q, t[-1] + 3), check_exact=True)
    assert merged.result().n_events == whole.result().n_events


def test_datetimes_and_feature_names():
    rng = np.random.default_rng(3)
    k, t, v = _stream(rng, 500)
    dt = np.datetime64("2024-01-01T00:00:00", "s") + t.astype("timedelta64[m]")
    s = WindowState.from_arrays(k, dt, v[:, 0], windows=["10min", "1h"], aggs=["mean", "max"])
    assert s.feature_names == ["value_mean_10min", "value_mean_1h", "value_max_10min", "value_max_1h"]
    now = dt[-1] + np.timedelta64(1, "m")
    ev = pd.DataFrame({"k": k, "t": dt, "value": v[:, 0]})
    q = np.arange(20)
    want = window_aggregate(ev, by="k", on="t", values="value", windows=["10min", "1h"], aggs=["mean", "max"],
                            at=pd.DataFrame({"k": q, "t": np.repeat(now, 20)}))
    pd.testing.assert_frame_equal(s.lookup(q, now), want[s.feature_names], check_exact=True)
    with pytest.raises((TypeError, ValueError), match="times"):
        s.update(k[:3], t[:3], v[:3, 0])  # integers into a datetime state


def test_bad_inputs_name_the_argument():
    s = WindowState.from_arrays(np.array([1, 2]), np.array([1, 2]), np.array([1.0, 2.0]), windows=[5])
    with pytest.raises(ValueError, match="WindowState.update: values must be finite"):
        s.update([1], [3], [np.inf])
    with pytest.raises(ValueError, match="WindowState.update: keys, times and values"):
        s.update([1, 2], [3], [1.0])
    with pytest.raises(ValueError, match="WindowState.update: values has 2 columns"):
        s.update([1], [3], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="WindowState.lookup: at_time has 2 elements"):
        s.lookup([1], [3, 4])
    with pytest.raises(ValueError, match="WindowState.from_arrays: windows must be > 0"):
        WindowState.from_arrays([1], [1], [1.0], windows=[0])
    other = WindowState.from_arrays([1], [1], [1.0], windows=[6])
    with pytest.raises(ValueError, match="'others' parameter of WindowState.merge"):
        s.merge(other)


def test_numpy_timedelta_allowed_lateness():
    rng = np.random.default_rng(4)
    k, t, v = _stream(rng, 300)
    dt = np.datetime64("2024-01-01T00:00:00", "s") + t.astype("timedelta64[m]")
    a = WindowState.from_arrays(k, dt, v[:, 0], windows=["1h"], allowed_lateness=np.timedelta64(5, "m"))
    b = WindowState.from_arrays(k, dt, v[:, 0], windows=["1h"], allowed_lateness="5min")
    assert a.to_dict() == b.to_dict() and a.watermark == b.watermark
    for zero in (np.int64(0), np.timedelta64(0, "m")):  # stored as the int 0: to_dict stays JSON-safe
        z = WindowState.from_arrays(k, dt, v[:, 0], windows=["1h"], allowed_lateness=zero)
        d = json.loads(json.dumps(z.to_dict()))
        assert d["allowed_lateness"] == 0 and WindowState.from_dict(d).to_dict() == z.to_dict()


def test_a_datetime_states_times_read_as_timestamps():
    """watermark and result()'s times are what the user fed (Timestamps for datetime times, ints for
    integer ones), and the lateness errors name times so; lookups accept the watermark as it is."""
    rng = np.random.default_rng(5)
    k, t, v = _stream(rng, 300)
    dt = np.datetime64("2024-01-01T00:00:00", "s") + t.astype("timedelta64[m]")
    s = WindowState.from_arrays(k, dt, v[:, 0], windows=["1h"], allowed_lateness="5min")
    top = pd.Timestamp(dt.max())
    assert s.watermark == top - pd.Timedelta("5min") and isinstance(s.watermark, pd.Timestamp)
    res = s.result()
    assert res.max_time == top and res.watermark == s.watermark
    assert str(s.watermark) in repr(s)
    assert f"max_time={top}, watermark={s.watermark})" in repr(res) and str(top) in res._repr_html_()
    pd.testing.assert_frame_equal(s.lookup(np.arange(5), s.watermark), s.lookup(np.arange(5), s.watermark.to_datetime64()))
    with pytest.raises(ValueError, match=f"watermark {s.watermark}.*got {s.watermark - pd.Timedelta('1s')}"):
        s.lookup(np.arange(5), s.watermark - pd.Timedelta("1s"))
    late = (s.watermark - pd.Timedelta("1min")).to_datetime64()
    with pytest.raises(ValueError, match=f"time {pd.Timestamp(late)} is before the watermark {s.watermark}"):
        s.update(k[:1], np.array([late]), v[:1, 0])
    assert WindowState.from_dict(s.to_dict()).watermark == s.watermark
    at = [s.watermark + pd.Timedelta(n, "ns") for n in (0, 1, 61_000_000_001, 3_600_000_000_000, 7)]
    pd.testing.assert_frame_equal(s.lookup(np.arange(5), at),  # Timestamps keep their nanoseconds
                                  s.lookup(np.arange(5), np.array([x.to_datetime64() for x in at])))
    with pytest.raises((TypeError, ValueError), match="at_time"):
        s.lookup(np.arange(1), s.watermark.tz_localize("UTC"))  # an aware time: not this state's kind
    i = WindowState.from_arrays(k, t, v[:, 0], windows=[60], allowed_lateness=5)  # integer times: ints
    assert i.watermark == int(t.max()) - 5 and type(i.watermark) is int and type(i.result().max_time) is int
    assert WindowState.from_arrays(k[:0], dt[:0], v[:0, 0], windows=["1h"]).watermark is None


@pytest.mark.parametrize("mags", [(1e16, 1.0, 1e-3, 3e15, 0.1), (1e300, 1.0, 1e-300, 2.0**53, 0.1, 1e308)])
def test_lookups_after_evictions_equal_offline_bit_for_bit_on_values_of_every_magnitude(mags):
    """Entities of more than 32 events (walked) whose early events the state has evicted: the sums
    and means still equal offline window_aggregate over every event fed, bit for bit (each frame's
    sum is its exact sum rounded once, whatever the walk started from)."""
    rng = np.random.default_rng(9)
    n, windows = 4000, [500, 2000]
    k, t = rng.integers(0, 3, n), np.sort(rng.integers(0, 20_000, n))
    v = rng.choice(mags, n) * rng.choice([-1, 1], n) * rng.random(n)
    s = WindowState.from_arrays(k[:100], t[:100], v[:100], windows=windows, aggs=["sum", "mean"], allowed_lateness=0)
    q = np.arange(3)
    for b in range(100, n, 100):
        s.update(k[b:b + 100], t[b:b + 100], v[b:b + 100])
        now = int(t[min(b + 99, n - 1)])
        ev = pd.DataFrame({"k": k[:b + 100], "t": t[:b + 100], "value": v[:b + 100]})
        want = window_aggregate(ev, by="k", on="t", values="value", windows=windows, aggs=["sum", "mean"],
                                at=pd.DataFrame({"k": q, "t": np.repeat(now, 3)}))[s.feature_names]
        pd.testing.assert_frame_equal(s.lookup(q, now), want, check_exact=True)
    assert s.result().n_events < n // 2  # events were evicted


def test_windows_that_give_one_column_name_twice_are_rejected():
    dt = np.array(["2024-01-01T00:00", "2024-01-01T00:30"], dtype="datetime64[s]")
    with pytest.raises(ValueError, match=r"WindowState.from_arrays: windows\[0\] and windows\[1\] both give"):
        WindowState.from_arrays(np.array([1, 1]), dt, np.array([1.0, 2.0]), windows=["1h", np.timedelta64(60, "m")])


def test_integer_keys_in_an_object_array():
    """Integers in an object array (a pandas object column's to_numpy()) are integer keys: the
    state round-trips through JSON and takes int64 batches, as one built from int64 keys."""
    rng = np.random.default_rng(7)
    k, t, v = _stream(rng, 400)
    ints = WindowState.from_arrays(k[:200], t[:200], v[:200], windows=[10, 50], names=["a", "b"])
    objs = WindowState.from_arrays(k[:200].astype(object), t[:200], v[:200], windows=[10, 50], names=["a", "b"])
    objs = WindowState.from_dict(json.loads(json.dumps(objs.to_dict())))
    ints.update(k[200:], t[200:], v[200:])
    objs.update(k[200:], t[200:], v[200:])
    assert objs.to_dict() == ints.to_dict()
    q = np.arange(20)
    pd.testing.assert_frame_equal(objs.lookup(q.astype(object), t[-1]), ints.lookup(q, t[-1]), check_exact=True)


def test_values_without_columns_are_rejected():
    """A state of no value columns has no features: its lookups came back with no rows at all."""
    with pytest.raises(ValueError, match="WindowState.from_arrays: values has no columns"):
        WindowState.from_arrays(np.array([1, 2]), np.array([1, 2]), np.zeros((2, 0)), windows=[3])


def test_allowed_lateness_beyond_int64_is_rejected():
    """to_dict() would write it and from_dict() refuse it."""
    with pytest.raises(ValueError, match="WindowState.from_arrays: allowed_lateness must fit in int64 ticks"):
        WindowState.from_arrays([1], [1], [1.0], windows=[3], allowed_lateness=2**70)


def _multi_keys(rng, n, missing=True):
    """Three key columns (integers, strings, booleans); a few strings missing."""
    ad = np.array([f"ad{i}" for i in rng.integers(0, 4, n)], dtype=object)
    if missing:
        ad[rng.random(n) < 0.03] = None
    return pd.DataFrame({"user": rng.integers(0, 5, n), "ad": ad, "mobile": rng.random(n) < 0.5})


def _as_form(keys: pd.DataFrame, form: str, rng):
    """The key table as the form under test; batches vary the representation of each column
    (int32/int64, categorical/plain strings) where the form allows it."""
    k = keys.reset_index(drop=True)
    if form == "arrow":
        import pyarrow as pa

        return pa.Table.from_pandas(k.astype({"ad": "category"}) if rng.random() < 0.5 else k, preserve_index=False)
    if rng.random() < 0.5:
        k = k.astype({"user": np.int32})
    if rng.random() < 0.5:
        k = k.astype({"ad": "category"})
    return k


@pytest.mark.parametrize("form", ["pandas", "arrow"])
@pytest.mark.parametrize("closed", ["left", "right"])
@pytest.mark.parametrize("seed", range(3))
def test_streamed_lookups_with_several_key_columns_equal_offline(seed, closed, form):
    """Keys of several columns, as window_aggregate's by: random batches, a lookup compared with
    window_aggregate(by=[...]) after every batch (unseen combinations and missing keys included)."""
    rng = np.random.default_rng(100 + seed)
    n = 2500
    keys = _multi_keys(rng, n)
    t = np.cumsum(rng.integers(0, 3, n))
    v = np.round(rng.normal(size=(n, 2)), 3)
    v[rng.random((n, 2)) < 0.1] = np.nan
    windows = [4, 30, 500]
    cuts = np.unique(np.concatenate([[0, n], rng.integers(1, n, 30)]))
    state = WindowState.from_arrays(_as_form(keys[:0], form, rng), t[:0], v[:0], windows=windows, closed=closed,
                                    names=["a", "b"])
    by = ["user", "ad", "mobile"]
    for a, b in zip(cuts[:-1], cuts[1:]):
        state.update(_as_form(keys[a:b], form, rng), t[a:b], v[a:b])
        q = pd.concat([keys.iloc[rng.integers(0, b, 30)], _multi_keys(rng, 10)], ignore_index=True)
        q_time = t[b - 1] + rng.integers(0, 40, len(q))
        got = state.lookup(_as_form(q, form, rng), q_time)
        ev = pd.concat([keys[:b].reset_index(drop=True), pd.DataFrame({"t": t[:b], "a": v[:b, 0], "b": v[:b, 1]})],
                       axis=1)
        want = window_aggregate(ev, by=by, on="t", values=["a", "b"], windows=windows, closed=closed,
                                at=q.assign(t=q_time))
        pd.testing.assert_frame_equal(got, want.drop(columns=[*by, "t"]), check_exact=True)
    held = state.to_dict()
    assert held["key_names"] == by and held["key_kinds"] == ["integer", "string", "integer"]
    again = WindowState.from_dict(json.loads(json.dumps(held)))
    q = keys.drop_duplicates().reset_index(drop=True)
    pd.testing.assert_frame_equal(again.lookup(q, t[-1] + 1), state.lookup(q, t[-1] + 1), check_exact=True)


def test_several_key_columns_merge_shards_and_read_tables_by_name():
    rng = np.random.default_rng(21)
    n = 1500
    keys = _multi_keys(rng, n, missing=False)
    t = np.cumsum(rng.integers(0, 2, n))
    v = rng.normal(size=n)
    whole = WindowState.from_arrays(keys, t, v, windows=[7, 70], aggs=["count", "sum", "last"])
    shard = (keys.user.to_numpy() + keys.mobile.to_numpy()) % 3  # disjoint entity sets
    parts = [WindowState.from_arrays(keys[shard == i], t[shard == i], v[shard == i], windows=[7, 70],
                                     aggs=["count", "sum", "last"]) for i in range(3)]
    merged = parts[1] + parts[0] + parts[2]
    q = keys.drop_duplicates().reset_index(drop=True)
    pd.testing.assert_frame_equal(merged.lookup(q, t[-1] + 2), whole.lookup(q, t[-1] + 2), check_exact=True)
    assert merged.to_dict() == whole.to_dict() and merged.result().n_entities == len(q)
    # columns are read by name: another order, or extra columns, give the same lookups
    extra = q[["mobile", "ad", "user"]].assign(t=0)
    pd.testing.assert_frame_equal(whole.lookup(extra, t[-1] + 2), whole.lookup(q, t[-1] + 2), check_exact=True)
    # a one-column table is one key column: the same entities as a 1-D array of those keys
    one = WindowState.from_arrays(keys[["ad"]], t, v, windows=[7])
    flat = WindowState.from_arrays(keys.ad.to_numpy(), t, v, windows=[7])
    pd.testing.assert_frame_equal(one.lookup(keys[["ad"]][:50], t[-1]), flat.lookup(keys.ad[:50], t[-1]),
                                  check_exact=True)


def test_float_and_categorical_key_columns_as_window_aggregate_reads_them():
    """-0.0 and 0.0 are one key, NaN a missing one, a categorical is its values (window_aggregate's
    rule); the state round-trips through JSON with its float keys."""
    rng = np.random.default_rng(5)
    n = 600
    f = rng.choice([-0.0, 0.0, 1.5, np.nan, 2.25], n)
    c = pd.Categorical(rng.choice(["x", "y", "z"], n), categories=["z", "y", "x", "w"])
    keys = pd.DataFrame({"f": f, "c": c})
    t = np.cumsum(rng.integers(0, 2, n))
    v = rng.normal(size=n)
    s = WindowState.from_arrays(keys, t, v, windows=[9, 90], aggs=["count", "sum", "last"])
    s = WindowState.from_dict(json.loads(json.dumps(s.to_dict())))
    q = pd.DataFrame({"f": [0.0, -0.0, 1.5, np.nan, 2.25, 7.0], "c": ["x", "y", "z", "x", "w", "x"]})
    ev = keys.assign(t=t, value=v)
    want = window_aggregate(ev, by=["f", "c"], on="t", values="value", windows=[9, 90],
                            aggs=["count", "sum", "last"], at=q.assign(t=t[-1] + 1))
    got = s.lookup(q, t[-1] + 1)
    pd.testing.assert_frame_equal(got, want[s.feature_names], check_exact=True)
    assert got["value_count_90"].iloc[0] > 0 and s.result().n_entities == 9


def test_infinite_float_keys_round_trip_through_strict_json():
    """Float key columns may hold inf (window_aggregate takes it as a key): to_dict stays strict
    JSON (it wrote the float inf, which json.dumps turns into the non-JSON token Infinity)."""
    keys = pd.DataFrame({"k": [np.inf, 1.0, -np.inf, -0.0, np.inf]})
    t, v = np.arange(5), np.arange(5.0)
    s = WindowState.from_arrays(keys, t, v, windows=[10], aggs=["count", "sum"])
    text = json.dumps(s.to_dict(), allow_nan=False)
    again = WindowState.from_dict(json.loads(text))
    assert again.to_dict() == s.to_dict()
    q = pd.DataFrame({"k": [np.inf, -np.inf, 0.0, 2.0]})
    want = window_aggregate(keys.assign(t=t, value=v), by="k", on="t", values="value", windows=[10],
                            aggs=["count", "sum"], at=q.assign(t=5))
    pd.testing.assert_frame_equal(again.lookup(q, 5), want[again.feature_names], check_exact=True)
    bad = s.to_dict()
    bad["keys"] = [["1.5", 1.0, "inf", 0.0, "inf"]]
    with pytest.raises(ValueError, match="from_dict"):
        WindowState.from_dict(bad)


@pytest.mark.parametrize("field, bad", [("keys", [[1.5, 2]]), ("keys", [["1", 2]]), ("keys", [[True, 2]]),
                                        ("times", [1.7, 2]), ("times", ["1", 2]), ("windows", [5.5]),
                                        ("keys", [[2**63, 2]])])
def test_from_dict_refuses_integer_fields_that_are_not_integers(field, bad):
    """A dict whose integer keys, times or windows hold floats, strings or booleans is not one that
    to_dict wrote: refused, where NumPy's conversion loaded 1.5 as 1 and "1" as 1 (another state)."""
    s = WindowState.from_arrays(np.array([1, 2]), np.array([1, 2]), np.array([1.0, 2.0]), windows=[5])
    d = s.to_dict()
    d[field] = bad
    with pytest.raises(ValueError, match="The 'd' parameter of WindowState.from_dict"):
        WindowState.from_dict(d)


@pytest.mark.parametrize("seed", range(3))
def test_integer_key_index_across_eviction_rejection_merge_and_reload(seed):
    """Integer keys are numbered through a sorted index of the held keys (not a dict lookup per
    key): it must follow every change of the numbering -- entities forgotten once evicted (ids
    renumbered), a batch rejected for a late event (its new entities undone), a merge, a reload --
    so that lookups keep equalling window_aggregate offline and the state equals the one fed the
    same accepted events as the dictionary path numbers them (keys as strings give the same
    lookups)."""
    rng = np.random.default_rng(seed)
    n = 6000
    t = np.cumsum(rng.integers(0, 3, n))
    ent = rng.integers(0, 400, n) + np.where(np.arange(n) < n // 2, 0, 10**12)  # a new key range halfway
    ent = ent.astype(np.int32 if seed == 1 else np.int64)
    v = np.round(rng.normal(size=(n, 2)), 3)
    windows = [5, 40]
    kw = dict(windows=windows, names=["a", "b"], allowed_lateness=3)
    state = WindowState.from_arrays(ent[:0], t[:0], v[:0], **kw)
    as_str = WindowState.from_arrays(np.array([], dtype=object), t[:0], v[:0], **kw)
    accepted = np.zeros(n, dtype=bool)
    cuts = np.sort(np.concatenate([[0, n], rng.integers(0, n, 40)]))
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        if b == a:
            continue
        if i % 7 == 3:  # a rejected batch: new keys and a late event, nothing added
            late_keys = np.concatenate([ent[a:b], [ent.max() + 1 + i]]).astype(ent.dtype)
            late_t = np.concatenate([t[a:b], [t[max(a - 1, 0)] - 100]])
            with pytest.raises(ValueError, match="late event"):
                state.update(late_keys, late_t, np.vstack([v[a:b], [[0.0, 0.0]]]))
        state.update(ent[a:b], t[a:b], v[a:b])
        as_str.update(np.array([str(x) for x in ent[a:b]], dtype=object), t[a:b], v[a:b])
        accepted[a:b] = True
        if i % 5 == 0:  # a reload, and a merge with an empty part, keep the numbering consistent
            state = WindowState.from_dict(json.loads(json.dumps(state.to_dict())))
            state = state.merge(WindowState.from_arrays(ent[:0], t[:0], v[:0], **kw))
        q_keys = np.concatenate([ent[rng.integers(0, b, 30)], [-5, 10**15]]).astype(np.int64)  # and unseen keys
        q_time = np.full(q_keys.size, t[b - 1] + 1)
        got = state.lookup(q_keys, q_time)
        pd.testing.assert_frame_equal(got, _offline(ent[:b].astype(np.int64), t[:b], v[:b], q_keys, q_time, windows),
                                      check_exact=True)
        pd.testing.assert_frame_equal(got, as_str.lookup(np.array([str(x) for x in q_keys], dtype=object), q_time),
                                      check_exact=True)
    assert state.result().n_entities < 400  # entities were evicted and forgotten on the way
    whole = WindowState.from_arrays(ent, t, v, **kw)
    assert state.to_dict() == whole.to_dict()


def test_integer_index_finds_every_key_across_its_merges():
    """The integer-key index (a large sorted part and a small one merged into it past a
    sixteenth) against a dict, through many additions that cross the merge threshold."""
    from mlsd.features._state import _IntegerIndex

    rng = np.random.default_rng(5)
    first = rng.choice(2**62, 5000, replace=False).astype(np.int64)
    index = _IntegerIndex(first.copy(), np.arange(first.size, dtype=np.int64))
    ref = {int(k): i for i, k in enumerate(first)}
    for _ in range(60):
        fresh = rng.integers(-2**62, 2**62, int(rng.integers(1, 300)), dtype=np.int64)
        fresh = np.unique(fresh[[int(k) not in ref for k in fresh]])
        rng.shuffle(fresh)
        ids = np.arange(len(ref), len(ref) + fresh.size, dtype=np.int64)
        index.add(fresh, ids)
        ref.update(zip(fresh.tolist(), ids.tolist()))
        q = np.concatenate([rng.choice(np.fromiter(ref, np.int64), 200), rng.integers(-2**62, 2**62, 50)])
        assert index.find(q).tolist() == [ref.get(int(k), -1) for k in q]
    assert index.new_keys.size < index.keys.size  # the small part was merged on the way


@pytest.mark.parametrize("reject_first", [True, False])
def test_integer_key_index_is_not_rebuilt_after_a_rejected_batch_nor_a_renumbering(monkeypatch, reject_first):
    """A rejected batch (its new keys undone) and the renumbering of held entities once evicted
    ones are forgotten must not rebuild the sorted index of the held integer keys (a sort of
    them all, with a Python pass over their tuples): they drop or renumber its entries instead.
    Before, the first batch after either rebuilt the index: with a million held keys, a batch of
    ten events after a rejected one took ~16x as long as one after an accepted batch."""
    import mlsd.features._state as st

    rng = np.random.default_rng(8)
    n = 3000
    t = np.repeat(np.arange(n // 10), 10)
    ent = rng.permutation(n) * 5 + np.where(np.arange(n) < n // 2, 0, 10**9)  # keys move on: renumberings
    v = np.round(rng.normal(size=(n, 2)), 3)
    kw = dict(windows=[20], names=["a", "b"], allowed_lateness=2)
    state = WindowState.from_arrays(ent[:10], t[:10], v[:10], **kw)
    built = []
    real = st._IntegerIndex.__init__
    monkeypatch.setattr(st._IntegerIndex, "__init__", lambda self, *a: (built.append(len(a[0])), real(self, *a))[1])
    renumbered = 0
    for a in range(10, n, 10):
        if (a // 10) % 9 == (0 if reject_first else 4):  # a rejected batch: new keys and a late event
            with pytest.raises(ValueError, match="late event"):
                state.update(np.append(ent[a:a + 10], -7 - a), np.append(t[a:a + 10], t[a] - 50),
                             np.vstack([v[a:a + 10], [[1.0, 2.0]]]))
        n_keys = len(state._entity_keys)
        state.update(ent[a:a + 10], t[a:a + 10], v[a:a + 10])
        renumbered += len(state._entity_keys) < n_keys + 10
        q = np.concatenate([ent[rng.integers(max(a - 40, 0), a + 10, 8)], [-7 - a, -1]])  # and unseen keys
        q_time = np.full(q.size, t[a] + 1)
        pd.testing.assert_frame_equal(state.lookup(q, q_time), _offline(ent[:a + 10], t[:a + 10], v[:a + 10], q, q_time,
                                                                        [20]), check_exact=True)
    assert renumbered > 0 and built == []
    assert state.to_dict() == WindowState.from_arrays(ent, t, v, **kw).to_dict()


def test_lookups_of_values_of_every_magnitude_equal_offline_bit_for_bit():
    """Values of 10**-30 to 10**30, integers of 53-54 bits and values below 10**-17, random signs:
    entities of at most 32 events, whose frame sums window_aggregate computes directly (the exact
    sum rounded once); the state, which holds only the events of the longest window and is looked
    up with its events' order, gives the same bits."""
    rng = np.random.default_rng(5)
    n = 3000
    t = np.cumsum(rng.integers(0, 3, n))
    k = rng.integers(0, 300, n)
    kind = rng.integers(0, 3, (n, 2))
    v = rng.choice([-1.0, 1.0], (n, 2)) * np.select([kind == 0, kind == 1], [
        np.exp(rng.normal(0.0, 16.0, (n, 2))), rng.integers(2**52, 2**54, (n, 2)).astype(float)],
        rng.random((n, 2)) * 1e-17)
    windows = [40, 400]
    state = WindowState.from_arrays(k[:0], t[:0], v[:0], windows=windows, names=["a", "b"])
    cuts = np.sort(np.concatenate([[0, n], rng.integers(0, n, 10)]))
    for a, b in zip(cuts[:-1], cuts[1:]):
        state.update(k[a:b], t[a:b], v[a:b])
        if b == 0:
            continue
        q_keys = rng.integers(0, 300, 400)
        q_time = np.repeat(t[b - 1] + 1, 400)
        pd.testing.assert_frame_equal(state.lookup(q_keys, q_time), _offline(k[:b], t[:b], v[:b], q_keys, q_time, windows),
                                      check_exact=True)
