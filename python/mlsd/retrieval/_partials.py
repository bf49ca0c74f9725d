"""The internal API of :mod:`mlsd.retrieval` for :mod:`mlsd.dask` (and any other family).

:mod:`mlsd.dask.DistributedIndex` places and checks rows on workers, away from any one
:class:`~mlsd.retrieval.Index`; what it needs beyond the public names is listed here and nowhere
else, so that :mod:`mlsd.retrieval` may change its private helpers without breaking Dask.  Each
rule named here has one home, in C++ or in :mod:`mlsd.retrieval`; these functions only reach it.

Contract (``func`` is the public function named in error messages):

Declared constraints (lists for :func:`mlsd._params.validate_params`, the ones
:mod:`mlsd.retrieval` declares, so that a DistributedIndex accepts what an Index accepts):
``DIM`` (an index dimension), ``METRIC`` ("ip", "l2", "cosine"), ``SPEC`` (a non-empty
index-factory string), ``N_SHARDS``, ``K`` (neighbours per query), ``SEARCH_PARAM`` (nprobe,
efSearch: an int >= 1 or None), ``VECTORS`` (2-D real array-like), ``IDS`` (1-D int array-like)
and ``ID_ALLOW`` (1-D int ids or None; a bool mask is rejected).

``as_vectors(x, name, func, dim=None) -> ndarray``
    ``(n, dim)`` float32, C-contiguous (no copy when ``x`` already is); TypeError/ValueError as
    :meth:`Index.add` raises them.
``as_ids(ids, name, func, n=None) -> ndarray``
    1-D int64, C-contiguous; ``n``: the required length.
``check_new_ids(ids, index=None, *, func) -> None``
    The id rule of :meth:`Index.add` (C++ ``check_new_ids``): ValueError ``"<func>: ..."`` if
    ``ids`` holds -1, a duplicate, or (``index`` given) an id already in ``index``.
``shard_of(ids, n_shards) -> ndarray``
    The shard of each id (int64), C++ ``ShardedIndex::shard_of``, the placement
    :class:`ShardedIndex` uses: ``splitmix64(id) % n_shards``.  Releases the GIL.
``wants_l2_center(index) -> bool``
    Whether ``index``'s kind stores its vectors centred (Flat with metric "l2"): then the pieces
    of one collection must share the centre of the whole first batch.
``column_sums(x) -> ndarray``
    Float64 column sums of one block of a first batch; ``l2_center(sums, n) -> ndarray`` turns
    the blocks' sums into the float32 centre (their mean, as an Index takes its first batch's).
``new_shard(template, l2_center=None) -> Index``
    A new, empty Index with ``template``'s spec, metric and trained state (centroids, codebooks);
    with ``l2_center`` (only where :func:`wants_l2_center`), one whose vectors are centred on it.
``train(index, x, func) -> None``
    Trains ``index`` on checked vectors ``x`` (from :func:`as_vectors`), errors naming ``func``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from .._validation import call_kernel
from . import (_DIM, _ID_ALLOW, _IDS, _K, _METRIC, _N_SHARDS, _SEARCH_PARAM, _SPEC, _VECTORS, Index, _as_ids,
               _as_vectors, _index_from_bytes, _METRICS)

__all__ = ["DIM", "ID_ALLOW", "IDS", "K", "METRIC", "N_SHARDS", "SEARCH_PARAM", "SPEC", "VECTORS", "as_ids",
           "as_vectors", "check_new_ids", "column_sums", "l2_center", "new_shard", "shard_of", "train",
           "wants_l2_center"]

_c = _core.retrieval

DIM, METRIC, SPEC, N_SHARDS, K, SEARCH_PARAM = _DIM, _METRIC, _SPEC, _N_SHARDS, _K, _SEARCH_PARAM
VECTORS, IDS, ID_ALLOW = _VECTORS, _IDS, _ID_ALLOW
as_vectors = _as_vectors
as_ids = _as_ids


def check_new_ids(ids: np.ndarray, index: Index | None = None, *, func: str) -> None:
    call_kernel(func, _c.check_new_ids, np.ascontiguousarray(ids, dtype=np.int64),
                None if index is None else index._index)


def shard_of(ids: Any, n_shards: int) -> np.ndarray:
    return call_kernel("shard_of", _c.shard_of, np.ascontiguousarray(ids, dtype=np.int64), int(n_shards))


def wants_l2_center(index: Index) -> bool:
    return index.metric == "l2" and index.kind == "flat"


def column_sums(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).sum(axis=0, dtype=np.float64)


def l2_center(sums: list[np.ndarray], n: int) -> np.ndarray:
    return (np.sum(sums, axis=0) / n).astype(np.float32)


def new_shard(template: Index, l2_center: np.ndarray | None = None) -> Index:
    if l2_center is None:
        return _index_from_bytes(call_kernel("DistributedIndex", template._index.serialize), "DistributedIndex")
    core = call_kernel("DistributedIndex", _c.Index, template.dim, _METRICS[template.metric], template.spec,
                       np.ascontiguousarray(l2_center, dtype=np.float32))
    return Index._wrap(core, template.metric)


def train(index: Index, x: np.ndarray, func: str) -> None:
    call_kernel(func, index._index.train, x)
