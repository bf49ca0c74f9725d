"""point_in_time_join against pandas.merge_asof and DuckDB's ASOF LEFT JOIN on random cases
(ties in time, duplicate feature rows at one time, empty tables, entities absent on one side,
missing keys), and the bitemporal rule against its definition."""

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import mlsd
from mlsd.features import FeatureTable, point_in_time_join

F = "point_in_time_join"


def _case(seed, n=None, m=None, *, n_keys=6, t_max=30, null_keys=False):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60)) if n is None else n
    m = int(rng.integers(0, 60)) if m is None else m
    # keys 0..n_keys-1 on the spine, 2..n_keys+1 on the features: some entities only on one side
    sk = rng.integers(0, n_keys, n)
    fk = rng.integers(2, n_keys + 2, m)
    spine = pd.DataFrame({"k": sk, "t": rng.integers(0, t_max, n), "rid": np.arange(n)})
    feats = pd.DataFrame({"k": fk, "t": rng.integers(0, t_max, m), "row": np.arange(m),
                          "x": rng.standard_normal(m)})
    if null_keys:
        spine["k"] = pd.array(np.where(rng.random(n) < 0.15, None, sk), dtype="Int64")
        feats["k"] = pd.array(np.where(rng.random(m) < 0.15, None, fk), dtype="Int64")
    return spine, feats


def _pandas_reference(spine, feats, *, by, ttl=None, allow_exact_matches=True):
    """merge_asof needs both sides sorted by time (stable sorts keep the row order among ties)."""
    left = spine.sort_values("t", kind="stable")
    right = feats.sort_values("t", kind="stable").rename(columns={"t": "ft"})
    right["t"] = right["ft"]
    out = pd.merge_asof(left, right.drop(columns=[]), on="t", by=by, direction="backward", tolerance=ttl,
                        allow_exact_matches=allow_exact_matches)
    return out.set_index(left.index).loc[spine.index]


def _duckdb_matched_time(spine, feats, *, ttl=None, allow_exact_matches=True):
    op = ">=" if allow_exact_matches else ">"
    con = duckdb.connect()
    con.register("s", spine[["k", "t", "rid"]])
    con.register("f", feats[["k", "t"]])
    res = con.sql(f"SELECT s.rid, f.t AS ft FROM s ASOF LEFT JOIN f ON s.k = f.k AND s.t {op} f.t").df()
    res = res.sort_values("rid").set_index("rid")["ft"]
    ft = res.reindex(spine["rid"]).to_numpy(dtype=np.float64)
    if ttl is not None:
        ft[spine["t"].to_numpy() - ft > ttl] = np.nan
    return ft


@pytest.mark.parametrize("seed", range(60))
def test_equals_merge_asof_and_duckdb_on_random_cases(seed):
    spine, feats = _case(seed)
    ttl = [None, 0, 3, 10][seed % 4]
    exact = seed % 3 != 0
    got = point_in_time_join(spine, feats, by="k", on="t", ttl=ttl, allow_exact_matches=exact, time_column="ft")
    ref = _pandas_reference(spine, feats, by="k", ttl=ttl, allow_exact_matches=exact)
    assert list(got.index) == list(spine.index) and got["rid"].tolist() == spine["rid"].tolist()
    assert got["row"].dtype == "Int64" and got["x"].dtype == "Float64"
    # which row wins (duplicates at one time included) and its values
    np.testing.assert_array_equal(got["row"].to_numpy(dtype=np.float64, na_value=np.nan),
                                  ref["row"].to_numpy(dtype=np.float64))
    np.testing.assert_array_equal(got["x"].to_numpy(dtype=np.float64, na_value=np.nan),
                                  ref["x"].to_numpy(dtype=np.float64))
    # DuckDB picks an unspecified row among ties: compare the matched time
    np.testing.assert_array_equal(got["ft"].to_numpy(dtype=np.float64, na_value=np.nan),
                                  _duckdb_matched_time(spine, feats, ttl=ttl, allow_exact_matches=exact))


