"""The shared pieces of mlsd.features: joint key codes, times in one unit, the radix sort order."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlsd.features import _partials as P

F = "point_in_time_join"
RNG = np.random.default_rng(0)


def _same_partition(codes, keys):
    """codes[i] == codes[j] <=> keys[i] == keys[j], and missing keys (None) get -1."""
    seen = {}
    for c, k in zip(codes, keys):
        if k is None:
            assert c == -1
            continue
        assert c >= 0
        assert seen.setdefault(k, c) == c, (k, c)
    assert len(set(seen.values())) == len(seen)  # distinct keys, distinct codes


def _keys(df, cols):
    out = []
    for row in df[cols].itertuples(index=False):
        out.append(None if any(pd.isna(v) for v in row) else tuple(row))
    return out


@pytest.mark.parametrize("make", [
    lambda n: RNG.integers(-5, 5, n),
    lambda n: RNG.integers(0, 2**62, n) * np.where(RNG.random(n) < 0.5, -1, 1),  # too wide for offsets
    lambda n: pd.array(np.where(RNG.random(n) < 0.2, None, RNG.integers(0, 6, n)), dtype="Int64"),
    lambda n: np.where(RNG.random(n) < 0.2, None, RNG.choice(["a", "bb", "ç", ""], n)).astype(object),
    lambda n: pd.Categorical(RNG.choice(["x", "y", "z", None], n)),
    lambda n: RNG.random(n) < 0.5,
    lambda n: np.where(RNG.random(n) < 0.2, np.nan, RNG.integers(0, 4, n).astype(float)),
], ids=["int", "wide-int", "Int64", "str", "categorical", "bool", "float"])
@pytest.mark.parametrize("dense", [False, True])
def test_joint_codes_one_column(make, dense):
    a = pd.DataFrame({"k": make(50)})
    b = pd.DataFrame({"key": make(30)})
    c = pa.table({"k": pa.array(make(20) if not isinstance(make(1), pd.Categorical) else
                                pd.Categorical(RNG.choice(["z", "w", None], 20)))})
    codes, n_codes = P.encode_keys([a, b, c], [["k"], ["key"], ["k"]], ["spine", "features", "features[1]"], F,
                                   dense=dense)
    keys = _keys(a, ["k"]) + _keys(b, ["key"]) + _keys(c.to_pandas(), ["k"])
    allc = np.concatenate(codes)
    assert allc.dtype == np.int64
    _same_partition(allc, keys)
    assert allc.max(initial=-1) < n_codes
    if dense:
        assert set(allc[allc >= 0]) == set(range(n_codes))


def test_joint_codes_categoricals_with_different_categories_and_strings():
    a = pd.DataFrame({"k": pd.Categorical(["u", "v", None, "w"], categories=["w", "v", "u"])})
    b = pd.DataFrame({"k": pd.Categorical(["v", "q"], categories=["q", "v"])})
    c = pd.DataFrame({"k": ["w", "q", None]})
    codes, _ = P.encode_keys([a, b, c], [["k"]] * 3, ["spine", "features", "features[1]"], F)
    _same_partition(np.concatenate(codes), ["u", "v", None, "w", "v", "q", "w", "q", None])


@pytest.mark.parametrize("dense", [False, True])
def test_joint_codes_several_columns(dense):
    n = 200
    a = pd.DataFrame({"u": RNG.integers(0, 3, n), "s": RNG.choice(["a", "b", None], n)})
    b = pa.table({"user": RNG.integers(0, 4, n), "site": RNG.choice(["b", "c"], n)})
    codes, n_codes = P.encode_keys([a, b], [["u", "s"], ["user", "site"]], ["spine", "features"], F, dense=dense)
    keys = _keys(a, ["u", "s"]) + _keys(b.to_pandas(), ["user", "site"])
    _same_partition(np.concatenate(codes), keys)
    if dense:
        allc = np.concatenate(codes)
        assert set(allc[allc >= 0]) == set(range(n_codes))


def test_key_errors_name_the_argument_and_table():
    a = pd.DataFrame({"k": [1, 2]})
    with pytest.raises(TypeError, match=r"point_in_time_join: by column 'k' holds keys of different types.*"
                                        r"integer in spine, string in features"):
        P.encode_keys([a, pd.DataFrame({"k": ["x"]})], [["k"], ["k"]], ["spine", "features"], F)
    with pytest.raises(TypeError, match=r"by column 'k' of features\[1\] holds values of mixed"):
        P.encode_keys([a, a, pd.DataFrame({"k": [1, "x"]})], [["k"]] * 3, ["spine", "features", "features[1]"], F)
    with pytest.raises(ValueError, match=r"by names column 'user', which features does not have"):
        P.encode_keys([a, a], [["k"], ["user"]], ["spine", "features"], F)
    with pytest.raises(TypeError, match="by column 'k' of spine has dtype"):
        P.encode_keys([pd.DataFrame({"k": [1j]}), a], [["k"], ["k"]], ["spine", "features"], F)
    with pytest.raises(ValueError, match="the same number"):
        P.encode_keys([a, a], [["k"], ["k", "k"]], ["spine", "features"], F)


def test_times_in_the_finest_unit_exactly():
    s = pd.DataFrame({"t": pd.to_datetime(["2024-01-01 00:00:01", None]).astype("datetime64[s]")})
    f = pd.DataFrame({"t": pd.to_datetime(["2024-01-01 00:00:00.000001"]).astype("datetime64[us]")})
    g = pa.table({"t": pa.array([1_000_000_000], pa.timestamp("ms"))})
    times, valid, spec = P.encode_times([s, f, g], ["t"] * 3, ["spine", "features", "features[1]"], F)
    assert spec.kind == "datetime" and spec.unit == "us" and spec.tz is None
    assert times[0][0] == pd.Timestamp("2024-01-01 00:00:01").value // 1000
    assert times[1][0] == pd.Timestamp("2024-01-01 00:00:00.000001").value // 1000
    assert times[2][0] == 1_000_000_000 * 1000
    assert valid[0].tolist() == [True, False] and valid[1] is None
    assert spec.duration("1h", "ttl", F) == 3_600_000_000
    assert spec.duration(pd.Timedelta("1ms"), "ttl", F) == 1000
    with pytest.raises(ValueError, match="ttl = '1ns' is not a whole number of us"):
        spec.duration("1ns", "ttl", F)
    with pytest.raises(ValueError, match="ttl must be >= 0"):
        spec.duration("-1h", "ttl", F)
    with pytest.raises(ValueError, match="could not parse"):
        spec.duration("soon", "ttl", F)
    with pytest.raises(TypeError, match="ttl must be a duration"):
        spec.duration(5, "ttl", F)


def test_time_errors():
    naive = pd.DataFrame({"t": pd.to_datetime(["2024-01-01"])})
    utc = pd.DataFrame({"t": pd.to_datetime(["2024-01-01"]).tz_localize("UTC")})
    paris = pd.DataFrame({"t": pd.to_datetime(["2024-01-01"]).tz_localize("Europe/Paris")})
    ints = pd.DataFrame({"t": [5]})
    with pytest.raises(ValueError, match=r"on columns have different time zones \(naive in spine, UTC in features\)"):
        P.encode_times([naive, utc], ["t", "t"], ["spine", "features"], F)
    with pytest.raises(ValueError, match="different time zones"):
        P.encode_times([utc, paris], ["t", "t"], ["spine", "features"], F)
    with pytest.raises(TypeError, match="on columns hold datetimes in some tables and integers"):
        P.encode_times([naive, ints], ["t", "t"], ["spine", "features"], F)
    with pytest.raises(TypeError, match="on column 't' of spine has dtype float64"):
        P.encode_times([pd.DataFrame({"t": [1.5]}), ints], ["t", "t"], ["spine", "features"], F)
    with pytest.raises(ValueError, match="on names column 'ts', which features does not have"):
        P.encode_times([ints, ints], ["t", "ts"], ["spine", "features"], F)
    big = pd.DataFrame({"t": np.array(["2300-01-01"], dtype="datetime64[s]")})
    with pytest.raises(ValueError, match="cannot be converted from s to ns"):
        P.encode_times([big, naive.astype("datetime64[ns]")], ["t", "t"], ["spine", "features"], F)
    t, _, spec = P.encode_times([utc, utc], ["t", "t"], ["spine", "features"], F)
    want = pd.Timestamp("2024-01-01").to_datetime64().astype(f"datetime64[{spec.unit}]").view(np.int64)
    assert spec.tz == "UTC" and t[0][0] == want


@pytest.mark.parametrize("n", [0, 1, 97, 5000, 70000])
@pytest.mark.parametrize("wide", [False, True])
def test_sort_order_is_the_stable_lexicographic_order(n, wide):
    codes = RNG.integers(-1, 50, n)
    times = RNG.integers(-2**62, 2**62, n) if wide else RNG.integers(0, 20, n)
    tie = RNG.integers(0, 3, n)
    assert np.array_equal(P.sort_order(codes, times), np.lexsort((times, codes)))
    assert np.array_equal(P.sort_order(codes, times, tie), np.lexsort((tie, times, codes)))
