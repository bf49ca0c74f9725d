"""mlsd.dask.hash_columns on a LocalCluster: a Dask array of CSR chunks equal to hashing the
concatenated frame."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from mlsd.hashing import hash_columns

dd = pytest.importorskip("dask.dataframe")
import dask  # noqa: E402

import mlsd.dask as md  # noqa: E402
from conftest import uneven_split  # noqa: E402
from test_hash_columns import make_frame  # noqa: E402


def partitioned(df, chunks):
    """A Dask DataFrame whose partitions have exactly these lengths (empty ones included).

    Built by repartitioning on an index with gaps (an empty partition is an index interval that
    holds no row), not with dd.from_delayed: Dask 2026.8 loses the graph of a from_delayed frame
    converted to a Dask array ("Missing dependency ('fromdelayed-...')"), in Dask's own
    ``to_dask_array`` as well."""
    n = len(df)
    gap = 10
    df = df.set_axis(np.arange(n) * gap)
    bounds = np.concatenate([[0], np.cumsum(chunks)])
    starts = bounds[:-1]
    trailing = int(np.sum(starts == n))  # empty partitions after the last row
    divisions = []
    for j, b in enumerate(starts):
        if b < n:  # a run of partitions starting at row b: the empty ones take the index gaps before it
            divisions.append(int(b) * gap - int(np.sum(starts[j + 1:] == b)))
        else:
            divisions.append((n - 1) * gap + 1 + len(divisions) - (len(starts) - trailing))
    divisions.append((n - 1) * gap + (trailing + 1 if trailing else 0))
    ddf = dd.from_pandas(df, npartitions=1, sort=True).repartition(divisions=divisions, force=True)
    assert list(ddf.map_partitions(len).compute(scheduler="sync")) == list(chunks)
    return ddf


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("alternate_sign", [True, False])
def test_equals_hashing_the_concatenated_frame(dask_client, seed, alternate_sign):
    df = make_frame(seed, n=800)
    ddf = partitioned(df, uneven_split(len(df), seed))
    kw = dict(crosses=[("user", "ad"), ("country", "hour", "premium")], n_features=2**12, seed=seed,
              alternate_sign=alternate_sign)
    X = md.hash_columns(ddf, **kw)
    assert X.shape[1] == 2**12 and X.numblocks[0] == ddf.npartitions
    got = X.compute()
    ref = hash_columns(df, **kw)
    assert sp.issparse(got) and got.format == "csr" and got.dtype == ref.dtype
    assert got.shape == ref.shape
    np.testing.assert_array_equal(got.indptr, ref.indptr)
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_array_equal(got.data, ref.data)
    blocks = dask.compute(*X.to_delayed().ravel())
    assert [b.shape[0] for b in blocks] == list(uneven_split(len(df), seed))  # one CSR chunk per partition


def test_columns_and_dtype(dask_client):
    df = make_frame(4, n=300)
    ddf = partitioned(df, (100, 0, 200))
    X = md.hash_columns(ddf, columns=["user", "country"], n_features=64, dtype=np.float32)
    ref = hash_columns(df, columns=["user", "country"], n_features=64, dtype=np.float32)
    assert (X.compute() != ref).nnz == 0 and X.dtype == np.float32


def test_errors_are_raised_before_anything_runs():
    df = make_frame(5, n=50)
    ddf = partitioned(df, (25, 25))
    with pytest.raises(ValueError, match="nope"):
        md.hash_columns(ddf, columns=["nope"])
    with pytest.raises(ValueError, match="n_features"):
        md.hash_columns(ddf, n_features=0)
    with pytest.raises(TypeError, match="Dask DataFrame"):
        md.hash_columns(df)
    with pytest.raises(ValueError, match="unknown column.*missing"):
        md.hash_columns(ddf, crosses=[("user", "missing")])
    with pytest.raises(ValueError, match="at least two columns"):
        md.hash_columns(ddf, crosses=[("user",)])


def test_object_string_column(dask_client):
    # An object column's empty meta is Arrow's null type once converted: the plan check must accept it.
    df = pd.DataFrame({"s": pd.Series(["a", "b", None, "c"], dtype=object), "u": [1, 2, 3, 4]})
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(df, npartitions=2)
        assert ddf._meta["s"].dtype == object
        X = md.hash_columns(ddf, n_features=16).compute()
    assert (X != hash_columns(df, n_features=16)).nnz == 0
