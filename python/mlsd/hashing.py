"""The hashing trick: categorical features into a fixed-width ``scipy.sparse`` matrix, without a
vocabulary.

:class:`FeatureHasher` and :func:`murmurhash3_32` give output identical to scikit-learn's
(same indices, values, signs, explicit zeros, dtype and index dtype, same error types), with the
hashing done in parallel in C++.

How a key becomes a column (so that another system can reproduce it)
--------------------------------------------------------------------
``h = MurmurHash3_x86_32(utf8(key), seed)`` read as a signed 32-bit integer; the column is
``abs(h) % n_features`` (for ``h == -2**31``: ``(2**31 - 1 - (n_features - 1)) % n_features``);
with ``alternate_sign`` the value is multiplied by -1 when ``h < 0``.  Duplicate columns within a
row are summed.  For dict and pair input, a string value ``v`` of feature ``f`` becomes the key
``f"{f}={v}"`` with value 1; any other value is used as a number under the key ``f``, and a value
of 0 is dropped before hashing.
"""

from __future__ import annotations

import sys
from numbers import Integral
from typing import Any, Iterable

import numpy as np
import scipy.sparse as sp

from . import _core
from ._params import Check, Interval, Options, check_param, validate_params
from ._results import Result, axes, result_type
from ._validation import InvalidParameterError, call_kernel

__all__ = ["murmurhash3_32", "FeatureHasher", "hash_columns", "collision_report", "CollisionReport"]

_h = _core.hashing
_INT32_MAX = np.iinfo(np.int32).max
_MAX_INT32_NNZ = _INT32_MAX  # more entries need int64 index arrays; a test lowers it to reach that path


# -- parameter declarations shared by the functions below ---------------------------------------


def _is_key(key: Any) -> bool:
    """What scikit-learn's murmurhash3_32 hashes: str, bytes, an int (that must fit int32, checked
    by the function; a bool is refused: True is not a key), np.int32, or an ndarray (whose dtype
    the function checks)."""
    if isinstance(key, (str, bytes, np.ndarray, np.int32)):
        return True
    return isinstance(key, int) and not isinstance(key, bool)


class KeyOverflowError(InvalidParameterError, OverflowError):
    """An int key outside the int32 range: scikit-learn raises OverflowError there, so code that
    catches it (or ValueError/TypeError, as for every bad parameter) catches this too."""


def _is_sparse_dtype(dtype: Any) -> bool:
    # None is float64 (np.dtype(None)), as scikit-learn's FeatureHasher and scipy.sparse read it
    return np.dtype(dtype).kind in "biufc" and np.dtype(dtype) != np.float16


def _is_samples(raw_X: Any) -> bool:
    return hasattr(raw_X, "__iter__") and not isinstance(raw_X, (str, bytes))


def _is_table(data: Any) -> bool:
    if isinstance(data, dict):
        return True
    pa = _pyarrow()
    if pa is not None and isinstance(data, pa.Table):
        return True
    pd = sys.modules.get("pandas")  # a DataFrame exists only if pandas was imported
    return pd is not None and isinstance(data, pd.DataFrame)


def _is_names(columns: Any) -> bool:
    return _is_samples(columns) and not isinstance(columns, dict)


def _is_crosses(crosses: Any) -> bool:
    # re-iterable (a list, a tuple...): looking at the crosses must not consume them
    return _is_names(crosses) and iter(crosses) is not crosses and all(_is_names(c) for c in crosses)


_N_FEATURES = [Interval(Integral, 1, _INT32_MAX)]
_DTYPE = [Check(_is_sparse_dtype, "a numeric NumPy dtype other than float16 (scipy.sparse does not support dtype "
                                  "float16)")]
_TABLE = [Check(_is_table, "a pandas DataFrame, a pyarrow Table or a dict of 1-D arrays")]
_COLUMNS = [None, Check(_is_names, "a list of column names")]
_CROSSES = [Check(_is_crosses, "a list of tuples of column names")]
_SAMPLES = [Check(_is_samples, "an iterable over samples (not a single str)")]


def _declared_for_fit(**declared):
    """Declares an estimator's constructor parameters (kept as ``__mlsd_params__``, as
    :func:`~mlsd._params.validate_params` keeps them) without checking them in ``__init__``: the
    estimator checks them in ``fit`` and ``transform`` against this same declaration."""
    def decorate(init):
        init.__mlsd_params__ = {name: list(c) for name, c in declared.items()}
        return init

    return decorate