@pytest.mark.parametrize("seed", range(20))
def test_missing_keys_match_nothing(seed):
    spine, feats = _case(100 + seed, null_keys=True)
    got = point_in_time_join(spine, feats, by="k", on="t", time_column="ft")
    present = spine["k"].notna().to_numpy()
    ref = _pandas_reference(spine[present].astype({"k": "int64"}), feats[feats["k"].notna()].astype({"k": "int64"}),
                            by="k")
    want = np.full(len(spine), np.nan)
    want[present] = ref["row"].to_numpy(dtype=np.float64)
    np.testing.assert_array_equal(got["row"].to_numpy(dtype=np.float64, na_value=np.nan), want)
    np.testing.assert_array_equal(got["ft"].to_numpy(dtype=np.float64, na_value=np.nan),
                                  _duckdb_matched_time(spine, feats))


@pytest.mark.parametrize("n, m", [(0, 10), (10, 0), (0, 0), (1, 1)])
def test_empty_tables(n, m):
    spine, feats = _case(7, n, m)
    feats["s"] = feats["row"].astype(str)
    got = point_in_time_join(spine, feats, by="k", on="t")
    assert len(got) == n and list(got.columns) == ["k", "t", "rid", "row", "x", "s"]
    ref = _pandas_reference(spine, feats, by="k")
    np.testing.assert_array_equal(got["row"].to_numpy(dtype=np.float64, na_value=np.nan),
                                  ref["row"].to_numpy(dtype=np.float64))
    arrow = point_in_time_join(pa.Table.from_pandas(spine, preserve_index=False),
                               pa.Table.from_pandas(feats, preserve_index=False), by="k", on="t")
    assert arrow.num_rows == n and arrow.column("row").to_pylist() == got["row"].astype(object).where(
        got["row"].notna(), None).tolist()


def _bitemporal_reference(spine, feats, *, ttl=None, exact=True):
    """The definition: among the entity's rows with time and creation time both <= t (< t), the
    latest time, then the latest creation time, then the last row; nothing when older than ttl."""
    out = []
    for k, t in zip(spine["k"], spine["t"]):
        ok = (feats["k"] == k) & ((feats["t"] <= t) & (feats["c"] <= t) if exact else (feats["t"] < t) & (feats["c"] < t))
        cand = feats[ok]
        if cand.empty:
            out.append(np.nan)
            continue
        best = cand.sort_values(["t", "c", "row"], kind="stable").iloc[-1]
        out.append(np.nan if ttl is not None and t - best["t"] > ttl else best["row"])
    return np.array(out, dtype=np.float64)


@pytest.mark.parametrize("seed", range(30))
def test_created_at_never_leaks_a_later_write(seed):
    spine, feats = _case(200 + seed)
    rng = np.random.default_rng(seed)
    feats["c"] = feats["t"] + rng.integers(-2, 8, len(feats))  # written around (mostly after) the event time
    ttl = [None, 4][seed % 2]
    exact = seed % 3 != 1
    got = point_in_time_join(spine, feats, by="k", on="t", created_at="c", ttl=ttl, allow_exact_matches=exact)
    np.testing.assert_array_equal(got["row"].to_numpy(dtype=np.float64, na_value=np.nan),
                                  _bitemporal_reference(spine, feats, ttl=ttl, exact=exact))
    assert "c" not in got.columns


