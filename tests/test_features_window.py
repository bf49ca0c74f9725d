"""mlsd.features.window_aggregate against a brute-force pandas computation, DuckDB window frames
(RANGE BETWEEN ... PRECEDING AND ... PRECEDING) and pandas' rolling, on random cases with many
events at one timestamp, NaN values, absent entities and every ``closed`` rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlsd
from mlsd.features import window_aggregate

AGGS = ["count", "sum", "mean", "min", "max", "last"]
CLOSED = ["left", "right", "both", "neither"]


def _events(rng, n, n_entities=6, n_times=30, nan=0.15, keys="int"):
    ent = rng.integers(0, n_entities, n)
    t = rng.integers(0, n_times, n)  # few distinct times: many events share a timestamp
    v = np.round(rng.normal(0, 10, n), 2)
    v[rng.random(n) < nan] = np.nan
    w = rng.integers(-5, 5, n).astype(float)
    k = ent if keys == "int" else np.array([f"u{e}" for e in ent], dtype=object)
    return pd.DataFrame({"k": k, "t": t, "v": v, "w": w})


def _spine(rng, m, n_entities=6, n_times=30, keys="int"):
    ent = rng.integers(0, n_entities + 2, m)  # two entities without events
    k = ent if keys == "int" else np.array([f"u{e}" for e in ent], dtype=object)
    return pd.DataFrame({"k": k, "t": rng.integers(-3, n_times + 5, m)})


def _in_frame(et, t, w, closed):
    lo = et >= t - w if closed in ("left", "both") else et > t - w
    hi = et <= t if closed in ("right", "both") else et < t
    return lo & hi


def brute_force(events, spine, values, windows, aggs, closed):
    """For each spine row, the frame's events by a boolean mask over all events, aggregated one by one."""
    k, t = events["k"].to_numpy(), events["t"].to_numpy()
    cols = {c: [] for c in (f"{v}_{a}_{w}" for v in values for a in aggs for w in windows)}
    for qk, qt in zip(spine["k"].to_numpy(), spine["t"].to_numpy()):
        same = k == qk
        for w in windows:
            frame = same & _in_frame(t, qt, w, closed)
            for v in values:
                x = events[v].to_numpy()
                sel = np.flatnonzero(frame & ~np.isnan(x))
                # last: the latest time, then the last row among events at that time
                last = x[sel[np.lexsort((sel, t[sel]))[-1]]] if sel.size else np.nan
                got = {"count": sel.size, "sum": x[sel].sum() if sel.size else np.nan,
                       "mean": x[sel].mean() if sel.size else np.nan, "min": x[sel].min() if sel.size else np.nan,
                       "max": x[sel].max() if sel.size else np.nan, "last": last}
                for a in aggs:
                    cols[f"{v}_{a}_{w}"].append(got[a])
    return pd.DataFrame(cols, index=spine.index)


def _check(got, want):
    for c in want.columns:
        if c.split("_")[1] == "count":
            assert got[c].dtype == np.int64
            np.testing.assert_array_equal(got[c].to_numpy(), want[c].to_numpy(), err_msg=c)
        else:
            np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float), rtol=1e-12, atol=1e-12,
                                       err_msg=c)


@pytest.mark.parametrize("closed", CLOSED)
@pytest.mark.parametrize("seed", range(3))
def test_spine_equals_brute_force(seed, closed):
    rng = np.random.default_rng(seed)
    ev, sp = _events(rng, 250), _spine(rng, 120)
    windows = [1, 4, 12]
    got = window_aggregate(ev, by="k", on="t", values=["v", "w"], windows=windows, at=sp, closed=closed)
    assert list(got.columns[:2]) == ["k", "t"] and got.index.equals(sp.index)
    _check(got, brute_force(ev, sp, ["v", "w"], windows, AGGS, closed))


@pytest.mark.parametrize("closed", CLOSED)
def test_events_themselves_equal_brute_force(closed):
    rng = np.random.default_rng(5)
    ev = _events(rng, 200, keys="str")
    ev.index = rng.permutation(1000)[:200]  # an arbitrary index is kept
    got = window_aggregate(ev, by="k", on="t", values="v", windows=[3, 8], closed=closed)
    assert got.index.equals(ev.index)
    pd.testing.assert_frame_equal(got[ev.columns], ev)
    _check(got, brute_force(ev, ev[["k", "t"]], ["v"], [3, 8], AGGS, closed))