@validate_params(key=[Check(_is_key, "a str, bytes, an int (in the range [-2**31, 2**31 - 1]), np.int32 or an "
                                     "ndarray of int32 (other key types are not supported)")],
                 seed=["seed"], positive=["boolean"])
def murmurhash3_32(key: Any, seed: int = 0, positive: bool = False):
    """32-bit MurmurHash3 (x86 variant) of ``key``, as :func:`sklearn.utils.murmurhash3_32`.

    Parameters
    ----------
    key : str, bytes, int (taken as int32), np.int32, or ndarray of int32
        str is hashed as its UTF-8 bytes; an int as its 4 little-endian bytes.
    seed : int in [0, 2**32 - 1], default=0
    positive : bool, default=False
        Return the hash as unsigned (0 .. 2**32 - 1) instead of signed (-2**31 .. 2**31 - 1).

    Returns
    -------
    int, or ndarray of int32 (uint32 when ``positive``) for array input.

    Examples
    --------
    >>> from mlsd.hashing import murmurhash3_32
    >>> murmurhash3_32(b"Hello World!", seed=42)
    3565178
    """
    if isinstance(key, np.ndarray):
        if key.dtype != np.int32:
            raise TypeError(f"murmurhash3_32: key.dtype should be int32, got {key.dtype}")
        out = _h.murmurhash3_32_int32(np.ascontiguousarray(key).reshape(-1), seed).reshape(key.shape)
        return out if positive else out.view(np.int32)
    if isinstance(key, str):
        key = key.encode("utf-8")
    if isinstance(key, bytes):
        h = _h.murmurhash3_32_bytes(key, seed)
    else:  # an int (declared)
        if not -(2**31) <= key <= _INT32_MAX:
            raise KeyOverflowError(f"The 'key' parameter of murmurhash3_32 must be an int in the range [-2**31, "
                                   f"2**31 - 1] (an int32). Got {key!r} instead.")
        h = int(_h.murmurhash3_32_int32(np.array([key], dtype=np.int32), seed)[0])
    return h if positive else (h - (1 << 32) if h >= (1 << 31) else h)


def _to_csr(indices, vals, indptr, n_rows: int, n_features: int, dtype, summed: bool = False, func: str = ""):
    """The matrix exactly as scikit-learn's FeatureHasher builds it (index dtypes, then summing
    duplicates), so that the result is identical, explicit zeros from cancelling signs included.
    ``summed``: the kernel already sorted each row and summed its duplicates, and the values are
    sums of +-1 (exact in every dtype scipy would sum them in), so nothing is left to do.
    Otherwise, for float64 the duplicate summing runs in C++, in parallel, with scipy's algorithm;
    other dtypes are summed by scipy in that dtype, as scikit-learn's are."""
    canonical = summed or np.dtype(dtype) == np.float64
    if np.dtype(dtype).kind in "iu":
        _check_fits(func, indices, vals, indptr, summed, np.dtype(dtype))
    if canonical and not summed:
        indices, vals, indptr = _h.sum_duplicates(indices, vals, indptr)
    if indptr[-1] > _MAX_INT32_NNZ:
        indices = indices.astype(np.int64)
    else:
        indptr = indptr.astype(np.int32)
    X = sp.csr_array((vals.astype(dtype, copy=False), indices, indptr), dtype=dtype, shape=(n_rows, n_features))
    if canonical:
        X.has_canonical_format = True  # sorted, no duplicates: what sum_duplicates would leave
    else:
        X.sum_duplicates()
    return X if _sparse_interface() == "sparray" else sp.csr_matrix(X)


def _check_fits(func: str, indices, vals, indptr, summed: bool, dtype: np.dtype) -> None:
    """A value that an integer dtype cannot hold is an error, not a silent wrap-around (scikit-learn
    raises OverflowError for such a value).  Values are truncated towards zero as scikit-learn casts
    them; the duplicate sums that scipy will form in ``dtype`` are checked too (they are exact in
    float64 for any integer dtype's range)."""
    t = np.trunc(vals)
    if not summed:
        t = _h.sum_duplicates(indices, t, indptr)[1]
    info = np.iinfo(dtype)
    if t.size and not (np.isfinite(t).all() and t.min() >= info.min and t.max() <= info.max):
        raise ValueError(f"{func}: a value (or a sum of values in one column of a row) does not fit dtype={dtype} "
                         f"(range [{info.min}, {info.max}]); use a wider dtype")


