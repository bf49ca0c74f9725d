"""mlsd.hashing on the one contract: every public function and method declares its parameters,
bad values raise ValueError/TypeError naming the function and the argument, values never wrap
silently, and CollisionReport is a result (immutable, to_frame, _repr_html_, short repr, plot)."""

import dataclasses
import inspect
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.feature_extraction import FeatureHasher as SkHasher  # noqa: E402
from sklearn.utils import murmurhash3_32 as sk_murmur  # noqa: E402

import mlsd.hashing as H  # noqa: E402
from mlsd.hashing import CollisionReport, FeatureHasher, collision_report, hash_columns, murmurhash3_32  # noqa: E402

DATA = {"a": np.array([1, 2, 3, 2]), "b": np.array(["x", "y", "x", "z"], dtype=object)}


def _report():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.integers(0, 400, 1000), "b": rng.choice(list("xyz"), 1000)})
    return collision_report(df, crosses=[("a", "b")], n_features=512)


# ------------------------------------------------------------------------------- declarations


PUBLIC = {
    "murmurhash3_32": H.murmurhash3_32,
    "FeatureHasher.__init__": FeatureHasher.__init__,
    "FeatureHasher.fit": FeatureHasher.fit,
    "FeatureHasher.transform": FeatureHasher.transform,
    "FeatureHasher.fit_transform": FeatureHasher.fit_transform,
    "hash_columns": H.hash_columns,
    "collision_report": H.collision_report,
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_parameter_is_declared(name):
    fn = PUBLIC[name]
    declared = fn.__mlsd_params__
    params = [p for p, v in inspect.signature(fn).parameters.items()
              if p != "self" and v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD)]
    assert sorted(declared) == sorted(params)


def test_dask_hash_columns_is_declared():
    md = pytest.importorskip("mlsd.dask")
    params = [p for p in inspect.signature(md.hash_columns).parameters]
    assert sorted(md.hash_columns.__mlsd_params__) == sorted(params)


def _raises_naming(func_name, arg, call):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    msg = str(info.value)
    assert func_name in msg and arg in msg, msg


BAD = [
    # (function name in the message, argument, call)
    *[("murmurhash3_32", "key", lambda k=k: murmurhash3_32(k))
      for k in (2**31, -(2**31) - 1, None, 1.5, True, 1j, object(), np.int64(3), [1, 2])],
    *[("murmurhash3_32", "seed", lambda s=s: murmurhash3_32("a", seed=s)) for s in (-1, 2**32, 1.5, None, "0", True)],
    *[("murmurhash3_32", "positive", lambda p=p: murmurhash3_32("a", positive=p)) for p in (1, None, "yes")],
    *[("FeatureHasher", "n_features", lambda n=n: FeatureHasher(n).fit())
      for n in (0, -1, 2**31, 1.5, True, None, "8", np.float64(8))],
    *[("FeatureHasher", "input_type", lambda t=t: FeatureHasher(8, input_type=t).transform([{"a": 1}]))
      for t in ("list", None, 3)],
    *[("FeatureHasher", "dtype", lambda d=d: FeatureHasher(8, dtype=d).fit_transform([{"a": 1}]))
      for d in ("abc", np.float16, object, np.str_)],
    *[("FeatureHasher", "alternate_sign", lambda s=s: FeatureHasher(8, alternate_sign=s).fit()) for s in ("yes", 1)],
    *[("FeatureHasher.transform", "raw_X", lambda x=x: FeatureHasher(8).transform(x)) for x in (None, "abc", 5, 1j)],
    *[("FeatureHasher.fit_transform", "X", lambda x=x: FeatureHasher(8).fit_transform(x)) for x in (None, "abc")],
    *[(f, "data", lambda fn=fn, d=d: fn(d)) for f, fn in (("hash_columns", hash_columns),
                                                        ("collision_report", collision_report))
      for d in (None, "abc", [[1, 2]], np.arange(3), 5)],
    *[(f, "columns", lambda fn=fn, c=c: fn(DATA, c)) for f, fn in (("hash_columns", hash_columns),
                                                                 ("collision_report", collision_report))
      for c in ("a", 5, {"a": 1})],
    *[(f, "crosses", lambda fn=fn, c=c: fn(DATA, crosses=c)) for f, fn in (("hash_columns", hash_columns),
                                                                         ("collision_report", collision_report))
      for c in (None, ("a", "b"), ["ab"], 5, (x for x in [("a", "b")]))],
    *[(f, "n_features", lambda fn=fn, n=n: fn(DATA, n_features=n)) for f, fn in (("hash_columns", hash_columns),
                                                                               ("collision_report", collision_report))
      for n in (0, 2**31, 1.5, None)],
    *[(f, "seed", lambda fn=fn, s=s: fn(DATA, seed=s)) for f, fn in (("hash_columns", hash_columns),
                                                                   ("collision_report", collision_report))
      for s in (-1, 2**32, 1.5)],
    *[("hash_columns", "alternate_sign", lambda s=s: hash_columns(DATA, alternate_sign=s)) for s in ("no", None)],
    *[("hash_columns", "dtype", lambda d=d: hash_columns(DATA, dtype=d)) for d in ("abc", np.float16, object)],
]


