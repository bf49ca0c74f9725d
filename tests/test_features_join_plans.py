"""point_in_time_join's two kernel plans and its gather of the matched columns, against
pandas.merge_asof: dense entity codes (feature rows grouped by a counting scatter, events looked
up bucket by bucket), codes too sparse for a table of groups (numbered densely first, then
grouped), an entity of more feature rows than the grouping holds in cache (both sides sorted and
merged), one heavy entity, and every fixed-width feature dtype brought back with nulls where
nothing matched."""

import numpy as np
import pandas as pd
import pytest

import mlsd
from mlsd.features import point_in_time_join


def _reference_rows(spine, feats, *, ttl=None, allow_exact_matches=True):
    """The feature row merge_asof picks for each spine row (NaN: none); it needs both sides sorted
    by time, and stable sorts keep the row order among ties (its rule: the last row wins)."""
    left = spine[["k", "t"]].assign(rid=np.arange(len(spine))).sort_values("t", kind="stable")
    right = feats[["k", "t"]].assign(row=np.arange(len(feats))).sort_values("t", kind="stable")
    out = pd.merge_asof(left, right, on="t", by="k", direction="backward", tolerance=ttl,
                        allow_exact_matches=allow_exact_matches)
    return out.sort_values("rid")["row"].to_numpy(dtype=np.float64)


def _case(seed, keys):
    rng = np.random.default_rng(seed)
    n, m = 500, 600
    # 4,000 codes over 1,100 rows: dense enough for the grouped plan, over several top buckets
    sk, fk = rng.integers(0, 4000, n), rng.integers(0, 4000, m)
    if keys == "heavy":  # one entity with 40% of the feature rows and of the events
        fk = np.where(rng.random(m) < 0.4, 17, fk)
        sk = np.where(rng.random(n) < 0.4, 17, sk)
    if keys in ("sparse", "sorted-sparse"):  # far apart: too sparse for a table of groups
        sk, fk = sk * 10**12 - 5 * 10**17, fk * 10**12 - 5 * 10**17
    spine = pd.DataFrame({"k": sk, "t": rng.integers(0, 50, n)})
    feats = pd.DataFrame({"k": fk, "t": rng.integers(0, 50, m), "x": rng.standard_normal(m)})
    if keys.startswith("sorted"):  # 65,537 more rows of an entity no event has: beyond the grouping, sorted
        heavy = 65_537
        feats = pd.concat([feats, pd.DataFrame({"k": np.full(heavy, fk.max() + 1), "t": rng.integers(0, 50, heavy),
                                                "x": rng.standard_normal(heavy)})], ignore_index=True)
    return spine, feats


@pytest.mark.parametrize("keys", ["dense", "heavy", "sparse", "sorted", "sorted-sparse"])
@pytest.mark.parametrize("seed", range(8))
def test_each_plan_picks_merge_asofs_row(seed, keys):
    spine, feats = _case(seed, keys)
    ttl = [None, 0, 5, 20][seed % 4]
    exact = seed % 3 != 0
    feats["row"] = np.arange(len(feats))
    got = point_in_time_join(spine, feats, by="k", on="t", ttl=ttl, allow_exact_matches=exact)
    want = _reference_rows(spine, feats, ttl=ttl, allow_exact_matches=exact)
    assert 0 < np.isnan(want).sum() < len(want)  # both matches and misses
    np.testing.assert_array_equal(got["row"].to_numpy(dtype=np.float64, na_value=np.nan), want)
    np.testing.assert_array_equal(got["x"].to_numpy(dtype=np.float64, na_value=np.nan),
                                  np.where(np.isnan(want), np.nan, feats["x"].to_numpy()[np.nan_to_num(want).astype(int)]))


def test_same_rows_for_any_thread_count_on_a_larger_case():
    rng = np.random.default_rng(3)
    n = 200_000
    spine = pd.DataFrame({"k": rng.integers(0, 20_000, n), "t": rng.integers(0, 10**6, n)})
    feats = pd.DataFrame({"k": rng.integers(0, 20_000, n), "t": rng.integers(0, 10**6, n), "row": np.arange(n)})
    try:
        mlsd.set_num_threads(1)
        one = point_in_time_join(spine, feats, by="k", on="t", ttl=50_000)
    finally:
        mlsd.set_num_threads(0)
    every = point_in_time_join(spine, feats, by="k", on="t", ttl=50_000)
    pd.testing.assert_frame_equal(one, every)
    sample = np.arange(0, n, 997)
    want = _reference_rows(spine, feats, ttl=50_000)[sample]
    np.testing.assert_array_equal(every["row"].to_numpy(dtype=np.float64, na_value=np.nan)[sample], want)