@pytest.mark.parametrize("closed", CLOSED)
@pytest.mark.parametrize("seed", range(3))
def test_entities_around_the_direct_path_limit_equal_brute_force_and_the_walk(seed, closed):
    """Without ``at``, entities of at most 32 events are aggregated directly from their events and
    larger ones by the walk: sizes 1, 31, 32, 33 and 34 (many events at one time, NaN values, missing
    keys, unsorted rows, a window wider than the time range) equal the brute force, and equal bit for
    bit the walk that the same rows given as ``at`` take."""
    rng = np.random.default_rng(40 + seed)
    sizes = rng.choice([1, 2, 31, 32, 33, 34], size=14)
    k = np.repeat(rng.permutation(100)[:sizes.size], sizes).astype(float)
    k[rng.random(k.size) < 0.03] = np.nan
    n = k.size
    v = rng.normal(0, 10, n) * 10.0 ** rng.integers(-3, 4, n)
    v[rng.random(n) < 0.15] = np.nan
    ev = pd.DataFrame({"k": pd.array(k).astype("Int64"), "t": rng.integers(0, 12, n), "v": v}).sample(
        frac=1, random_state=seed)
    windows = [3, 1, 10**9]
    got = window_aggregate(ev, by="k", on="t", values="v", windows=windows, closed=closed)
    walk = window_aggregate(ev, by="k", on="t", values="v", windows=windows, closed=closed, at=ev[["k", "t"]])
    pd.testing.assert_frame_equal(got[walk.columns[2:]], walk[walk.columns[2:]], check_exact=True)
    keyed = ev["k"].notna().to_numpy()
    want = brute_force(ev[keyed].astype({"k": np.int64}), ev[keyed].astype({"k": np.int64})[["k", "t"]], ["v"],
                       windows, AGGS, closed)
    _check(got[keyed], want)
    assert (got.loc[~keyed, [c for c in got.columns if "_count_" in c]] == 0).all().all()


def _duckdb_frame(closed, w):
    """DuckDB's RANGE frame for integer times equal to our closed rule for window w."""
    lo = f"{w} PRECEDING" if closed in ("left", "both") else f"{w - 1} PRECEDING"
    hi = "CURRENT ROW" if closed in ("right", "both") else "1 PRECEDING"
    return f"RANGE BETWEEN {lo} AND {hi}"


@pytest.mark.parametrize("n_entities", [40, 120])  # ~75 events each (the walk); ~25 (mostly direct frames)
@pytest.mark.parametrize("closed", CLOSED)
@pytest.mark.parametrize("seed", range(2))
def test_events_equal_duckdb_range_windows(seed, closed, n_entities):
    duckdb = pytest.importorskip("duckdb")
    rng = np.random.default_rng(100 + seed)
    ev = _events(rng, 3000, n_entities=n_entities, n_times=200)
    windows = [1, 5, 50]
    got = window_aggregate(ev, by="k", on="t", values="v", windows=windows, aggs=AGGS[:5], closed=closed)
    sel = ", ".join(f"{f}(v) OVER (PARTITION BY k ORDER BY t {_duckdb_frame(closed, w)}) AS v_{a}_{w}"
                    for a, f in zip(AGGS[:5], ["count", "sum", "avg", "min", "max"]) for w in windows)
    con = duckdb.connect()
    con.register("ev", ev.assign(row=np.arange(len(ev))))
    want = con.execute(f"SELECT row, {sel} FROM ev ORDER BY row").df()
    want.index = ev.index
    _check(got, want.drop(columns="row").astype(float))


