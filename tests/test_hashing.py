"""mlsd.hashing compared with scikit-learn's FeatureHasher and murmurhash3_32."""

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.base import clone
from sklearn.feature_extraction import FeatureHasher as SkHasher
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils import murmurhash3_32 as sk_murmur

import mlsd
from mlsd.hashing import FeatureHasher, murmurhash3_32
from mlsd._validation import InvalidParameterError

ALPHABET = list("abcxyz09_=é中文🙂 \t")


def random_name(rng):
    return "".join(rng.choice(ALPHABET, size=int(rng.integers(0, 12))))


def random_value(rng):
    kind = rng.integers(0, 6)
    if kind == 0:
        return random_name(rng)  # string value: "name=value"
    if kind == 1:
        return 0  # dropped
    if kind == 2:
        return int(rng.integers(-3, 4))
    if kind == 3:
        return float(rng.normal())
    if kind == 4:
        return bool(rng.integers(0, 2))
    return np.float32(rng.random())


def random_samples(seed, n=200):
    rng = np.random.default_rng(seed)
    names = [random_name(rng) for _ in range(30)]  # few names: duplicates and collisions
    dicts, pairs, strings = [], [], []
    for _ in range(n):
        k = int(rng.integers(0, 8))  # empty rows included
        keys = [names[i] for i in rng.integers(0, len(names), k)]
        vals = [random_value(rng) for _ in keys]
        dicts.append(dict(zip(keys, vals)))
        pairs.append(list(zip(keys, vals)))  # repeated names in a row: summed
        strings.append(keys)
    return dicts, pairs, strings


def assert_identical(a, b):
    assert type(a) is type(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.indices.dtype == b.indices.dtype and a.indptr.dtype == b.indptr.dtype
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)  # exact, explicit zeros included


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("alternate_sign", [True, False])
@pytest.mark.parametrize("n_features", [1, 7, 2**20, 2**31 - 1])
def test_transform_identical_to_sklearn(seed, alternate_sign, n_features):
    dicts, pairs, strings = random_samples(seed)
    for input_type, data in (("dict", dicts), ("pair", pairs), ("string", strings)):
        kw = dict(n_features=n_features, input_type=input_type, alternate_sign=alternate_sign)
        assert_identical(FeatureHasher(**kw).transform(data), SkHasher(**kw).transform(data))


@pytest.mark.parametrize("alternate_sign", [True, False])
@pytest.mark.parametrize("n_features", [1, 7, 2**20])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
def test_string_lists_hashed_in_place_identical_to_sklearn(alternate_sign, n_features, dtype):
    # Lists of lists (or tuples) of ASCII str are hashed in place; a non-ASCII key, a str
    # subclass or a row of another type anywhere sends the whole input the general way.
    rng = np.random.default_rng(0)
    names = [f"k{i}" for i in range(40)] + ["", "a=b", "x" * 50]
    rows = [[names[i] for i in rng.integers(0, len(names), int(rng.integers(0, 60)))] for _ in range(3000)]

    class Str(str):
        pass

    variants = [lambda: rows, lambda: [tuple(r) for r in rows], lambda: rows[:-1] + [rows[-1] + ["é"]],
                lambda: rows[:-1] + [rows[-1] + [Str("s")]], lambda: rows[:-1] + [iter(rows[-1])]]
    kw = dict(n_features=n_features, input_type="string", alternate_sign=alternate_sign, dtype=dtype)
    for data in variants:
        expected = SkHasher(**kw).transform(data())
        for threads in (1, 2):
            mlsd.set_num_threads(threads)
            assert_identical(FeatureHasher(**kw).transform(data()), expected)
        mlsd.set_num_threads(None)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32])
def test_dtypes(dtype):
    dicts, _, _ = random_samples(1)
    dicts = [{k: v for k, v in d.items() if not isinstance(v, float)} for d in dicts]
    assert_identical(FeatureHasher(64, dtype=dtype).transform(dicts), SkHasher(64, dtype=dtype).transform(dicts))


def test_dtype_scipy_cannot_hold_is_rejected_like_sklearn():
    with pytest.raises(ValueError, match="does not support dtype float16"):
        SkHasher(8, dtype=np.float16).transform([{"a": 1}])
    with pytest.raises(ValueError, match="does not support dtype float16"):
        FeatureHasher(8, dtype=np.float16).transform([{"a": 1}])