def test_several_tables_keys_of_several_columns_and_kinds():
    rng = np.random.default_rng(5)
    n, m = 300, 400
    spine = pd.DataFrame({"user": rng.integers(0, 5, n), "site": rng.choice(["a", "b", "c"], n),
                          "t": pd.to_datetime(rng.integers(0, 10_000, n), unit="s"), "label": rng.integers(0, 2, n)})
    f1 = pd.DataFrame({"user": rng.integers(0, 6, m), "site": pd.Categorical(rng.choice(["b", "c", "d"], m)),
                       "t": pd.to_datetime(rng.integers(0, 10_000, m), unit="s").astype("datetime64[ms]"),
                       "v": rng.standard_normal(m), "flag": rng.random(m) < 0.5})
    f2 = pa.table({"uid": rng.integers(0, 5, m), "ts": pa.array(rng.integers(0, 10_000_000, m), pa.timestamp("ms")),
                   "score": rng.standard_normal(m)})
    got = point_in_time_join(spine, [FeatureTable(f1, prefix="a_", ttl="30min"),
                                     FeatureTable(f2, by={"user": "uid"}, on="ts", prefix="b_")],
                             by=["user", "site"], on="t")
    assert list(got.columns) == ["user", "site", "t", "label", "a_v", "a_flag", "b_score"]
    # a table keyed by a subset of the spine's keys, named as the spine names them
    sub = point_in_time_join(spine, FeatureTable(f2.rename_columns(["user", "ts", "score"]), by="user", on="ts"),
                             by=["user", "site"], on="t")
    pd.testing.assert_series_equal(sub["score"], got["b_score"], check_names=False)
    assert got["a_flag"].dtype == "boolean"
    # table 1: two key columns (the categorical compared by value), the ttl as pandas' tolerance
    f1p = f1.assign(site=f1["site"].astype(str), t=f1["t"].astype(spine["t"].dtype))
    ref1 = _pandas_reference(spine, f1p, by=["user", "site"], ttl=pd.Timedelta("30min"))
    pd.testing.assert_series_equal(got["a_v"], ref1["v"].astype("Float64"), check_names=False)
    pd.testing.assert_series_equal(got["a_flag"], ref1["flag"].astype("boolean"), check_names=False)
    # table 2: its own key and time columns (the spine's "user" against its "uid")
    f2p = f2.to_pandas().rename(columns={"uid": "user", "ts": "t"})
    ref2 = _pandas_reference(spine.assign(t=spine["t"].astype(f2p["t"].dtype)), f2p, by="user")
    pd.testing.assert_series_equal(got["b_score"], ref2["score"].astype("Float64"), check_names=False)


def test_spine_order_index_and_arrow_in_arrow_out():
    spine, feats = _case(11, 80, 90)
    spine.index = np.arange(80)[::-1] * 3
    feats["s"] = np.where(feats["row"] % 3 == 0, None, feats["row"].astype(str))
    got = point_in_time_join(spine, feats, by="k", on="t", prefix="f_")
    assert list(got.index) == list(spine.index)
    ref = _pandas_reference(spine, feats, by="k")
    got_a = point_in_time_join(pa.Table.from_pandas(spine, preserve_index=False),
                               pa.Table.from_pandas(feats, preserve_index=False), by="k", on="t", prefix="f_")
    assert isinstance(got_a, pa.Table) and got_a.schema.field("f_row").type == pa.int64()
    np.testing.assert_array_equal(got_a.column("f_row").to_pandas().to_numpy(dtype=np.float64),
                                  ref["row"].to_numpy(dtype=np.float64))
    assert got_a.column("f_s").to_pylist() == [None if pd.isna(v) else v for v in ref["s"]]
    assert got_a.column("rid").to_pylist() == spine["rid"].tolist()
    # a pandas feature table into an arrow spine, and the other way round
    mixed = point_in_time_join(pa.Table.from_pandas(spine, preserve_index=False), feats, by="k", on="t", prefix="f_")
    assert mixed.column("f_row").to_pylist() == got_a.column("f_row").to_pylist()
    mixed2 = point_in_time_join(spine, pa.Table.from_pandas(feats, preserve_index=False), by="k", on="t", prefix="f_")
    np.testing.assert_array_equal(mixed2["f_row"].to_numpy(dtype=np.float64, na_value=np.nan),
                                  ref["row"].to_numpy(dtype=np.float64))


def test_tz_aware_and_units_and_string_keys():
    rng = np.random.default_rng(3)
    n, m = 200, 150
    spine = pd.DataFrame({"k": rng.choice(["u1", "u2", "u3", "ü"], n),
                          "t": pd.to_datetime(rng.integers(0, 10**6, n), unit="s").tz_localize("Europe/Paris")})
    feats = pd.DataFrame({"k": rng.choice(["u2", "u3", "ü", "x"], m),
                          "t": pd.to_datetime(rng.integers(0, 10**9, m), unit="ms").tz_localize("Europe/Paris"),
                          "v": rng.integers(0, 100, m)})
    got = point_in_time_join(spine, feats, by="k", on="t", ttl="2d", time_column="ft")
    ref = _pandas_reference(spine.assign(t=spine["t"].astype(feats["t"].dtype)), feats, by="k", ttl=pd.Timedelta("2D"))
    pd.testing.assert_series_equal(got["v"], ref["v"].astype("Int64"), check_names=False)
    assert str(got["ft"].dt.tz) == "Europe/Paris"
    pd.testing.assert_series_equal(got["ft"], ref["ft"], check_names=False, check_dtype=False)