@pytest.mark.parametrize("func_name, arg, call", BAD, ids=[f"{f}-{a}-{i}" for i, (f, a, _) in enumerate(BAD)])
def test_bad_values_raise_naming_function_and_argument(func_name, arg, call):
    _raises_naming(func_name, arg, call)


def test_dask_hash_columns_bad_values():
    dd = pytest.importorskip("dask.dataframe")
    import mlsd.dask as md

    ddf = dd.from_pandas(pd.DataFrame(DATA), npartitions=2)
    _raises_naming("hash_columns", "data", lambda: md.hash_columns(pd.DataFrame(DATA)))
    for arg, value in (("columns", "a"), ("crosses", ("a", "b")), ("n_features", 0), ("seed", -1),
                       ("alternate_sign", 1), ("dtype", np.float16)):
        _raises_naming("hash_columns", arg, lambda: md.hash_columns(ddf, **{arg: value}))


# ------------------------------------------------------------------- scikit-learn's conventions


def test_feature_hasher_checks_parameters_in_fit_not_init_and_clones():
    h = FeatureHasher(0, input_type="nope")  # stored as given, as scikit-learn's estimators do
    assert h.get_params()["n_features"] == 0
    with pytest.raises(ValueError, match="'n_features' parameter of FeatureHasher"):
        h.fit()
    n = np.int64(16)
    c = clone(FeatureHasher(n))
    assert c.n_features is n  # clone needs the parameter unchanged
    with pytest.raises(ValueError, match="'n_features' parameter of FeatureHasher"):
        c.set_params(n_features=-1).transform([{"a": 1}])


def test_transform_takes_raw_x_by_keyword():
    rows = [{"a": 1, "b": 2}]
    ours = FeatureHasher(16).transform(raw_X=rows)
    assert (ours != SkHasher(16).transform(rows)).nnz == 0


def test_dtype_none_is_float64_as_in_sklearn():
    rows = [{"a": 1, "b": 2.5}]
    ours, theirs = FeatureHasher(16, dtype=None).transform(rows), SkHasher(16, dtype=None).transform(rows)
    assert ours.dtype == theirs.dtype == np.float64 and (ours != theirs).nnz == 0
    assert hash_columns(DATA, n_features=16, dtype=None).dtype == np.float64


def test_columns_with_only_missing_values_are_skipped():
    # an object column holding only None (or no row at all) is Arrow's null type once converted
    pa = pytest.importorskip("pyarrow")
    expected = hash_columns({"a": DATA["a"]}, n_features=16)
    for frame in (pd.DataFrame({"a": DATA["a"], "m": [None] * 4}), pa.table({"a": DATA["a"], "m": pa.nulls(4)})):
        assert (hash_columns(frame, n_features=16) != expected).nnz == 0
        assert collision_report(frame, n_features=16).n_keys == 3
    empty = pd.DataFrame({"s": pd.Series([], dtype=object)})
    assert hash_columns(empty, n_features=16).shape == (0, 16)