def test_cancelling_signs_leave_explicit_zero_like_sklearn():
    # Find two names that share a bucket with opposite signs, then put both in one row.
    names = [f"f{i}" for i in range(200)]
    h = {n: murmurhash3_32(n) for n in names}
    a, b = next((x, y) for x in names for y in names if abs(h[x]) % 5 == abs(h[y]) % 5 and (h[x] < 0) != (h[y] < 0))
    X = [{a: 1, b: 1}]
    ours, ref = FeatureHasher(5).transform(X), SkHasher(5).transform(X)
    assert_identical(ours, ref)
    assert ours.nnz == 1 and ours.data[0] == 0


def test_generators_bytes_names_and_non_str_names_with_str_values():
    rows = [{b"bytes": 2.0, 5: "five", ("t",): "tuple"}, {"x": True}]
    assert_identical(FeatureHasher(32).transform(iter(rows)), SkHasher(32).transform(iter(rows)))
    strings = [[b"a", "b"], ("c" for _ in range(2))]
    assert_identical(FeatureHasher(32, input_type="string").transform(strings),
                     SkHasher(32, input_type="string").transform([[b"a", "b"], ["c", "c"]]))


BAD = [
    ("dict", [{1: 2.0}]),                # non-string name with a numeric value
    ("dict", [{"a": None}]),             # value that is neither str nor number
    ("dict", [{"a": b"x"}]),             # bytes value
    ("pair", [[("a", 1, 2)]]),           # not a pair
    ("pair", [[("a",)]]),
    ("pair", [[5]]),
    ("string", ["abc"]),                 # a single string instead of an iterable of strings
    ("string", [[1, 2]]),                # non-string names
    ("dict", []),                        # empty input
    ("dict", [{"\ud800": 1}]),           # lone surrogate: not encodable as UTF-8
]


@pytest.mark.parametrize("input_type,data", BAD)
def test_rejects_what_sklearn_rejects_with_the_same_type(input_type, data):
    with pytest.raises(Exception) as ref:
        SkHasher(16, input_type=input_type).transform(data)
    with pytest.raises(type(ref.value)) as ours:
        FeatureHasher(16, input_type=input_type).transform(data)
    if isinstance(ref.value, ValueError) and "empty" in str(ref.value):
        assert str(ours.value) == str(ref.value)


@pytest.mark.parametrize("params", [{"n_features": 0}, {"n_features": -1}, {"n_features": 2**31},
                                    {"n_features": 1.5}, {"input_type": "list"}, {"alternate_sign": "yes"}])
def test_parameter_validation(params):
    with pytest.raises(InvalidParameterError) as ours:
        FeatureHasher(**params).transform([{"a": 1}])
    assert "parameter of FeatureHasher" in str(ours.value)
    # sklearn validates in fit only (its transform with n_features=0 dies with SIGFPE); mlsd
    # validates in transform too.
    with pytest.raises((ValueError, TypeError)):  # sklearn's InvalidParameterError is both, as ours
        SkHasher(**params).fit_transform([{"a": 1}])


def test_sklearn_estimator_api():
    h = FeatureHasher(n_features=2**10, input_type="string", alternate_sign=False)
    assert h.get_params() == {"n_features": 2**10, "input_type": "string", "dtype": np.float64,
                              "alternate_sign": False}
    assert clone(h).set_params(n_features=16).n_features == 16
    docs = [["red", "apple"], ["green", "apple"], ["red", "car"], ["blue", "car"]] * 5
    y = [1, 1, 0, 0] * 5
    pipe = Pipeline([("hash", h), ("clf", LogisticRegression())]).fit(docs, y)
    assert (pipe.predict(docs) == y).all()
    assert_identical(h.fit_transform(docs), SkHasher(2**10, input_type="string", alternate_sign=False).fit_transform(docs))


def test_follows_sklearn_sparse_interface_setting():
    with sklearn.config_context(sparse_interface="sparray"):
        assert_identical(FeatureHasher(8).transform([{"a": 1}]), SkHasher(8).transform([{"a": 1}]))
        assert isinstance(FeatureHasher(8).transform([{"a": 1}]), sp.csr_array)


def test_same_output_for_any_thread_count():
    dicts, _, _ = random_samples(3, n=20_000)
    mlsd.set_num_threads(1)
    a = FeatureHasher(1000).transform(dicts)
    mlsd.set_num_threads(2)
    assert_identical(FeatureHasher(1000).transform(dicts), a)