@pytest.mark.parametrize("closed", ["left", "both"])
def test_spine_last_equals_duckdb(closed):
    """``last``: the latest event with a value, the last in row order among those at one time
    (DuckDB: arg_max over (time, row) of the non-null values in the frame)."""
    duckdb = pytest.importorskip("duckdb")
    rng = np.random.default_rng(9)
    ev, sp = _events(rng, 2000, n_entities=30, n_times=100), _spine(rng, 500, n_entities=30, n_times=100)
    got = window_aggregate(ev, by="k", on="t", values="v", windows=[7], aggs=["last", "sum"], at=sp, closed=closed)
    lo = ">=" if closed == "left" else ">="
    hi = "<" if closed == "left" else "<="
    con = duckdb.connect()
    con.register("ev", ev.assign(row=np.arange(len(ev))))
    con.register("sp", sp.assign(q=np.arange(len(sp))))
    want = con.execute(f"""
        SELECT q, arg_max(e.v, e.t * 1000000 + e.row) FILTER (WHERE e.v IS NOT NULL) AS last,
               sum(e.v) AS sum
        FROM sp LEFT JOIN ev e ON e.k = sp.k AND e.t {lo} sp.t - 7 AND e.t {hi} sp.t
        GROUP BY q ORDER BY q""").df()
    np.testing.assert_array_equal(got["v_last_7"].to_numpy(), want["last"].to_numpy(float))
    np.testing.assert_allclose(got["v_sum_7"].to_numpy(), want["sum"].to_numpy(float), rtol=1e-12)


@pytest.mark.parametrize("closed", CLOSED)
def test_equals_pandas_rolling_on_distinct_timestamps(closed):
    """With distinct timestamps per entity pandas' time-based rolling (frames ending at the current
    row) and our time-value frames agree; datetimes and string windows."""
    rng = np.random.default_rng(3)
    n = 400
    ev = pd.DataFrame({"k": rng.integers(0, 5, n)})
    ev["t"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.permutation(5000)[:n] * 7, unit="min")
    ev["v"] = rng.normal(size=n)
    ev.loc[rng.random(n) < 0.1, "v"] = np.nan
    got = window_aggregate(ev, by="k", on="t", values="v", windows=["1h", "6h"], aggs=AGGS[:5], closed=closed)
    for w in ["1h", "6h"]:
        r = ev.sort_values("t").set_index("t").groupby("k")["v"].rolling(w, closed=closed, min_periods=1)
        for a in AGGS[:5]:
            want = getattr(r, a)().reset_index()
            srt = ev.sort_values("t").reset_index()
            merged = srt.merge(want.rename(columns={"v": "want"}), on=["k", "t"]).set_index("index")["want"]
            col = got[f"v_{a}_{w}"].loc[merged.index].to_numpy(float)
            if a == "count":  # pandas counts 0 for an empty frame only with min_periods=0
                np.testing.assert_array_equal(col[~np.isnan(merged)], merged.dropna().to_numpy())
            else:
                np.testing.assert_allclose(col, merged.to_numpy(float), rtol=1e-10, atol=1e-12)