def _sparse_interface() -> str:
    """scikit-learn's configured sparse container ("spmatrix" by default), so that the result has
    the type scikit-learn's FeatureHasher would return."""
    try:
        import sklearn

        return sklearn.get_config().get("sparse_interface", "spmatrix")
    except ImportError:
        return "spmatrix"


try:  # a scikit-learn estimator when scikit-learn is there (Pipeline, clone, get_params ...)
    from sklearn.base import BaseEstimator as _Base
    from sklearn.base import TransformerMixin as _Mixin

    _BASES: tuple = (_Mixin, _Base)
    # No set_output wrapping of transform (its output is sparse, as scikit-learn's FeatureHasher's):
    # the wrapper would rename the argument raw_X to X.
    _SUBCLASS_KW: dict = {"auto_wrap_output_keys": None}
except ImportError:  # pragma: no cover - exercised only without scikit-learn

    class _Minimal:
        def get_params(self, deep=True):
            return {k: getattr(self, k) for k in ("n_features", "input_type", "dtype", "alternate_sign")}

        def set_params(self, **params):
            for k, v in params.items():
                if k not in self.get_params():
                    raise ValueError(f"Invalid parameter {k!r} for estimator {type(self).__name__}")
                setattr(self, k, v)
            return self

        def fit_transform(self, X, y=None, **fit_params):
            return self.fit(X, y).transform(X)

    _BASES = (_Minimal,)
    _SUBCLASS_KW = {}


class FeatureHasher(*_BASES, **_SUBCLASS_KW):
    """Hashes raw feature names (and values) into a sparse matrix; a drop-in, multithreaded
    replacement for :class:`sklearn.feature_extraction.FeatureHasher` with identical output.

    Parameters
    ----------
    n_features : int in [1, 2**31 - 1], default=2**20
        Number of columns.
    input_type : {"dict", "pair", "string"}, default="dict"
        Each sample is a dict ``{name: value}``, an iterable of ``(name, value)`` pairs, or an
        iterable of names (each with value 1).
    dtype : numpy dtype, default=np.float64
    alternate_sign : bool, default=True
        Give each entry the sign of its hash, so that collisions cancel in expectation.

    Notes
    -----
    Reading the Python objects holds the GIL (one pass over the input, in C++); hashing runs in
    parallel without it.  The exception is ``input_type="string"`` on a list of lists (or tuples)
    of ASCII ``str``: those strings are hashed in place, in parallel, while the calling thread holds
    the GIL, so that no copy of them is made.  See the module docstring for how keys become columns.

    Examples
    --------
    >>> from mlsd.hashing import FeatureHasher
    >>> X = FeatureHasher(n_features=8).transform([{"dog": 1, "cat": 2}, {"dog": 2, "run": 5}])
    >>> X.toarray()
    array([[ 0.,  0.,  0., -1.,  0.,  0.,  0.,  2.],
           [ 0.,  0.,  0., -2.,  0., -5.,  0.,  0.]])
    """

    # scikit-learn's convention: __init__ only stores the parameters (so that set_params and clone
    # work, and an invalid value is reported where it is used); fit and transform check them.
    @_declared_for_fit(n_features=_N_FEATURES, input_type=[Options({"dict", "pair", "string"})], dtype=_DTYPE,
                       alternate_sign=["boolean"])
    def __init__(self, n_features: int = 2**20, *, input_type: str = "dict", dtype=np.float64,
                 alternate_sign: bool = True):
        self.n_features = n_features
        self.input_type = input_type
        self.dtype = dtype
        self.alternate_sign = alternate_sign

    def _validate(self) -> None:
        for name, constraints in type(self).__init__.__mlsd_params__.items():
            check_param(getattr(self, name), name, "FeatureHasher", constraints)

    @validate_params(X=[object], y=[object])
    def fit(self, X=None, y=None):
        """Only validates the parameters; returns self.  ``X`` and ``y`` are ignored."""
        self._validate()
        return self

    @validate_params(raw_X=_SAMPLES)
    def transform(self, raw_X: Iterable):
        """Hash a sequence of samples into a CSR matrix of shape (n_samples, n_features)."""
        self._validate()
        # The adapter chooses how to read and hash raw_X (and whether it sums duplicates itself).
        (indices, vals, indptr), summed = _h.hash_feature_input(raw_X, _h.FeatureInput.__members__[self.input_type],
                                                                int(self.n_features), 0, bool(self.alternate_sign))
        n_samples = indptr.shape[0] - 1
        if n_samples == 0:
            raise ValueError("Cannot vectorize empty sequence.")
        return _to_csr(indices, vals, indptr, n_samples, int(self.n_features), self.dtype, summed=summed,
                       func="FeatureHasher.transform")

    @validate_params(X=_SAMPLES, y=[object])
    def fit_transform(self, X, y=None, **fit_params):
        """``fit(X, y).transform(X)``."""
        return self.fit(X, y).transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = self.input_type == "string"
        tags.input_tags.dict = self.input_type == "dict"
        tags.requires_fit = False
        return tags


