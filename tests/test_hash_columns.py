"""hash_columns and collision_report: equal to FeatureHasher(input_type="string") on the documented
keys, for pandas, pyarrow and NumPy inputs."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.feature_extraction import FeatureHasher as SkHasher
from sklearn.utils import murmurhash3_32 as sk_murmur

import mlsd
from mlsd._validation import InvalidParameterError
from mlsd.hashing import collision_report, hash_columns

SEP = "\x1f"


def make_frame(seed, n=500):
    rng = np.random.default_rng(seed)
    words = ["apple", "bánh mì", "東京", "", "x=y", "a\x1fb", "🙂"]
    user = np.array([words[i] for i in rng.integers(0, len(words), n)], dtype=object)
    user[rng.random(n) < 0.1] = None
    ad = pd.array(rng.integers(-5, 50, n), dtype="Int64")
    ad[rng.random(n) < 0.1] = pd.NA
    return pd.DataFrame({
        "user": user,
        "ad": ad,
        "hour": rng.integers(0, 24, n),                                    # numpy int64
        "premium": rng.random(n) < 0.3,                                    # bool
        "country": pd.Categorical(rng.choice(["fr", "de", "jp"], n)),
        "score": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 9, n)).astype(float),  # whole floats
    })


def text(v):
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        return str(int(v))
    return str(v)


def expected_keys(df, columns, crosses):
    rows = []
    for r in range(len(df)):
        def key(c):
            v = df[c].iloc[r]
            return None if pd.isna(v) else f"{c}={text(v)}"
        keys = [k for k in (key(c) for c in columns) if k is not None]
        for cross in crosses:
            parts = [key(c) for c in cross]
            if all(p is not None for p in parts):
                keys.append(SEP.join(parts))
        rows.append(keys)
    return rows


def assert_identical(a, b):
    assert type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("alternate_sign", [True, False])
@pytest.mark.parametrize("n_features", [16, 2**20])
def test_equals_feature_hasher_on_documented_keys(seed, alternate_sign, n_features):
    df = make_frame(seed)
    crosses = [("user", "ad"), ("country", "hour", "premium")]
    columns = ["user", "ad", "hour", "premium", "country", "score"]
    ours = hash_columns(df, columns, crosses, n_features=n_features, alternate_sign=alternate_sign)
    ref = SkHasher(n_features, input_type="string", alternate_sign=alternate_sign).transform(
        expected_keys(df, columns, crosses))
    assert_identical(ours, ref)


def test_pandas_arrow_and_numpy_inputs_agree():
    df = make_frame(7)
    crosses = [("user", "country")]
    ref = hash_columns(df, crosses=crosses)
    assert_identical(hash_columns(pa.Table.from_pandas(df, preserve_index=False), crosses=crosses), ref)
    table = pa.table({"user": pa.array(df.user.tolist(), from_pandas=True).dictionary_encode(),
                      "ad": pa.array(df.ad.tolist(), from_pandas=True),
                      "hour": df.hour.to_numpy(), "premium": df.premium.to_numpy(),
                      "country": pa.array(df.country.astype(str).tolist()), "score": df.score.to_numpy()})
    assert_identical(hash_columns(table, crosses=crosses), ref)
    as_numpy = {"user": df.user.to_numpy(), "ad": df.ad.to_numpy(dtype=float, na_value=np.nan),
                "hour": df.hour.to_numpy(), "premium": df.premium.to_numpy(),
                "country": df.country.astype(str).to_numpy(), "score": df.score.to_numpy()}
    assert_identical(hash_columns(as_numpy, crosses=crosses), ref)
    chunked = pa.Table.from_batches(pa.Table.from_pandas(df, preserve_index=False).to_batches(max_chunksize=77))
    assert_identical(hash_columns(chunked, crosses=crosses), ref)


def test_sliced_arrow_tables_and_large_strings():
    # A sliced table's string offsets do not start at 0; 32- and 64-bit offsets are read as they are.
    df = make_frame(5)
    crosses = [("user", "country")]
    table = pa.Table.from_pandas(df, preserve_index=False)
    large = table.set_column(0, "user", table.column("user").cast(pa.large_string()))
    for t in (table, large):
        for lo, n in ((0, 500), (37, 200), (499, 1), (250, 0)):
            assert_identical(hash_columns(t.slice(lo, n), crosses=crosses),
                             hash_columns(df.iloc[lo:lo + n].reset_index(drop=True), crosses=crosses))


def test_crossed_columns_need_not_be_hashed_alone_and_subset():
    df = make_frame(1)
    ours = hash_columns(df, ["hour"], [("user", "ad")], n_features=2**18)
    ref = SkHasher(2**18, input_type="string").transform(expected_keys(df, ["hour"], [("user", "ad")]))
    assert_identical(ours, ref)


def test_seed_and_dtype():
    df = make_frame(2)
    a = hash_columns(df, seed=5, dtype=np.float32)
    assert a.dtype == np.float32
    assert (a != hash_columns(df, seed=0, dtype=np.float32)).nnz > 0
    assert hash_columns(df).dtype == np.float64


def test_same_output_for_any_thread_count():
    df = make_frame(3, n=20_000)
    mlsd.set_num_threads(1)
    a = hash_columns(df, crosses=[("user", "ad")])
    mlsd.set_num_threads(2)
    assert_identical(hash_columns(df, crosses=[("user", "ad")]), a)


def test_errors():
    df = make_frame(0, n=10)
    with pytest.raises(ValueError, match=r"unknown column\(s\) \['nope'\]"):
        hash_columns(df, ["nope"])
    with pytest.raises(ValueError, match="a cross needs at least two columns"):
        hash_columns(df, crosses=[("user",)])
    with pytest.raises(TypeError, match="column 'x' holds non-integer floats"):
        hash_columns({"x": np.array([0.5, 1.0])})
    with pytest.raises(TypeError, match="column 'x' must hold strings .* found int at row 1"):
        hash_columns({"x": np.array(["a", 3], dtype=object)})
    with pytest.raises(TypeError, match="unsupported dtype"):
        hash_columns({"t": np.array(["2020-01-01"], dtype="datetime64[D]")})
    with pytest.raises(ValueError, match="different lengths"):
        hash_columns({"a": [1, 2], "b": [1]})
    with pytest.raises(TypeError, match="'data' parameter of hash_columns must be a pandas DataFrame"):
        hash_columns([[1, 2]])
    for bad in (0, -1, 2**31, 1.5):
        with pytest.raises(InvalidParameterError, match="'n_features' parameter of hash_columns"):
            hash_columns(df, n_features=bad)
    with pytest.raises(InvalidParameterError, match="'seed' parameter of hash_columns"):
        hash_columns(df, seed=-1)


def test_empty_table():
    X = hash_columns({"a": np.array([], dtype=object)}, n_features=8)
    assert X.shape == (0, 8) and X.nnz == 0


def test_collision_report_counts():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.integers(0, 300, 2000), "b": rng.choice(list("xyz"), 2000)})
    n = 256
    report = collision_report(df, crosses=[("a", "b")], n_features=n)
    keys = {f"a={v}" for v in df.a} | {f"b={v}" for v in df.b} | {f"a={x}{SEP}b={y}" for x, y in zip(df.a, df.b)}
    buckets = {}
    for k in keys:
        buckets.setdefault(abs(sk_murmur(k)) % n, []).append(k)
    assert report.n_keys == len(keys)
    assert report.n_buckets_used == len(buckets)
    assert report.n_colliding_keys == sum(len(v) for v in buckets.values() if len(v) > 1)
    assert report.expected_collision_rate == pytest.approx(1 - (1 - 1 / n) ** (len(keys) - 1))
    frame = report.to_frame()
    assert list(frame.source) == ["a", "b", "a x b"]
    assert frame.n_keys.tolist() == [df.a.nunique(), 3, len(set(zip(df.a, df.b)))]


def test_column_specs_carry_the_bound_kind():
    # What hash_columns hands to C++ is a bound ColumnSpec whose kind is the bound ColumnKind enum.
    import mlsd.hashing as mh

    kind = mlsd._core.hashing.ColumnKind
    df = make_frame(3, n=20)
    expected = {"user": kind.strings, "ad": kind.ints, "hour": kind.ints, "premium": kind.dictionary,
                "country": kind.dictionary, "score": kind.ints}
    for name, k in expected.items():
        spec = mh._pandas_spec(name, df[name])
        assert (spec.kind, spec.name) == (k, name)
    table = pa.Table.from_pandas(df)
    assert mh._arrow_spec("country", table.column("country")).kind == kind.dictionary
    assert mh._arrow_spec("s", pa.array(["a", None])).kind == kind.strings
    assert mh._arrow_spec("s", pa.array(["a", None], type=pa.large_string())).kind == kind.strings
    assert mh._numpy_spec("b", np.array([True, False])).kind == kind.dictionary
    assert mh._numpy_spec("u", np.array(["a", "b"])).kind == kind.strings


def test_unknown_column_kind_is_an_error():
    h = mlsd._core.hashing
    ints = np.arange(3, dtype=np.int64)
    with pytest.raises(AttributeError):
        h.ColumnKind.categorical
    with pytest.raises(TypeError):  # a kind spelled as a string is not decoded: only the enum is taken
        h.ColumnSpec("dictionary", "c", ints=ints)
    with pytest.raises(ValueError, match="unknown column kind 7"):  # an integer outside the enum's values
        h.ColumnSpec(h.ColumnKind(7), "c", ints=ints)
    with pytest.raises(TypeError):  # the same for FeatureHasher's input type
        h.hash_feature_input([["a"]], "strings", 8, 0, True)
    spec = h.ColumnSpec(h.ColumnKind.ints, "c", ints=ints)
    assert h.hash_columns([spec], 1, [], 3, 8, 0, True)[2].tolist() == [0, 1, 2, 3]