def test_murmurhash_int32_bounds_like_sklearn():
    for k in (2**31 - 1, -(2**31)):
        assert murmurhash3_32(k) == sk_murmur(k)
        assert murmurhash3_32(k, positive=True) == sk_murmur(k, positive=True)
    with pytest.raises(OverflowError):
        sk_murmur(2**31)
    with pytest.raises(ValueError, match="'key' parameter of murmurhash3_32"):  # mlsd: a ValueError/TypeError
        murmurhash3_32(2**31)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_values_that_do_not_fit_an_integer_dtype_raise(dtype):
    info = np.iinfo(dtype)
    for rows in ([{"a": info.max + 1}], [{"a": info.min - 1.0}], [{"a": float("inf")}]):
        with pytest.raises(ValueError, match=f"FeatureHasher.transform: .*does not fit dtype={np.dtype(dtype)}"):
            FeatureHasher(8, dtype=dtype, alternate_sign=False).transform(rows)
    # duplicates summed beyond the range: scikit-learn would wrap around
    pairs = [[("a", info.max // 2 + 1)] * 2]
    with pytest.raises(ValueError, match="does not fit dtype"):
        FeatureHasher(8, dtype=dtype, input_type="pair", alternate_sign=False).transform(pairs)
    strings = [["k"] * (int(info.max) + 1)]
    with pytest.raises(ValueError, match="does not fit dtype"):
        FeatureHasher(8, dtype=dtype, input_type="string", alternate_sign=False).transform(strings)
    with pytest.raises(ValueError, match="hash_columns: .*does not fit dtype"):
        hash_columns({"a": np.zeros(1)}, crosses=[("a", "a")] * (int(info.max) + 1), dtype=dtype,
                     alternate_sign=False)
    # values that fit (fractions truncated as scikit-learn casts them) are identical to scikit-learn's
    rows = [{"a": float(info.max), "b": 1.5, "c": -0.5}, {"d": 3}]
    ours = FeatureHasher(64, dtype=dtype, alternate_sign=False).transform(rows)
    ref = SkHasher(64, dtype=dtype, alternate_sign=False).transform(rows)
    assert ours.dtype == ref.dtype
    np.testing.assert_array_equal(ours.toarray(), ref.toarray())


def test_float16_column_hashes_without_warnings():
    ints = np.array([1, 2, 65504, -7])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = hash_columns({"a": ints.astype(np.float16)}, n_features=64)
        with_nan = hash_columns({"a": np.array([1, np.nan], dtype=np.float16)}, n_features=64)
    assert (got != hash_columns({"a": ints}, n_features=64)).nnz == 0
    assert with_nan[1].nnz == 0


# ------------------------------------------------------------------------------ CollisionReport


def test_collision_report_is_an_immutable_result():
    r = _report()
    assert isinstance(r, CollisionReport)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.n_keys = 0
    assert isinstance(r.per_source, tuple)


def test_collision_report_frame_per_source():
    r = _report()
    f = r.to_frame()
    assert list(f.columns) == ["source", "n_keys", "n_buckets", "n_colliding_keys", "collision_rate",
                               "expected_collision_rate"]
    assert list(f.source) == ["a", "b", "a x b"]
    np.testing.assert_allclose(f.collision_rate, f.n_colliding_keys / f.n_keys)
    np.testing.assert_allclose(f.expected_collision_rate, 1 - (1 - 1 / 512) ** (f.n_keys - 1))
    assert (f.n_colliding_keys <= f.n_keys).all() and (f.n_buckets <= f.n_keys).all()
    assert f.n_colliding_keys[1] == 0  # three keys in 512 buckets: no collision for this seed


def test_collision_report_repr_and_html():
    r = _report()
    text = repr(r)
    assert text.startswith("CollisionReport(") and "\n" not in text and len(text) < 200
    assert "collision_rate=" in text and "per_source" not in text
    html = r._repr_html_()
    assert "<table" in html and "collision_rate" in html and "a x b" in html


def test_collision_report_plot_returns_axes():
    r = _report()
    ax = r.plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "a x b", "all keys"]
    fig, given = plt.subplots()
    assert r.plot(ax=given) is given
    plt.close("all")


def test_empty_collision_report():
    r = collision_report({"a": np.array([], dtype=object)}, n_features=8)
    assert r.n_keys == 0 and r.collision_rate == 0.0
    assert r.to_frame().n_keys.tolist() == [0]
    assert isinstance(r.plot(), matplotlib.axes.Axes)
    plt.close("all")