# --------------------------------------------------------------------------- murmurhash3_32


@pytest.mark.parametrize("seed", [0, 1, 42, 2**31, 2**32 - 1])
@pytest.mark.parametrize("positive", [False, True])
def test_murmurhash_matches_sklearn(seed, positive):
    rng = np.random.default_rng(seed % 1000)
    for _ in range(50):
        s = random_name(rng)
        assert murmurhash3_32(s, seed, positive) == sk_murmur(s, seed, positive)
        assert murmurhash3_32(s.encode(), seed, positive) == sk_murmur(s.encode(), seed, positive)
    for k in [0, 1, -1, 2**31 - 1, -(2**31), int(rng.integers(-(2**31), 2**31))]:
        assert murmurhash3_32(k, seed, positive) == sk_murmur(k, seed, positive)
        assert murmurhash3_32(np.int32(k), seed, positive) == sk_murmur(np.int32(k), seed, positive)
    arr = rng.integers(-(2**31), 2**31, (7, 3)).astype(np.int32)
    ours, ref = murmurhash3_32(arr, seed, positive), sk_murmur(arr, seed, positive)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    np.testing.assert_array_equal(ours, ref)


def test_murmurhash_errors():
    with pytest.raises(TypeError, match="key.dtype should be int32"):
        murmurhash3_32(np.arange(3, dtype=np.int64))
    with pytest.raises(TypeError):
        sk_murmur(1.5)
    with pytest.raises(TypeError, match="not supported"):
        murmurhash3_32(1.5)
    with pytest.raises(InvalidParameterError, match="'seed' parameter"):
        murmurhash3_32("a", seed=-1)


@pytest.mark.parametrize("seed", range(5))
def test_parallel_duplicate_summing_is_byte_identical_to_scipy(seed):
    # Long rows (> 16 entries: std::sort leaves insertion sort) full of duplicate buckets with
    # fractional values, where summation order shows in the last bits.
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 120, 300)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    indices = rng.integers(0, 40, indptr[-1]).astype(np.int32)
    values = rng.normal(size=indptr[-1]) * 10 ** rng.uniform(-8, 8, indptr[-1])
    ind, val, ip = mlsd._core.hashing.sum_duplicates(indices, values, indptr)
    ref = sp.csr_array((values.copy(), indices.copy(), indptr.astype(np.int32)), shape=(300, 40))
    ref.sum_duplicates()
    np.testing.assert_array_equal(ip, ref.indptr)
    np.testing.assert_array_equal(ind, ref.indices)
    assert np.array_equal(val.view(np.uint64), ref.data.view(np.uint64))  # bit for bit


def test_long_rows_with_fractional_duplicates_identical_to_sklearn():
    rng = np.random.default_rng(0)
    names = [f"n{i}" for i in range(30)]
    rows = [[(names[j], float(rng.normal())) for j in rng.integers(0, 30, 60)] for _ in range(200)]
    for dtype in (np.float64, np.float32):
        assert_identical(FeatureHasher(16, input_type="pair", dtype=dtype).transform(rows),
                         SkHasher(16, input_type="pair", dtype=dtype).transform(rows))


def test_int64_index_path_above_int32_entries(monkeypatch):
    # Above 2**31 - 1 entries the index arrays are int64 (as scipy and scikit-learn make them).  A
    # real input would need ~26 GB, so the threshold is lowered to take that path on a small one.
    rows = [["a", "b", "a", "q"], [], ["c"], ["d", "e"]]
    dicts = [{"a": 1.5, "b": -2.0}, {}, {"c": 0.25}, {"a": 1.5}]
    expected = [SkHasher(16, input_type="string").transform(rows), SkHasher(16).transform(dicts),
                SkHasher(16, input_type="string", dtype=np.float32).transform(rows)]
    monkeypatch.setattr(mlsd.hashing, "_MAX_INT32_NNZ", 3)
    got = [FeatureHasher(16, input_type="string").transform(rows), FeatureHasher(16).transform(dicts),
           FeatureHasher(16, input_type="string", dtype=np.float32).transform(rows)]
    for ours, ref in zip(got, expected):
        assert ours.dtype == ref.dtype and ours.shape == ref.shape
        np.testing.assert_array_equal(ours.indptr, ref.indptr)
        np.testing.assert_array_equal(ours.indices, ref.indices)
        np.testing.assert_array_equal(ours.data, ref.data)