def test_same_result_for_any_thread_count():
    spine, feats = _case(9, 200_000, 150_000, n_keys=3000, t_max=10**6)
    before = mlsd.get_num_threads()
    try:
        mlsd.set_num_threads(1)
        one = point_in_time_join(spine, feats, by="k", on="t", ttl=5000)
        mlsd.set_num_threads(2)
        two = point_in_time_join(spine, feats, by="k", on="t", ttl=5000)
    finally:
        mlsd.set_num_threads(before)
    pd.testing.assert_frame_equal(one, two)
    ref = _pandas_reference(spine, feats, by="k", ttl=5000)
    np.testing.assert_array_equal(one["row"].to_numpy(dtype=np.float64, na_value=np.nan),
                                  ref["row"].to_numpy(dtype=np.float64))


def test_missing_times():
    spine = pd.DataFrame({"k": [1, 1, 1], "t": pd.to_datetime(["2024-01-02", None, "2024-01-04"])})
    feats = pd.DataFrame({"k": [1, 1], "t": pd.to_datetime(["2024-01-01", None]), "v": [1.5, 2.5]})
    got = point_in_time_join(spine, feats, by="k", on="t")
    assert got["v"].isna().tolist() == [False, True, False]
    assert got["v"][0] == 1.5 and got["v"][2] == 1.5


def test_bad_input_names_the_argument():
    spine = pd.DataFrame({"k": [1], "t": [1], "v": [0]})
    feats = pd.DataFrame({"k": [1], "t": [1], "v": [2.0]})
    with pytest.raises(ValueError, match=r"point_in_time_join: output column 'v' \(from features\) already exists"):
        point_in_time_join(spine, feats, by="k", on="t")
    with pytest.raises(ValueError, match=r"output column 'f_v' \(from features\[1\]\)"):
        point_in_time_join(spine, [FeatureTable(feats, prefix="f_"), FeatureTable(feats, prefix="f_")], by="k", on="t")
    with pytest.raises(ValueError, match="by names column 'k', which features does not have"):
        point_in_time_join(spine, feats.rename(columns={"k": "user"}), by="k", on="t", prefix="f_")
    with pytest.raises(ValueError, match="by names column 'user', which spine does not have"):
        point_in_time_join(spine, feats, by="user", on="t", prefix="f_")
    with pytest.raises(ValueError, match="on names column 't', which features does not have"):
        point_in_time_join(spine, feats.rename(columns={"t": "ts"}), by="k", on="t", prefix="f_")
    with pytest.raises(TypeError, match="ttl must be an int >= 0 when the times are integers"):
        point_in_time_join(spine, feats, by="k", on="t", ttl="1h", prefix="f_")
    with pytest.raises(ValueError, match="'ttl' parameter of point_in_time_join"):
        point_in_time_join(spine, feats, by="k", on="t", ttl=-1, prefix="f_")
    with pytest.raises(TypeError, match="by column 'k' holds keys of different types"):
        point_in_time_join(spine, feats.assign(k=["a"]), by="k", on="t", prefix="f_")
    with pytest.raises(ValueError, match="by of features names 2 key columns, the spine's by 1"):
        point_in_time_join(spine, FeatureTable(feats, by=["k", "x"]), by="k", on="t", prefix="f_")
    with pytest.raises(ValueError, match="by names column 'x', which features does not have"):
        point_in_time_join(spine, FeatureTable(feats, by={"k": "x"}), by="k", on="t", prefix="f_")
    with pytest.raises(ValueError, match="columns names column 'w', which features does not have"):
        point_in_time_join(spine, feats, by="k", on="t", prefix="f_", columns=["w"])
    with pytest.raises(ValueError, match="created_at names column 'c', which features does not have"):
        point_in_time_join(spine, feats, by="k", on="t", prefix="f_", created_at="c")
    with pytest.raises(TypeError, match="'features' parameter of point_in_time_join"):
        point_in_time_join(spine, [], by="k", on="t")
    twice = pd.concat([feats, feats[["v"]]], axis=1)  # two columns named v
    with pytest.raises(ValueError, match=r"point_in_time_join: features has 2 columns named 'v' \(read for columns\)"):
        point_in_time_join(spine, twice, by="k", on="t", prefix="f_", columns=["v"])
    with pytest.raises(ValueError, match=r"point_in_time_join: features has 2 columns named 'v' \(read for columns\)"):
        point_in_time_join(spine, twice, by="k", on="t", prefix="f_")
    with pytest.raises(ValueError, match=r"point_in_time_join: spine has 2 columns named 'k' \(read for by\)"):
        point_in_time_join(pd.concat([spine, spine[["k"]]], axis=1), feats, by="k", on="t", prefix="f_")