def test_pyarrow_in_pyarrow_out_and_datetime_units():
    pa = pytest.importorskip("pyarrow")
    rng = np.random.default_rng(4)
    ev = _events(rng, 300, keys="str")
    ev["t"] = pd.Timestamp("2024-03-01") + pd.to_timedelta(ev["t"] * 10, unit="min")
    sp = _spine(rng, 100, keys="str")
    sp["t"] = (pd.Timestamp("2024-03-01") + pd.to_timedelta(sp["t"] * 10, unit="min")).astype("datetime64[s]")
    want = window_aggregate(ev, by="k", on="t", values="v", windows=["30min", "2h"], at=sp)
    got = window_aggregate(pa.Table.from_pandas(ev, preserve_index=False), by="k", on="t", values="v",
                           windows=["30min", "2h"], at=pa.Table.from_pandas(sp, preserve_index=False))
    assert isinstance(got, pa.Table) and got.column_names == list(want.columns)
    back = got.to_pandas()
    for c in want.columns[2:]:
        np.testing.assert_array_equal(back[c].to_numpy(float), want[c].to_numpy(float))
    # and the brute force on integer minutes
    ints = ev.assign(t=(ev["t"] - pd.Timestamp("2024-03-01")) // pd.Timedelta("1min"))
    sp_ints = sp.assign(t=(sp["t"] - pd.Timestamp("2024-03-01")) // pd.Timedelta("1min"))
    _check(want.rename(columns=lambda c: c.replace("30min", "30").replace("2h", "120")),
           brute_force(ints, sp_ints, ["v"], [30, 120], AGGS, "left"))


def test_missing_keys_and_times_belong_to_no_entity():
    ev = pd.DataFrame({"k": pd.array([1, None, 1, 1], dtype="Int64"),
                       "t": pd.to_datetime(["2024-01-01 00:00", "2024-01-01 00:10", None, "2024-01-01 00:20"]),
                       "v": [1.0, 2.0, 4.0, 8.0]})
    out = window_aggregate(ev, by="k", on="t", values="v", windows="1h", aggs=["count", "sum"], closed="both")
    assert out["v_count_1h"].tolist() == [1, 0, 0, 2]
    assert out["v_sum_1h"].tolist()[3] == 9.0


def test_several_key_columns_and_window_labels():
    rng = np.random.default_rng(8)
    ev = _events(rng, 200)
    ev["k2"] = rng.integers(0, 2, len(ev))
    ev["t"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(ev["t"], unit="h")
    out = window_aggregate(ev, by=["k", "k2"], on="t", values="v", windows=[pd.Timedelta("90min"), "1d"],
                           aggs="sum")
    assert list(out.columns[-2:]) == ["v_sum_90min", "v_sum_1d"]
    ev2 = ev.assign(k=ev["k"] * 10 + ev["k2"]).drop(columns="k2")
    ref = window_aggregate(ev2, by="k", on="t", values="v", windows=["90min", "1d"], aggs="sum")
    np.testing.assert_array_equal(out["v_sum_90min"].to_numpy(), ref["v_sum_90min"].to_numpy())


def assert_same_bits_for_one_and_two_threads(ev, **kwargs):
    """window_aggregate(ev, **kwargs) on 1 and on 2 threads: the same frame, bit for bit."""
    try:
        mlsd.set_num_threads(1)
        one = window_aggregate(ev, **kwargs)
        mlsd.set_num_threads(2)
        two = window_aggregate(ev, **kwargs)
    finally:
        mlsd.set_num_threads(None)
    pd.testing.assert_frame_equal(one, two, check_exact=True)


def test_same_result_for_any_thread_count():
    rng = np.random.default_rng(12)
    ev = _events(rng, 100_000, n_entities=5000, n_times=10_000)
    assert_same_bits_for_one_and_two_threads(ev, by="k", on="t", values="v", windows=[10, 100])


def _small():
    return pd.DataFrame({"k": [1, 1, 2], "t": [1, 2, 3], "v": [1.0, 2.0, 3.0]})


@pytest.mark.parametrize("kwargs, match", [
    (dict(windows=[-1]), "windows must be > 0"),
    (dict(windows=[0]), "windows must be > 0"),
    (dict(windows="1h"), "windows must be an int > 0 when the times are integers"),
    (dict(windows=[3, 3]), "windows lists 3 twice"),
    (dict(values=["v", "v"]), "values lists 'v' twice"),
    (dict(values="nope"), "values names column 'nope'"),
    (dict(by="nope"), "by names column 'nope'"),
    (dict(on="nope"), "on names column 'nope'"),
    (dict(aggs=["sum", "median"]), "'aggs' parameter of window_aggregate"),
    (dict(closed="middle"), "'closed' parameter of window_aggregate"),
    (dict(at=pd.DataFrame({"t": [1]})), "by names column 'k', which at does not have"),
    (dict(at=pd.DataFrame({"k": [1], "t": pd.to_datetime(["2024-01-01"])})), "on columns hold datetimes"),
    (dict(values="t"), None),  # a time column is not a value: integers, accepted (as numbers)
])
def test_bad_arguments_name_the_argument(kwargs, match):
    args = dict(by="k", on="t", values="v", windows=[2])
    args.update(kwargs)
    if match is None:
        window_aggregate(_small(), **args)
        return
    with pytest.raises((ValueError, TypeError), match=match):
        window_aggregate(_small(), **args)


def test_bad_data_name_the_argument():
    ev = _small()
    with pytest.raises(ValueError, match="window_aggregate: values must be finite or NaN"):
        window_aggregate(ev.assign(v=[1.0, np.inf, 2.0]), by="k", on="t", values="v", windows=2)
    with pytest.raises(TypeError, match="window_aggregate: values column 's'"):
        window_aggregate(ev.assign(s=["a", "b", "c"]), by="k", on="t", values="s", windows=2)
    with pytest.raises(ValueError, match="output column 'v_sum_2' is already a column of events"):
        window_aggregate(ev.assign(v_sum_2=0.0), by="k", on="t", values="v", windows=2, aggs="sum")
    dt = ev.assign(t=pd.to_datetime(ev["t"], unit="s"))
    with pytest.raises(ValueError, match="windows.*not a whole number of s|windows.*whole number"):
        window_aggregate(dt.assign(t=dt["t"].astype("datetime64[s]")), by="k", on="t", values="v", windows="1ms")
    with pytest.raises(ValueError, match="could not parse"):
        window_aggregate(dt, by="k", on="t", values="v", windows="soon")
    sp = dt.assign(t=dt["t"].dt.tz_localize("UTC"))
    with pytest.raises(ValueError, match="time zones"):
        window_aggregate(dt, by="k", on="t", values="v", windows="1h", at=sp)
    with pytest.raises(TypeError, match="same kind of table"):
        import pyarrow as pa

        window_aggregate(ev, by="k", on="t", values="v", windows=2, at=pa.Table.from_pandas(ev))


def test_empty_events_with_string_keys_and_the_default_windows():
    ev = pd.DataFrame({"k": pd.Series([], dtype=object), "t": pd.Series([], dtype="datetime64[ns]"),
                       "v": pd.Series([], dtype=float)})
    sp = pd.DataFrame({"k": ["a", "b"], "t": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    out = window_aggregate(ev, by="k", on="t", values="v", at=sp)  # windows "1h", "1d", "7d"
    assert [c for c in out.columns if "count" in c] == ["v_count_1h", "v_count_1d", "v_count_7d"]
    assert (out.filter(like="count") == 0).all().all() and out.filter(like="sum").isna().all().all()
    one = window_aggregate(ev.assign(k=["a"] * 0), by="k", on="t", values="v")  # no rows at all
    assert len(one) == 0 and "v_last_7d" in one.columns


def test_docstring_examples_run():
    import doctest

    import mlsd.features._window as mod

    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_sums_past_the_largest_double_recover_when_the_large_values_leave():
    """A frame whose sum overflows is +-inf (as summing it directly gives); once the large values
    leave the frame its sum is finite again, not the NaN that an overflowed running sum carries."""
    ev = pd.DataFrame({"k": [1] * 6, "t": [0, 1, 2, 3, 4, 5], "v": [1e308, 1e308, 1.0, 2.0, -1e308, -1e308]})
    got = window_aggregate(ev, by="k", on="t", values="v", windows=[2], aggs=["count", "sum", "mean"])
    with np.errstate(over="ignore"):
        want = brute_force(ev, ev[["k", "t"]], ["v"], [2], ["count", "sum", "mean"], "left")
    np.testing.assert_array_equal(want["v_sum_2"].to_numpy()[1:], [1e308, np.inf, 1e308, 3.0, -1e308])
    _check(got, want)


@pytest.mark.parametrize("n_before", [0, 40])  # 40 earlier events: an entity of more than 32 events
@pytest.mark.parametrize("spine", [False, True])
def test_sums_after_large_values_leave_keep_the_small_ones(n_before, spine):
    """Large values that pass through a sliding frame leave rounding errors of their own size in the
    running compensation; small values added meanwhile must not be lost in it once the large ones
    leave ([-3, -3] sums to -6, not 0), whichever path (direct frames or the walk) computes the row."""
    vals = [1e308, 3.3e307, -3.0, -3.0, 5.0, 7.0]
    ev = pd.DataFrame({"k": 1, "t": np.r_[np.arange(-10**6 - n_before, -10**6), np.arange(len(vals))],
                       "v": np.r_[np.zeros(n_before), vals]})
    got = window_aggregate(ev, by="k", on="t", values="v", windows=[2], aggs=["count", "sum", "mean"],
                           at=ev[["k", "t"]] if spine else None)
    want = brute_force(ev, ev[["k", "t"]], ["v"], [2], ["count", "sum", "mean"], "left")
    np.testing.assert_array_equal(got["v_sum_2"].to_numpy()[-3:], [3.3e307, -6.0, 2.0])
    _check(got, want)


@pytest.mark.parametrize("same", [True, False])
def test_count_columns_become_int64_in_the_kernels_table_without_a_temporary(same):
    """Counts leave the kernel as doubles and become int64 in its own table: no temporary as large as
    the count columns (NumPy copies an overlapping source of more than one dimension whole)."""
    import tracemalloc

    from mlsd.features._window import run_kernel

    rng = np.random.default_rng(9)
    n = 100_000
    codes, t = rng.integers(0, 500, n), rng.integers(0, 10**5, n)
    vals = [rng.normal(size=n), rng.normal(size=n)]
    windows = np.array([10, 1000, 100], dtype=np.int64)
    tracemalloc.start()
    try:
        out = run_kernel("window_aggregate", codes, t, vals, codes, t, windows, "left", ["count", "sum"], same=same)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    counts = out["count"]
    assert counts.dtype == np.int64 and counts.shape == (2, 3, n)
    assert peak < counts.nbytes // 8, peak
    sums = out["sum"]
    assert ((counts == 0) == np.isnan(sums)).all() and counts.max() > 1 and counts.min() == 0


_MANY_MISSING = """
import numpy as np, pandas as pd
from mlsd.features import window_aggregate
n = 2_000_000
for closed in ("left", "right"):
    ev = pd.DataFrame({"k": pd.array([None] * n, dtype="Int64"), "t": np.arange(n) % 7, "v": np.ones(n)})
    out = window_aggregate(ev, by="k", on="t", values="v", windows=[5], aggs=["count", "sum"], closed=closed)
    assert (out["v_count_5"] == 0).all() and out["v_sum_5"].isna().all()
print("ok")
"""


def test_many_rows_with_a_missing_key_take_linear_time():
    """Rows with a missing key (or time) share one code: they have empty frames, and must not be
    scanned as one run per row (2M such rows took O(n^2), about an hour).  In a child process with
    a generous timeout, so a regression fails instead of hanging the suite."""
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-c", _MANY_MISSING], capture_output=True, text=True, timeout=180)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_numpy_timedelta_windows_are_durations():
    """np.timedelta64 is a NumPy integer subclass: it must still be read as a duration (and
    labelled as one), not rejected for datetimes nor taken as a bare count for integer times."""
    rng = np.random.default_rng(6)
    ev = _events(rng, 200)
    ev["t"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(ev["t"] * 10, unit="min")
    got = window_aggregate(ev, by="k", on="t", values="v", windows=[np.timedelta64(1, "h"), np.timedelta64(90, "m")],
                           aggs=["count", "sum"])
    want = window_aggregate(ev, by="k", on="t", values="v", windows=["1h", "90min"], aggs=["count", "sum"])
    pd.testing.assert_frame_equal(got, want)
    with pytest.raises(TypeError, match="window_aggregate: windows must be an int > 0 when the times are integers"):
        window_aggregate(_small(), by="k", on="t", values="v", windows=np.timedelta64(2, "s"))


def test_windows_that_give_one_column_name_twice_are_rejected():
    """"1h" and timedelta(hours=1) both make the column "v_sum_1h": one of them used to vanish."""
    import datetime

    ev = _small().assign(t=pd.to_datetime([1, 2, 3], unit="h"))
    for windows in (["1h", datetime.timedelta(hours=1)], [pd.Timedelta("2h"), "2h"]):
        with pytest.raises(ValueError, match=r"window_aggregate: windows\[0\] and windows\[1\] both give the column "
                                             r"name suffix '(1h|2h)'"):
            window_aggregate(ev, by="k", on="t", values="v", windows=windows, aggs="sum")