_DTYPES = {
    "b": (np.bool_, "boolean"), "i8": (np.int8, "Int8"), "i16": (np.int16, "Int16"), "i32": (np.int32, "Int32"),
    "i64": (np.int64, "Int64"), "u8": (np.uint8, "UInt8"), "u64": (np.uint64, "UInt64"),
    "f32": (np.float32, "Float32"), "f64": (np.float64, "Float64"),
    "ds": ("datetime64[s]", "datetime64[s]"), "dns": ("datetime64[ns]", "datetime64[ns]"),
    "tdms": ("timedelta64[ms]", "timedelta64[ms]"),
}


def test_every_fixed_width_dtype_comes_back_with_nulls():
    spine, feats = _case(5, "dense")
    rng = np.random.default_rng(9)
    m = len(feats)
    raw = rng.integers(0, 2**63 - 1, m, dtype=np.int64)
    for name, (dtype, _) in _DTYPES.items():
        if name == "u64":
            feats[name] = raw.astype(np.uint64) * np.uint64(2) + np.uint64(1)  # above 2**63 too
        elif name == "f32" or name == "f64":
            feats[name] = rng.standard_normal(m).astype(dtype)
        elif name == "b":
            feats[name] = rng.random(m) < 0.5
        elif np.dtype(dtype).kind in "mM":
            feats[name] = (raw % 10**12).view(dtype)
        else:
            feats[name] = (raw % 200).astype(dtype)
    feats.loc[3, "dns"] = pd.NaT  # a missing value in a matched row stays missing
    got = point_in_time_join(spine, feats, by="k", on="t")
    want = _reference_rows(spine, feats)
    matched = ~np.isnan(want)
    rows = want[matched].astype(np.int64)
    for name, (_, out_dtype) in _DTYPES.items():
        col = got[name]
        assert str(col.dtype) == out_dtype, name
        source = feats[name].to_numpy()
        if np.dtype(source.dtype).kind in "mM":
            values = col.to_numpy()
            assert np.isnat(values[~matched]).all(), name
            np.testing.assert_array_equal(values[matched].view(np.int64), source[rows].view(np.int64), err_msg=name)
        else:
            np.testing.assert_array_equal(col.isna().to_numpy(), ~matched, err_msg=name)
            np.testing.assert_array_equal(col.array[matched].to_numpy(dtype=source.dtype), source[rows], err_msg=name)


def test_output_columns_own_their_memory():
    """The gathered columns are built without copies: each must still own its values and its mask,
    so that writing to one column changes nothing else (another column, the feature table)."""
    spine, feats = _case(1, "dense")
    feats["y"] = feats["x"] * 2
    got = point_in_time_join(spine, feats, by="k", on="t")
    miss = np.flatnonzero(got["x"].isna().to_numpy())
    hit = np.flatnonzero(got["x"].notna().to_numpy())
    before = feats.copy()
    got.loc[miss[0], "x"] = 123.0
    got.loc[hit[0], "x"] = -1.0
    assert got["y"].isna().to_numpy()[miss[0]] and got["y"].to_numpy()[hit[0]] != -1.0
    pd.testing.assert_frame_equal(feats, before)