def test_numpy_timedelta_ttl_is_a_duration():
    spine, feats = _case(21, 80, 90)
    base = pd.Timestamp("2024-01-01")
    spine["t"] = base + pd.to_timedelta(spine["t"], unit="min")
    feats["t"] = base + pd.to_timedelta(feats["t"], unit="min")
    got = point_in_time_join(spine, feats, by="k", on="t", ttl=np.timedelta64(3, "m"))
    pd.testing.assert_frame_equal(got, point_in_time_join(spine, feats, by="k", on="t", ttl="3min"))
    with pytest.raises(TypeError, match="point_in_time_join: ttl must be an int >= 0 when the times are integers"):
        point_in_time_join(*_case(21, 5, 5), by="k", on="t", ttl=np.timedelta64(3, "m"))


def test_float16_feature_columns():
    """pandas has no nullable float16: such a column comes back as Float32 (exact), NA where missing."""
    spine = pd.DataFrame({"k": [1, 2, 1], "t": [5, 5, 0]})
    feats = pd.DataFrame({"k": [1], "t": [1], "x": np.array([1.5], dtype=np.float16)})
    got = point_in_time_join(spine, feats, by="k", on="t")
    assert got["x"].dtype == "Float32" and got["x"].isna().tolist() == [False, True, True] and got["x"][0] == 1.5


def test_key_columns_without_any_key_match_nothing_whatever_the_other_side():
    """A key column with no key at all -- pyarrow's null type (an all-None or empty object column
    converted from pandas), or an all-None object column -- fits keys of any kind and matches nothing."""
    feats = pd.DataFrame({"k": ["a", "b"], "t": [1, 2], "x": [1.0, 2.0]})
    empty = pd.DataFrame({"k": pd.Series([], dtype=object), "t": pd.Series([], dtype=np.int64)})
    got = point_in_time_join(pa.Table.from_pandas(empty, preserve_index=False),
                             pa.Table.from_pandas(feats, preserve_index=False), by="k", on="t")
    assert got.num_rows == 0 and got.column_names == ["k", "t", "x"]
    nulls = point_in_time_join(pa.table({"k": pa.nulls(2), "t": [3, 4]}), feats, by="k", on="t")
    assert nulls.column("x").null_count == 2
    nones = point_in_time_join(pd.DataFrame({"k": [None, None], "t": [3, 4]}), feats.assign(k=[1, 2]), by="k", on="t")
    assert nones["x"].isna().all()
    both = point_in_time_join(pd.DataFrame({"k": [None, "a"], "j": [None, None], "t": [3, 4]}),
                              feats.assign(j=[7, 7]), by=["k", "j"], on="t")
    assert both["x"].isna().all()


def test_durations_beyond_int64_name_the_argument():
    spine, feats = pd.DataFrame({"k": [1], "t": [5]}), pd.DataFrame({"k": [1], "t": [1], "x": [1.0]})
    with pytest.raises(ValueError, match=r"point_in_time_join: ttl must fit in int64 ticks of the times; got 11805"):
        point_in_time_join(spine, feats, by="k", on="t", ttl=2**70)
    assert point_in_time_join(spine, feats, by="k", on="t", ttl=2**63 - 1)["x"].tolist() == [1.0]
