"""mlsd.hashing over a Dask DataFrame: each partition hashed where it lives."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np

from .. import hashing as H
from .._params import Check, Interval, validate_params
from ._common import in_worker, require

__all__ = ["hash_columns"]


def _hash_part(df, columns, crosses, n_features, seed, alternate_sign, dtype):
    import scipy.sparse as sp

    X = H.hash_columns(df, columns, crosses, n_features=n_features, seed=seed, alternate_sign=alternate_sign,
                       dtype=dtype)
    return X if isinstance(X, sp.csr_matrix) else sp.csr_matrix(X)


def _is_dask_frame(data: Any) -> bool:
    return isinstance(data, require("dask.dataframe").DataFrame)


def _is_names(x: Any) -> bool:
    return hasattr(x, "__iter__") and not isinstance(x, (str, bytes, dict))


# What the columns, crosses and dtype may be is checked further by mlsd.hashing.hash_columns on the
# frame's (empty) meta, on the client, before anything runs.
@validate_params(
    data=[Check(_is_dask_frame, "a Dask DataFrame (use mlsd.hashing.hash_columns for in-memory tables)")],
    columns=[None, Check(_is_names, "a list of column names")],
    crosses=[Check(lambda c: _is_names(c) and iter(c) is not c and all(_is_names(x) for x in c),
                   "a list of tuples of column names")],
    n_features=[Interval(Integral, 1, 2**31 - 1)],
    seed=["seed"],
    alternate_sign=["boolean"],
    dtype=[Check(lambda d: np.dtype(d).kind in "biufc" and np.dtype(d) != np.float16,
                 "a numeric NumPy dtype other than float16 (scipy.sparse does not support dtype float16)")],
)
def hash_columns(data: Any, columns=None, crosses=(), *, n_features: int = 2**20, seed: int = 0,
                 alternate_sign: bool = True, dtype=np.float64):
    """:func:`mlsd.hashing.hash_columns` over a Dask DataFrame: a Dask array of CSR chunks.

    Each partition is hashed on the worker that holds it, by the single-machine kernel; nothing
    moves over the network until the result is used.  Chunk ``i`` of the result is the
    ``scipy.sparse.csr_matrix`` of partition ``i``, so ``result.compute()`` (which stacks the
    chunks with ``scipy.sparse.vstack``) equals ``mlsd.hashing.hash_columns`` of the concatenated
    frame: same indices, values and order.  The row count of each chunk is unknown until computed
    (``result.chunks[0]`` holds NaN; call ``result.compute_chunk_sizes()`` if you need it), as for
    any Dask array built from a DataFrame.  Map further work over the chunks with
    ``result.map_blocks`` or ``result.to_delayed()``, e.g. to train a model per partition.

    Parameters are those of :func:`mlsd.hashing.hash_columns`; ``data`` must be a Dask DataFrame.
    Column names and crosses are checked against the frame's columns before anything runs.
    """
    da = require("dask.array")
    delayed = require("dask").delayed
    crosses = [tuple(c) for c in crosses]
    # Validate the plan on the (empty) meta frame: unknown columns, bad crosses and unsupported
    # dtypes fail here, on the client, with the single-machine messages.
    H.hash_columns(data._meta, columns, crosses, n_features=n_features, seed=seed, alternate_sign=alternate_sign,
                   dtype=dtype)
    import scipy.sparse as sp

    meta = sp.csr_matrix((0, n_features), dtype=dtype)
    task = delayed(in_worker(_hash_part), pure=True)
    blocks = [da.from_delayed(task(p, columns, crosses, n_features, seed, alternate_sign, dtype),
                              shape=(np.nan, n_features), dtype=np.dtype(dtype), meta=meta)
              for p in data.to_delayed(optimize_graph=False)]
    return da.concatenate(blocks, axis=0)