def test_arrow_fixed_width_columns_with_nulls_equal_arrows_own_take():
    """pyarrow in and out: fixed-width columns (with nulls of their own, in several chunks) are
    gathered by take_rows; the result equals pyarrow.compute.take of the matched rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    spine, feats = _case(4, "dense")
    rng = np.random.default_rng(4)
    m = len(feats)
    null = rng.random(m) < 0.2
    cols = {
        "i8": pa.array(rng.integers(-100, 100, m).astype(np.int8), mask=null),
        "u64": pa.array(rng.integers(0, 2**63 - 1, m).astype(np.uint64) * np.uint64(2)),
        "f16": pa.array(rng.standard_normal(m).astype(np.float16), mask=null),
        "f64": pa.array(np.r_[np.ones(3), rng.standard_normal(m)], mask=np.r_[[True, False, True], null])[3:],
        "ts": pa.array(rng.integers(0, 10**15, m), type=pa.timestamp("us", "UTC"), mask=null),
        "d32": pa.array(rng.integers(0, 20000, m).astype(np.int32), type=pa.date32()),
        "dur": pa.array(rng.integers(0, 10**9, m), type=pa.duration("ms"), mask=null),
        "b": pa.array(rng.random(m) < 0.5, mask=null),  # bit-packed: arrow's own take
        "s": pa.array([f"v{i}" for i in range(m)], mask=null),
    }
    half = m // 2
    table = pa.table({"k": feats["k"].to_numpy(), "t": feats["t"].to_numpy(),
                      **{c: pa.chunked_array([a] if c == "f64" else [a[:half], a[half:]])  # f64: one sliced chunk
                         for c, a in cols.items()}})
    got = point_in_time_join(pa.Table.from_pandas(spine, preserve_index=False), table, by="k", on="t")
    want = _reference_rows(spine, feats)
    indices = pa.array(np.nan_to_num(want, nan=0).astype(np.int64), mask=np.isnan(want))
    for c, a in cols.items():
        assert got.column(c).type == a.type, c
        assert got.column(c).combine_chunks().equals(pc.take(a, indices)), c
    # a pandas spine with an arrow table: pandas out, nullable types
    out = point_in_time_join(spine, table, by="k", on="t")
    assert str(out["i8"].dtype) == "Int8" and out["f64"].isna().sum() == got.column("f64").null_count


@pytest.mark.parametrize("dtype, out_dtype", [(">i8", "Int64"), (">u2", "UInt16"), (">f4", "Float32"),
                                              (">f8", "Float64"), (np.longdouble, np.longdouble)])
def test_numpy_columns_take_rows_cannot_hold_as_they_are(dtype, out_dtype):
    """Big-endian numbers (read from files written on other machines) come back as the native
    nullable type; a float wider than 8 bytes (np.longdouble) keeps its NumPy type, NaN where
    nothing matched (as merge_asof gives it); neither is an error."""
    spine, feats = _case(2, "dense")
    feats["x"] = (feats["x"].to_numpy() * 100).round().astype(dtype)
    got = point_in_time_join(spine, feats, by="k", on="t")
    want = _reference_rows(spine, feats)
    matched = ~np.isnan(want)
    assert got["x"].dtype == pd.api.types.pandas_dtype(out_dtype)
    values = got["x"].to_numpy(dtype=np.float64, na_value=np.nan)
    assert np.isnan(values[~matched]).all()
    np.testing.assert_array_equal(values[matched], feats["x"].to_numpy(dtype=np.float64)[want[matched].astype(int)])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_nan_in_a_numpy_float_column_comes_back_missing(dtype):
    """NaN is pandas' missing value in a NumPy float column: a matched row holding it is NA in the
    Float output (as ``astype("Float64")`` and the pyarrow output of the same join make it), not a
    NaN that ``isna()`` no longer sees."""
    import pyarrow as pa

    spine, feats = _case(6, "dense")
    rng = np.random.default_rng(6)
    feats["x"] = np.where(rng.random(len(feats)) < 0.3, np.nan, feats["x"]).astype(dtype)
    got = point_in_time_join(spine, feats, by="k", on="t")
    want = _reference_rows(spine, feats)
    matched = ~np.isnan(want)
    source = feats["x"].to_numpy()[np.nan_to_num(want).astype(int)]
    expected_na = ~matched | np.isnan(source)
    assert matched.any() and (matched & np.isnan(source)).any()
    np.testing.assert_array_equal(got["x"].isna().to_numpy(), expected_na)
    arrow = point_in_time_join(pa.Table.from_pandas(spine, preserve_index=False), feats, by="k", on="t")
    np.testing.assert_array_equal(arrow.column("x").is_null().to_numpy(zero_copy_only=False), expected_na)


def test_big_endian_columns_into_a_pyarrow_output():
    """A pandas feature table joined to a pyarrow spine: big-endian NumPy columns (which pyarrow
    refuses) come out as the native Arrow type."""
    import pyarrow as pa

    spine, feats = _case(7, "dense")
    feats["x"] = (feats["x"].to_numpy() * 100).round().astype(">i4")
    got = point_in_time_join(pa.Table.from_pandas(spine, preserve_index=False), feats, by="k", on="t")
    want = _reference_rows(spine, feats)
    matched = ~np.isnan(want)
    assert got.column("x").type == pa.int32()
    values = got.column("x").to_numpy(zero_copy_only=False)
    assert np.isnan(values[~matched]).all()
    np.testing.assert_array_equal(values[matched], feats["x"].to_numpy()[want[matched].astype(int)])
