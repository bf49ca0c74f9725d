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

import numbers
from typing import Any, Iterable

import numpy as np
import scipy.sparse as sp

from . import _core
from ._validation import InvalidParameterError, check_option

__all__ = ["murmurhash3_32", "FeatureHasher"]

_h = _core.hashing
_INT32_MAX = np.iinfo(np.int32).max


def _check_seed(seed: Any, func: str) -> int:
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)) and 0 <= seed <= 0xFFFFFFFF:
        return int(seed)
    raise InvalidParameterError(f"The 'seed' parameter of {func} must be an int in [0, 2**32 - 1]. Got {seed!r} instead.")


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
    seed = _check_seed(seed, "murmurhash3_32")
    if isinstance(key, np.ndarray):
        if key.dtype != np.int32:
            raise TypeError(f"key.dtype should be int32, got {key.dtype}")
        out = _h.murmurhash3_32_int32(np.ascontiguousarray(key).reshape(-1), seed).reshape(key.shape)
        return out if positive else out.view(np.int32)
    if isinstance(key, str):
        key = key.encode("utf-8")
    if isinstance(key, bytes):
        h = _h.murmurhash3_32_bytes(key, seed)
    elif isinstance(key, (int, np.int32)) and not isinstance(key, bool):
        h = int(_h.murmurhash3_32_int32(np.array([key], dtype=np.int64).astype(np.int32), seed)[0])
    else:
        raise TypeError(f"key {key!r} with type {type(key)} is not supported. Supported types: str, bytes, int, "
                        "np.int32 and ndarray of int32")
    return h if positive else (h - (1 << 32) if h >= (1 << 31) else h)


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


class FeatureHasher(*_BASES):
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
    parallel without it.  See the module docstring for how keys become columns.

    Examples
    --------
    >>> from mlsd.hashing import FeatureHasher
    >>> X = FeatureHasher(n_features=8).transform([{"dog": 1, "cat": 2}, {"dog": 2, "run": 5}])
    >>> X.toarray()
    array([[ 0.,  0.,  0., -1.,  0.,  0.,  0.,  2.],
           [ 0.,  0.,  0., -2.,  0., -5.,  0.,  0.]])
    """

    def __init__(self, n_features: int = 2**20, *, input_type: str = "dict", dtype=np.float64,
                 alternate_sign: bool = True):
        self.n_features = n_features
        self.input_type = input_type
        self.dtype = dtype
        self.alternate_sign = alternate_sign

    def _validate(self) -> None:
        n = self.n_features
        if not (isinstance(n, numbers.Integral) and not isinstance(n, (bool, np.bool_)) and 1 <= n <= _INT32_MAX):
            raise InvalidParameterError(
                f"The 'n_features' parameter of FeatureHasher must be an int in the range [1, {_INT32_MAX}]. "
                f"Got {n!r} instead.")
        check_option(self.input_type, "input_type", "FeatureHasher", ("dict", "pair", "string"))
        if not isinstance(self.alternate_sign, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'alternate_sign' parameter of FeatureHasher must be an instance of 'bool'. "
                f"Got {self.alternate_sign!r} instead.")

    def fit(self, X=None, y=None):
        """Only validates the parameters; returns self."""
        self._validate()
        return self

    def transform(self, raw_X: Iterable):
        """Hash a sequence of samples into a CSR matrix of shape (n_samples, n_features)."""
        self._validate()
        rows = raw_X if isinstance(raw_X, list) else iter(raw_X)  # a list lets C++ read rows in parallel
        data, offsets, values, row_indptr = _h.flatten_features(rows, self.input_type)
        n_samples = row_indptr.shape[0] - 1
        if n_samples == 0:
            raise ValueError("Cannot vectorize empty sequence.")
        indices, vals, indptr = _h.hash_features(data, offsets, values, row_indptr, int(self.n_features), 0,
                                                 bool(self.alternate_sign))
        # Build the matrix exactly as scikit-learn does (index dtypes, then summing duplicates), so
        # that the result is identical, explicit zeros from cancelling signs included.  For float64
        # the duplicate summing runs in C++, in parallel, with scipy's algorithm; other dtypes are
        # summed by scipy in that dtype, as scikit-learn's are.
        canonical = np.dtype(self.dtype) == np.float64
        if canonical:
            indices, vals, indptr = _h.sum_duplicates(indices, vals, indptr)
        if indptr[-1] > _INT32_MAX:
            indices = indices.astype(np.int64)
        else:
            indptr = indptr.astype(np.int32)
        X = sp.csr_array((vals.astype(self.dtype, copy=False), indices, indptr), dtype=self.dtype,
                         shape=(n_samples, self.n_features))
        if canonical:
            X.has_canonical_format = True  # sorted, no duplicates: what sum_duplicates would leave
        else:
            X.sum_duplicates()
        return X if _sparse_interface() == "sparray" else sp.csr_matrix(X)

    def fit_transform(self, X, y=None, **fit_params):
        return self.fit(X, y).transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = self.input_type == "string"
        tags.input_tags.dict = self.input_type == "dict"
        tags.requires_fit = False
        return tags