# ---------------------------------------------------------------------------------------------
# Columnar hashing
# ---------------------------------------------------------------------------------------------

_EMPTY_I8 = np.zeros(0, dtype=np.int8)


_Kind = _h.ColumnKind


def _dictionary(name: str, values: list, codes: np.ndarray):
    """A dictionary-encoded column: codes (int64, -1 for missing) into a short list of texts
    (dictionaries, categories), laid out as (data, offsets)."""
    encoded = [str(v).encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    data = np.frombuffer(b"".join(encoded), dtype=np.int8) if encoded else _EMPTY_I8
    return _h.ColumnSpec(_Kind.dictionary, name, data=data, offsets=offsets, ints=codes)


def _integral_floats(name: str, x: np.ndarray) -> tuple:
    valid = ~np.isnan(x)
    v = x[valid].astype(np.float64, copy=False)  # a float16 column cannot hold the bound 2**63 itself
    if not np.array_equal(v, np.round(v)) or (v.size and np.abs(v).max() >= 2**63):
        raise TypeError(f"hash_columns: column {name!r} holds non-integer floats; hash_columns takes string, "
                        "integer, boolean and categorical columns (floats only when they hold whole numbers)")
    return np.where(valid, x, 0).astype(np.int64), valid.astype(np.uint8)


def _numpy_spec(name: str, x: np.ndarray):
    kind = x.dtype.kind
    if kind == "b":
        return _dictionary(name, ["False", "True"], x.astype(np.int64))
    if kind in "iu":
        if kind == "u" and x.dtype.itemsize == 8 and x.size and x.max() > np.iinfo(np.int64).max:
            raise ValueError(f"hash_columns: column {name!r} has values above 2**63 - 1")
        return _h.ColumnSpec(_Kind.ints, name, ints=np.ascontiguousarray(x, dtype=np.int64))
    if kind == "f":
        ints, valid = _integral_floats(name, x)
        return _h.ColumnSpec(_Kind.ints, name, ints=ints, valid=valid)
    if kind in "OUS":
        pa = _pyarrow()
        if pa is not None and kind in "US":
            return _arrow_spec(name, pa.array(x))
        data, offsets, valid = _h.strings_from_objects(x.tolist() if kind == "O" else x.astype(object).tolist(), name)
        return _h.ColumnSpec(_Kind.strings, name, data=data, offsets=offsets, valid=valid)
    raise TypeError(f"hash_columns: column {name!r} has unsupported dtype {x.dtype}")


def _pyarrow():
    return sys.modules.get("pyarrow")


def _arrow_spec(name: str, arr):
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    t = arr.type
    valid = None if arr.null_count == 0 else pc.is_valid(arr).to_numpy(zero_copy_only=False).astype(np.uint8)
    if pa.types.is_dictionary(t):
        codes = pc.fill_null(arr.indices, -1).cast(pa.int64()).to_numpy(zero_copy_only=False)
        return _dictionary(name, arr.dictionary.to_pylist(), np.ascontiguousarray(codes))
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        # Arrow's own offsets, 32- or 64-bit, without a copy (a sliced array's need not start at 0).
        small = pa.types.is_string(t)
        buffers = arr.buffers()
        offsets = np.frombuffer(buffers[1], dtype=np.int32 if small else np.int64)[arr.offset:arr.offset + len(arr) + 1]
        data = np.frombuffer(buffers[2], dtype=np.int8) if buffers[2] is not None else _EMPTY_I8
        return _h.ColumnSpec(_Kind.strings, name, data=data, valid=valid,
                             **{"offsets32" if small else "offsets": offsets})
    if pa.types.is_integer(t):
        ints = pc.fill_null(arr, 0).cast(pa.int64()).to_numpy(zero_copy_only=False)
        return _h.ColumnSpec(_Kind.ints, name, ints=np.ascontiguousarray(ints), valid=valid)
    if pa.types.is_floating(t):  # nulls become NaN: whole numbers are read as integers
        return _numpy_spec(name, arr.cast(pa.float64()).to_numpy(zero_copy_only=False))
    if pa.types.is_boolean(t):
        codes = pc.fill_null(arr.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)
        return _dictionary(name, ["False", "True"], np.ascontiguousarray(codes))
    if pa.types.is_null(t):  # only missing values (an object column of None, or of no row): nothing to hash
        return _h.ColumnSpec(_Kind.ints, name, ints=np.zeros(len(arr), dtype=np.int64),
                             valid=np.zeros(len(arr), dtype=np.uint8))
    raise TypeError(f"hash_columns: column {name!r} has unsupported Arrow type {t}")


def _pandas_spec(name: str, col):
    import pandas as pd

    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = np.ascontiguousarray(col.cat.codes.to_numpy(), dtype=np.int64)
        return _dictionary(name, list(col.cat.categories), codes)
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return _numpy_spec(name, col.to_numpy())
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):  # nullable (masked) types
        valid = (~col.isna().to_numpy()).astype(np.uint8)
        if pd.api.types.is_bool_dtype(dtype):
            codes = np.where(valid, col.to_numpy(dtype=bool, na_value=False), -1).astype(np.int64)
            return _dictionary(name, ["False", "True"], codes)
        return _h.ColumnSpec(_Kind.ints, name, ints=col.to_numpy(dtype=np.int64, na_value=0), valid=valid)
    if pd.api.types.is_float_dtype(dtype):
        return _numpy_spec(name, col.to_numpy(dtype=np.float64, na_value=np.nan))
    pa = _pyarrow()
    if pa is not None:
        try:
            return _arrow_spec(name, pa.array(col, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # mixed objects: the object path names the offending row
    data, offsets, valid = _h.strings_from_objects(col.tolist(), name)
    return _h.ColumnSpec(_Kind.strings, name, data=data, offsets=offsets, valid=valid)


def _columns_of(data) -> tuple[list, dict, int]:
    """(names, getter, n_rows) for a DataFrame, an Arrow table or a mapping of arrays."""
    pa = _pyarrow()
    if pa is not None and isinstance(data, pa.Table):
        return list(data.column_names), lambda c: _arrow_spec(c, data.column(c)), data.num_rows
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        by_name = {str(c): c for c in data.columns}
        if len(by_name) != len(data.columns):
            raise ValueError("hash_columns: the DataFrame has duplicate column names")
        return list(by_name), lambda c: _pandas_spec(c, data[by_name[c]]), len(data)
    if isinstance(data, dict):
        arrays = {str(k): v for k, v in data.items()}
        lengths = {len(v) for v in arrays.values()}
        if len(lengths) > 1:
            raise ValueError(f"hash_columns: columns have different lengths {sorted(lengths)}")

        def spec(c):
            v = arrays[c]
            if pa is not None and isinstance(v, (pa.Array, pa.ChunkedArray)):
                return _arrow_spec(c, v)
            if pd is not None and isinstance(v, pd.Series):
                return _pandas_spec(c, v)
            return _numpy_spec(c, np.asarray(v))

        return list(arrays), spec, (lengths.pop() if lengths else 0)
    raise TypeError(f"hash_columns: data must be a pandas DataFrame, a pyarrow Table or a dict of arrays; "
                    f"got {type(data).__name__}")


def _plan(data, columns, crosses, func):
    names, spec_of, n_rows = _columns_of(data)
    columns = names if columns is None else [str(c) for c in columns]
    crosses = [tuple(str(c) for c in cross) for cross in crosses]
    for cross in crosses:
        if len(cross) < 2:
            raise ValueError(f"{func}: a cross needs at least two columns; got {cross!r}")
    needed = list(dict.fromkeys(columns + [c for cross in crosses for c in cross]))
    unknown = [c for c in needed if c not in names]
    if unknown:
        raise ValueError(f"{func}: unknown column(s) {unknown}; the data has {names}")
    specs = [spec_of(c) for c in needed]
    position = {c: i for i, c in enumerate(needed)}
    single = [position[c] for c in columns]
    return specs, single, [[position[c] for c in cross] for cross in crosses], n_rows, columns, crosses


def _run(func, specs, single, crosses, n_rows, n_features, seed, alternate_sign):
    # Columns used only inside crosses take part in the crosses but get no entry of their own.
    used = [specs[i] for i in single]
    extra = [i for i in range(len(specs)) if i not in single]
    ordered = used + [specs[i] for i in extra]
    remap = {old: new for new, old in enumerate(single + extra)}
    return call_kernel(func, _h.hash_columns, ordered, len(used), [[remap[i] for i in c] for c in crosses], n_rows,
                       n_features, seed, alternate_sign)


@validate_params(data=_TABLE, columns=_COLUMNS, crosses=_CROSSES, n_features=_N_FEATURES, seed=["seed"],
                 alternate_sign=["boolean"], dtype=_DTYPE)
def hash_columns(data, columns=None, crosses=(), *, n_features: int = 2**20, seed: int = 0,
                 alternate_sign: bool = True, dtype=np.float64):
    """Hash the columns of a table, and crosses of columns, into a CSR matrix.

    Parameters
    ----------
    data : pandas.DataFrame, pyarrow.Table, or dict of 1-D arrays
        String, integer, boolean and categorical (dictionary) columns.  Missing values (None,
        NaN, pandas.NA, Arrow nulls) are skipped.  Float columns are accepted when they hold whole
        numbers (how pandas stores an integer column with missing values) and read as integers.
    columns : list of str, default=None
        Columns hashed one by one (default: every column).
    crosses : list of tuples of str, default=()
        Feature crosses, e.g. ``[("user_id", "ad_id")]``: one entry per row whose parts are all
        present.  Crossed columns need not be in ``columns``.
    n_features : int in [1, 2**31 - 1], default=2**20
    seed : int in [0, 2**32 - 1], default=0
    alternate_sign : bool, default=True
    dtype : numpy dtype, default=np.float64

    Returns
    -------
    scipy.sparse CSR matrix of shape (n_rows, n_features)

    Notes
    -----
    The key of a value is ``f"{column}={value}"`` with Python's ``str()`` of the value (so an
    integer 42 is ``"42"``, a boolean ``"True"``; whole-number floats are read as integers).  A
    cross joins its parts' keys with ``"\x1f"`` (ASCII unit separator):
    ``"user_id=42\x1fad_id=7"``.  Each key is hashed with MurmurHash3_x86_32 and placed with
    value 1 exactly like a :class:`FeatureHasher` feature (see the module docstring).  Row ``i`` is
    therefore equal to ``FeatureHasher(n_features, input_type="string").transform([keys_i])`` with
    ``keys_i`` the row's keys (with ``seed=0``).  Everything runs in C++, in parallel over rows,
    without building Python strings.
    """
    func = "hash_columns"
    specs, single, cross_pos, n_rows, _, _ = _plan(data, columns, crosses, func)
    indices, vals, indptr = _run(func, specs, single, cross_pos, n_rows, n_features, seed, alternate_sign)
    return _to_csr(indices, vals, indptr, n_rows, n_features, dtype, summed=True, func=func)


def _expected_collision_rate(n_keys: int, n_features: int) -> float:
    """Share of keys that share a bucket with another key under ideal uniform hashing."""
    return 1.0 - (1.0 - 1.0 / n_features) ** max(n_keys - 1, 0)


@result_type
class CollisionReport(Result):
    """Result of :func:`collision_report`.

    ``n_keys`` distinct keys land in ``n_buckets_used`` of ``n_features`` buckets;
    ``n_colliding_keys`` of them share a bucket with another key (``collision_rate`` =
    ``n_colliding_keys / n_keys``); ``expected_collision_rate`` is the rate for ideal uniform
    hashing, ``1 - (1 - 1/n_features) ** (n_keys - 1)``.  ``per_source`` has one row per column
    and cross, ``(source, n_keys, n_buckets, n_colliding_keys)``: its distinct keys, the buckets
    they use and how many of them share a bucket with another key of the same source.

    ``to_frame()`` has one row per source, with its observed and expected collision rates;
    ``plot()`` draws them, the sources that collide more than uniform hashing would being the ones
    to look at when choosing ``n_features``.
    """

    n_features: int
    n_keys: int
    n_buckets_used: int
    n_colliding_keys: int
    collision_rate: float
    expected_collision_rate: float
    per_source: tuple = ()

    def _summary(self):
        return [(k, v) for k, v in super()._summary() if k != "per_source"] + [("sources", str(len(self.per_source)))]

    def __repr__(self) -> str:
        return (f"CollisionReport(n_features={self.n_features}, n_keys={self.n_keys}, "
                f"collision_rate={self.collision_rate:.6g}, expected_collision_rate={self.expected_collision_rate:.6g}, "
                f"sources={len(self.per_source)})")

    def _has_rows(self) -> bool:
        return len(self.per_source) > 0

    def to_frame(self):
        """One row per column and cross: ``source``, ``n_keys``, ``n_buckets``,
        ``n_colliding_keys``, ``collision_rate`` and ``expected_collision_rate`` (each source alone in
        ``n_features`` buckets)."""
        import pandas as pd

        frame = pd.DataFrame(list(self.per_source), columns=["source", "n_keys", "n_buckets", "n_colliding_keys"])
        keys = frame["n_keys"].to_numpy(dtype=np.float64)
        frame["collision_rate"] = np.divide(frame["n_colliding_keys"].to_numpy(dtype=np.float64), keys,
                                            out=np.zeros_like(keys), where=keys > 0)
        frame["expected_collision_rate"] = [_expected_collision_rate(int(k), self.n_features) for k in frame["n_keys"]]
        return frame

    def plot(self, ax=None):
        """Observed collision rate of each source (and of all keys together) as bars, with the rate
        of ideal uniform hashing as a marker; returns the Axes."""
        ax = axes(ax)
        frame = self.to_frame()
        labels = list(frame["source"]) + ["all keys"]
        observed = list(frame["collision_rate"]) + [self.collision_rate]
        expected = list(frame["expected_collision_rate"]) + [self.expected_collision_rate]
        y = np.arange(len(labels))
        ax.barh(y, observed, color="C0", label="observed")
        ax.scatter(expected, y, color="C3", marker="|", s=200, zorder=3, label="uniform hashing")
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.invert_yaxis()
        ax.set_xlabel("share of keys sharing a bucket")
        ax.set_title(f"Collisions at n_features = {self.n_features}")
        ax.legend(loc="best")
        return ax


@validate_params(data=_TABLE, columns=_COLUMNS, crosses=_CROSSES, n_features=_N_FEATURES, seed=["seed"])
def collision_report(data, columns=None, crosses=(), *, n_features: int = 2**20, seed: int = 0) -> CollisionReport:
    """How many distinct keys share hash buckets at a given ``n_features``: the number to look at
    when choosing ``n_features`` for :func:`hash_columns` (same arguments).

    Distinct keys are told apart by a 62-bit fingerprint (two further MurmurHash3 seeds), so two
    keys are counted as one only with probability about ``n_keys**2 / 2**63``.
    """
    func = "collision_report"
    specs, single, cross_pos, n_rows, names, cross_names = _plan(data, columns, crosses, func)
    sources = [([i], [], n) for i, n in zip(single, names)] + \
              [([], [c], " x ".join(cn)) for c, cn in zip(cross_pos, cross_names)]
    all_buckets, all_prints, per_source = [], [], []
    for cols, cross, label in sources:
        buckets = _run(func, specs, cols, cross, n_rows, n_features, seed, False)[0]
        a = _run(func, specs, cols, cross, n_rows, _INT32_MAX, 0x9747B28C, False)[0].astype(np.uint64)
        b = _run(func, specs, cols, cross, n_rows, _INT32_MAX, 0x85EBCA6B, False)[0].astype(np.uint64)
        prints, first = np.unique((a << np.uint64(31)) | b, return_index=True)
        _, inverse, counts = np.unique(buckets[first], return_inverse=True, return_counts=True)
        per_source.append((label, int(prints.size), int(counts.size), int((counts[inverse] > 1).sum())))
        all_buckets.append(buckets[first])
        all_prints.append(prints)
    prints, first = np.unique(np.concatenate(all_prints) if all_prints else np.zeros(0, np.uint64), return_index=True)
    buckets = np.concatenate(all_buckets)[first] if all_buckets else np.zeros(0, np.int32)
    _, inverse, counts = np.unique(buckets, return_inverse=True, return_counts=True)
    n_keys = int(prints.size)
    colliding = int((counts[inverse] > 1).sum())
    return CollisionReport(n_features, n_keys, int(counts.size), colliding, colliding / n_keys if n_keys else 0.0,
                           _expected_collision_rate(n_keys, n_features), tuple(per_source))
