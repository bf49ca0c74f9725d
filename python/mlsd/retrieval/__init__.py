"""Embedding retrieval: exact and approximate (FAISS) top-k search with filters, shards and files.

Candidate generation narrows millions of items to a few hundred by nearest-neighbour search over
embeddings.  This module gives one index type for it, :class:`Index`, over any FAISS index-factory
string, plus the exact kernel :func:`knn`, the scatter-gather :class:`ShardedIndex` with its merge
step :func:`merge_topk`, and recall evaluation (:func:`knn_recall`, :func:`sweep`).

Conventions
-----------
- Vectors are float32 rows, ``(n, dim)``.  Arrays that are already C-contiguous float32 go to C++
  without a copy; any other real dtype or layout is converted once (a copy).
- ``metric="ip"``: inner product, larger is better.  ``"l2"``: *squared* Euclidean distance,
  smaller is better (as FAISS reports it).  ``"cosine"``: cosine similarity, larger is better;
  items are L2-normalised once when added and queries when searched, then scored by inner product.
- Searches return a :class:`SearchResult`, a tuple ``(scores, ids)`` (``scores, ids =
  index.search(...)`` unpacks it), both ``(n_queries, k)``, best first, with ``to_frame()`` (one
  row per neighbour found) and a table in Jupyter.  Ties are broken by the
  smaller id.  When fewer than ``k`` items qualify (small index, restrictive filter), the row is
  padded with id ``-1`` and the worst possible score: ``-inf`` for ip/cosine, ``+inf`` for l2 (so
  rows stay sorted; ``ids != -1`` selects the real results).  This never raises mid-batch.
- Ids are arbitrary int64 values other than -1 (which marks padding), unique within an index.
- Every public function and method declares its parameters (:func:`mlsd._params.validate_params`):
  a wrong type, shape or range raises InvalidParameterError (a ValueError and a TypeError) naming
  the function and the argument.  Checks of the data itself (finite values, the id rule) run in
  the kernels.

:mod:`mlsd.retrieval._partials` is the internal API that :mod:`mlsd.dask` builds on.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from numbers import Integral
from typing import Any, Iterable, Sequence

import numpy as np

from .. import _core
from .._params import ArrayLike, Check, Interval, Options, param_error, validate_params
from .._validation import as_float32, call_kernel, check_fits
from ._types import SearchResult, SweepResult

__all__ = ["Index", "ShardedIndex", "SearchResult", "SweepResult", "knn", "knn_recall", "merge_topk", "sweep"]

_c = _core.retrieval
_METRICS = {"ip": _c.Metric.ip, "l2": _c.Metric.l2, "cosine": _c.Metric.cosine}
_ADD_BATCH = 1 << 16
_I32 = int(np.iinfo(np.int32).max)


@dataclass(frozen=True)
class _Array(ArrayLike):
    """ArrayLike with a note on what the array holds; an empty list is an empty int64 array when
    only integers are allowed (``remove([])`` removes nothing)."""

    note: str = ""

    def accept(self, v: Any) -> Any:
        if isinstance(v, (list, tuple)) and len(v) == 0 and "f" not in self.kinds:
            v = np.empty(0, np.int64)
        return super().accept(v)

    def describe(self) -> str:
        return super().describe() + (f" ({self.note})" if self.note else "")


# The declared constraints, shared by every function here and by mlsd.dask (through _partials).
_DIM = [Interval(Integral, 1, 1 << 20)]
_METRIC = [Options(_METRICS)]
_SPEC = [Check(lambda s: isinstance(s, str) and bool(s), "a non-empty str (a FAISS index-factory string)")]
_N_SHARDS = [Interval(Integral, 1, 4096)]
_K = [Interval(Integral, 1, _I32)]
_SEARCH_PARAM = [Interval(Integral, 1, _I32), None]  # nprobe, efSearch
_VECTORS = [_Array(ndim=2, note="shape (n, dim); x[None, :] makes one vector a batch")]
_IDS = [_Array(ndim=1, kinds="iu", note="int64 ids")]
_ID_ALLOW = [_Array(ndim=1, kinds="iu", note="ids: a bool mask has no meaning across shards"), None]
_MASK_OR_IDS = [_Array(ndim=1, kinds="biu", note="ids, or a bool mask in the order of Index.ids"), None]
_ID_TABLE = [_Array(ndim=2, kinds="iu", note="shape (n_queries, k)")]
_PATH = [str, os.PathLike]


def _as_vectors(x: Any, name: str, func: str, dim: int | None = None) -> np.ndarray:
    """(n, dim) float32, C-contiguous; no copy when x already is."""
    if x is None:
        raise TypeError(f"{func}: {name} is required, got None")
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{func}: {name} must be a real-valued array; got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{func}: {name} must be 2-D (n, dim); got an array of shape {arr.shape}"
                         + (" (use x[None, :] for a single vector)" if arr.ndim == 1 else ""))
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{func}: {name} must have {dim} columns (the index dimension); got shape {arr.shape}")
    return as_float32(arr, name, func)


def _as_ids(ids: Any, name: str, func: str, n: int | None = None) -> np.ndarray:
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"{func}: {name} must be 1-D; got an array of shape {arr.shape}")
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{func}: {name} must be integers; got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{func}: {name} must fit in int64")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{func}: {name} has {arr.shape[0]} entries but vectors has {n} rows")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is an optional dependency
        raise ImportError("progress=True needs tqdm: pip install tqdm") from None
    return tqdm(total=total, desc=desc, unit="vec", unit_scale=True)


@validate_params(queries=_VECTORS, items=_VECTORS, k=_K, metric=_METRIC, ids=_IDS + [None],
                 allow=[_Array(ndim=1, kinds="b", note="one entry per item"), None])
def knn(queries: Any, items: Any, k: int, metric: str = "ip", *, ids: Any = None,
        allow: Any = None) -> SearchResult:
    """Exact k-nearest neighbours of each query among items (no index needed).

    Blocked matrix products (BLAS, one thread per task) with a multithreaded top-k selection;
    this is the kernel behind ``Index(spec="Flat")`` and the ground truth for recall.  The float32
    products only choose candidates (every item within a proven bound of float32's error of the
    k-th is kept); the kept ones are rescored in double precision from the vectors as given.  So
    a row is the top-k of the double-precision scores (rounded to float32, equal scores by id)
    for any tiling, thread count or split of the items: ``merge_topk`` of the searches of any
    parts equals the search of the whole, bit for bit.

    Parameters
    ----------
    queries : array of shape (n_queries, dim)
    items : array of shape (n_items, dim)
    k : int >= 1
        Neighbours per query; rows are padded (id -1) when ``k > n_items``.
    metric : {"ip", "cosine", "l2"}
        See the module docstring for the score conventions.
    ids : array of int of shape (n_items,), optional
        The ids to report; default: row numbers of ``items``.
    allow : bool array of shape (n_items,), optional
        Only items with ``allow[i]`` True are returned.

    Returns
    -------
    SearchResult
        ``(scores, ids)``: float32 scores and int64 ids, both of shape (n_queries, k).

    Examples
    --------
    >>> import numpy as np, mlsd
    >>> items = np.eye(3, dtype=np.float32)
    >>> scores, ids = mlsd.retrieval.knn(np.array([[0.1, 0.9, 0.2]]), items, k=2)
    >>> ids
    array([[1, 2]])
    >>> scores
    array([[0.9, 0.2]], dtype=float32)
    """
    func = "knn"
    items = _as_vectors(items, "items", func)
    dim = items.shape[1]
    if dim == 0:
        raise ValueError(f"{func}: items must have at least one column")
    queries = _as_vectors(queries, "queries", func, dim)
    ids_arr = None if ids is None else _as_ids(ids, "ids", func, items.shape[0])
    allow_bits = None
    if allow is not None:
        if allow.shape != (items.shape[0],):
            raise ValueError(f"{func}: allow must be a bool array of shape ({items.shape[0]},) (one entry per item); "
                             f"got shape {allow.shape}")
        allow_bits = np.packbits(allow, bitorder="little")
    if metric == "cosine":
        items = _normalized(items, "items", func)
        queries = _normalized(queries, "queries", func)
    kernel_metric = _c.Metric.l2 if metric == "l2" else _c.Metric.ip
    return SearchResult._of(call_kernel(func, _c.knn, queries, items, dim, k, kernel_metric, ids_arr, allow_bits))


def _normalized(x: np.ndarray, name: str, func: str) -> np.ndarray:
    """A unit-norm copy of each row (as the index normalises; zero rows raise)."""
    out = np.array(x, dtype=np.float32, order="C", copy=True)
    call_kernel(func, _c.normalize_rows, out, x.shape[1], name)
    return out


class Index:
    """A vector index with int64 ids, exact or approximate (FAISS).

    Parameters
    ----------
    dim : int
        Vector dimension.
    metric : {"ip", "cosine", "l2"}, default "ip"
        Cosine normalises items once when they are added (and queries when searched).
    spec : str, default "Flat"
        A FAISS index-factory string of one of these forms: "Flat" (exact; served by mlsd's own
        kernel), "HNSW<M>[,Flat]" (M in [2, 512]; "HNSW" is HNSW32), "IVF<nlist>,Flat" (nlist in
        [1, 2**20]), "[OPQ<m>[_<D>],]IVF<nlist>,PQ<M>[x<nbits>]" (nbits in [1, 8], default 8) and
        "[OPQ<m>[_<D>],]PQ<M>[x<nbits>]" (nbits in [1, 16]), e.g. "HNSW32", "IVF1024,Flat",
        "IVF1024,PQ16", "OPQ16,IVF1024,PQ16".  PQ's M must divide the dimension it encodes (D
        after OPQ, else ``dim``).  Other kinds (NSG, SQ, PCA, LSH, IDMap, ...) and degenerate
        parameters raise ValueError before FAISS sees them (FAISS aborts the process on some of
        them).  Specs other than Flat and HNSW need :meth:`train` before :meth:`add`, with at least
        one training vector per k-means centroid (nlist, 2**nbits, 256 for OPQ).  Vectors given to
        these FAISS-backed specs (except with ``metric="cosine"``, whose vectors are normalised)
        must have every ``|value| <= sqrt(FLT_MAX / (8 * dim))`` (about 1.6e18 for dim 16), so
        that FAISS's squared distances stay finite in float32.

    Notes
    -----
    Searches are thread-safe: several Python threads may search one index at once (the GIL is
    released), and search parameters (``nprobe``, ``efSearch``) apply to one call only.
    :meth:`train`, :meth:`add` and :meth:`remove` wait for running searches and block new ones.

    Filtered search (``allow=``) never returns a disallowed item, even while other threads add or
    remove items.  Exact indexes return the true filtered top-k.  For approximate indexes, when
    the filter keeps at most 5% of the items (or at most 4096), the allowed items' stored vectors
    are scored exactly, so recall is that of the stored vectors (1.0 for HNSW/IVF with Flat
    storage).  Otherwise the index applies the filter itself: the HNSW walk continues until it
    holds ``efSearch`` allowed candidates (hnswlib's rule; recall stays near the unfiltered one),
    and IVF skips disallowed entries in the lists it visits (the lists visited are unchanged, so
    raise ``nprobe`` for selective filters).  Indexes without selector support (e.g. "PQ16")
    always take the first path.

    HNSW indexes with ``metric="cosine"`` are built on L2 distances between the unit vectors
    (the same order; FAISS builds inner-product graphs several times slower), and scores are
    reported as cosine similarities.

    Examples
    --------
    >>> import numpy as np, mlsd
    >>> rng = np.random.default_rng(0)
    >>> items = rng.standard_normal((1000, 16)).astype(np.float32)
    >>> index = mlsd.retrieval.Index(16, metric="cosine")
    >>> index.add(items, ids=np.arange(1000) * 10)
    Index(dim=16, metric='cosine', spec='Flat', n_items=1000)
    >>> scores, ids = index.search(items[:2], k=3)
    >>> ids[:, 0]
    array([ 0, 10])
    >>> scores, ids = index.search(items[:1], k=3, allow=[500, 510])
    >>> ids
    array([[510, 500,  -1]])
    """

    @validate_params(dim=_DIM, metric=_METRIC, spec=_SPEC)
    def __init__(self, dim: int, metric: str = "ip", spec: str = "Flat") -> None:
        self._metric = metric
        self._index = call_kernel("Index", _c.Index, dim, _METRICS[metric], spec)

    @classmethod
    def _wrap(cls, core_index, metric: str) -> "Index":
        obj = cls.__new__(cls)
        obj._metric = metric
        obj._index = core_index
        return obj

    # -- properties -----------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self._index.dim)

    @property
    def metric(self) -> str:
        return self._metric

    @property
    def spec(self) -> str:
        return str(self._index.spec)

    @property
    def kind(self) -> str:
        """"flat" (mlsd's exact kernel), "ivf", "hnsw", or "other" (e.g. PQ): decides what
        search parameters, filters and removal do."""
        return str(self._index.kind)

    @property
    def is_trained(self) -> bool:
        """False for specs that must be trained (IVF, PQ, ...) until :meth:`train` has run."""
        return bool(self._index.is_trained)

    @property
    def supports_remove(self) -> bool:
        """True for Flat and IVF indexes; HNSW and PQ cannot remove items."""
        return bool(self._index.supports_remove)

    @property
    def ids(self) -> np.ndarray:
        """The ids of the items, in the order they were added (the order of a bool ``allow`` mask)."""
        return self._index.ids()

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"Index(dim={self.dim}, metric={self.metric!r}, spec={self.spec!r}, n_items={len(self)})"

    # -- building -------------------------------------------------------------------------------
    @validate_params(vectors=_VECTORS)
    def train(self, vectors: Any) -> "Index":
        """Learns the index's centroids/codebooks from sample vectors (a no-op for Flat and HNSW).

        Must come before :meth:`add`.  FAISS needs at least as many vectors as clusters (and warns,
        on stderr, below 39 per cluster).
        """
        func = "Index.train"
        x = _as_vectors(vectors, "vectors", func, self.dim)
        if x.shape[0] == 0:
            raise ValueError(f"{func}: vectors is empty; training needs at least one vector")
        call_kernel(func, self._index.train, x)
        return self

    @validate_params(vectors=_VECTORS, ids=_IDS + [None], progress=["boolean"])
    def add(self, vectors: Any, ids: Any = None, *, progress: bool = False) -> "Index":
        """Adds vectors with their ids.

        Parameters
        ----------
        vectors : array of shape (n, dim)
            Converted to float32 once if needed; NaN or inf raise ValueError.
        ids : array of int of shape (n,), optional
            Any int64 values except -1, unique (also against the ids already in the index).
            Default: consecutive ids after the largest id so far (0, 1, ... for a new index).
        progress : bool, default False
            Show a tqdm progress bar (vectors are added in batches of 65,536).
        """
        func = "Index.add"
        x = _as_vectors(vectors, "vectors", func, self.dim)
        ids_arr = None if ids is None else _as_ids(ids, "ids", func, x.shape[0])
        if not progress:
            call_kernel(func, self._index.add, x, ids_arr)
            return self
        if ids_arr is None:  # fix the automatic ids once, so batches continue them
            start = int(self._index.next_id())
            ids_arr = np.arange(start, start + x.shape[0], dtype=np.int64)
        # Every id is checked up front, so a bad id in batch 10 leaves batches 1-9 out.
        call_kernel(func, _c.check_new_ids, ids_arr, self._index)
        bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
        if bad.size:  # checked before the first batch, so a bad row leaves the index unchanged
            col = int(np.flatnonzero(~np.isfinite(x[bad[0]]))[0])
            raise ValueError(f"{func}: vectors must be finite; found {x[bad[0], col]} at row {bad[0]}, column {col}")
        bar = _progress(x.shape[0], "add", True)
        try:
            for b in range(0, x.shape[0], _ADD_BATCH):
                call_kernel(func, self._index.add, x[b:b + _ADD_BATCH], ids_arr[b:b + _ADD_BATCH])
                bar.update(min(_ADD_BATCH, x.shape[0] - b))
        finally:
            bar.close()
        return self

    @validate_params(ids=_IDS)
    def remove(self, ids: Any) -> int:
        """Removes items by id; returns how many were removed (unknown ids are ignored).

        Raises NotImplementedError for indexes that cannot remove items (HNSW, PQ).
        """
        func = "Index.remove"
        if not self.supports_remove:
            raise NotImplementedError(f"{func}: spec {self.spec!r} does not support removing items "
                                      "(Flat and IVF indexes do); rebuild the index without them")
        return int(call_kernel(func, self._index.remove, _as_ids(ids, "ids", func)))

    # -- search ---------------------------------------------------------------------------------
    @validate_params(queries=_VECTORS, k=_K, allow=_MASK_OR_IDS, nprobe=_SEARCH_PARAM, efSearch=_SEARCH_PARAM)
    def search(self, queries: Any, k: int, *, allow: Any = None, nprobe: int | None = None,
               efSearch: int | None = None) -> SearchResult:  # noqa: N803 (FAISS's name)
        """The k best items for each query.

        Parameters
        ----------
        queries : array of shape (n_queries, dim)
        k : int >= 1
            Rows are padded with id -1 when fewer than k items qualify (see the module docstring).
        allow : array of int ids, or bool array of shape (len(index),), optional
            Restricts results to these ids (unknown ids are ignored), or to the items whose mask
            entry is True, in the order of :attr:`ids`.
        nprobe : int, optional
            IVF indexes: inverted lists visited per query, for this call only.
        efSearch : int, optional
            HNSW indexes: candidate list size, for this call only.

        Returns
        -------
        SearchResult
            ``(scores, ids)``: float32 scores and int64 ids, both of shape (n_queries, k);
            ``scores, ids = index.search(...)`` unpacks it.
        """
        func = "Index.search"
        q = _as_vectors(queries, "queries", func, self.dim)
        allow_ids = allow_mask = None
        if allow is not None:  # resolved by the kernel under the index lock
            if allow.dtype == np.bool_:
                allow_mask = np.ascontiguousarray(allow).view(np.uint8)
            else:
                allow_ids = _as_ids(allow, "allow", func)
        return SearchResult._of(call_kernel(func, self._index.search, q, k, nprobe, efSearch, allow_ids, allow_mask))

    # -- files ----------------------------------------------------------------------------------
    @validate_params(path=_PATH)
    def save(self, path: str | os.PathLike) -> None:
        """Writes the index (ids, metric, spec, vectors or FAISS codes) to one file.

        The file starts with a magic number and a format version and ends with a CRC-32 of its
        contents; :meth:`load` checks all three.
        """
        data = call_kernel("Index.save", self._index.serialize)
        with open(path, "wb") as f:
            f.write(memoryview(data))

    @classmethod
    @validate_params(path=_PATH)
    def load(cls, path: str | os.PathLike) -> "Index":
        """Reads an index written by :meth:`save`.

        Raises ValueError for a file that is not an mlsd index, has an unsupported format version,
        or is truncated or corrupted (checksum mismatch).
        """
        with open(path, "rb") as f:
            data = np.frombuffer(f.read(), dtype=np.uint8)
        return _index_from_bytes(data, "Index.load")

    def __reduce__(self):
        # Pickles as the bytes of save() (checksummed), so an index can travel between processes
        # (multiprocessing, Dask workers spilling to disk) and come back identical.
        return _index_from_bytes, (call_kernel("Index.__reduce__", self._index.serialize),)


def _index_from_bytes(data: np.ndarray, func: str = "Index.__setstate__") -> Index:
    core = call_kernel(func, _c.Index.deserialize, np.ascontiguousarray(data, dtype=np.uint8))
    metric = {v: k for k, v in _METRICS.items()}[core.metric]
    return Index._wrap(core, metric)


class ShardedIndex:
    """Items split across ``n_shards`` indexes by a hash of their id; searched in parallel and merged.

    This is the scatter-gather of a cluster deployment, in one process: each shard returns its own
    top-k and :func:`merge_topk` combines them.  With exact shards the result equals the unsharded
    exact search bit for bit, ids and scores (the exact kernel returns the top-k of
    double-precision scores, whatever the split of the items; see :func:`knn`).  Training trains
    one shard and copies its trained state to the others, so all shards share centroids.

    Parameters
    ----------
    dim, metric, spec
        As for :class:`Index`.
    n_shards : int, default 4
    """

    @validate_params(dim=_DIM, metric=_METRIC, spec=_SPEC, n_shards=_N_SHARDS)
    def __init__(self, dim: int, metric: str = "ip", spec: str = "Flat", n_shards: int = 4) -> None:
        self._metric = metric
        self._dim = dim
        self._index = call_kernel("ShardedIndex", _c.ShardedIndex, dim, _METRICS[metric], spec, n_shards)

    @property
    def n_shards(self) -> int:
        return int(self._index.n_shards)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def metric(self) -> str:
        return self._metric

    @property
    def is_trained(self) -> bool:
        return bool(self._index.is_trained)

    @validate_params(s=[Interval(Integral, 0, None)])
    def shard(self, s: int) -> Index:
        """Shard ``s`` as an :class:`Index` (shares storage with this sharded index)."""
        if s >= self.n_shards:
            raise param_error("ShardedIndex.shard", "s", f"an int in the range [0, {self.n_shards - 1}]", s)
        return Index._wrap(self._index.shard(s), self._metric)

    def __len__(self) -> int:
        return len(self._index)

    @validate_params(vectors=_VECTORS)
    def train(self, vectors: Any) -> "ShardedIndex":
        """As :meth:`Index.train`: trains one shard and gives every shard its trained state."""
        func = "ShardedIndex.train"
        x = _as_vectors(vectors, "vectors", func, self._dim)
        if x.shape[0] == 0:
            raise ValueError(f"{func}: vectors is empty; training needs at least one vector")
        call_kernel(func, self._index.train, x)
        return self

    @validate_params(vectors=_VECTORS, ids=_IDS + [None])
    def add(self, vectors: Any, ids: Any = None) -> "ShardedIndex":
        """As :meth:`Index.add`: each item goes to the shard its id hashes to."""
        func = "ShardedIndex.add"
        x = _as_vectors(vectors, "vectors", func, self._dim)
        ids_arr = None if ids is None else _as_ids(ids, "ids", func, x.shape[0])
        call_kernel(func, self._index.add, x, ids_arr)
        return self

    @validate_params(ids=_IDS)
    def remove(self, ids: Any) -> int:
        """As :meth:`Index.remove`."""
        func = "ShardedIndex.remove"
        if not self.shard(0).supports_remove:
            raise NotImplementedError(f"{func}: this spec does not support removing items")
        return int(call_kernel(func, self._index.remove, _as_ids(ids, "ids", func)))

    @validate_params(queries=_VECTORS, k=_K, allow=_ID_ALLOW, nprobe=_SEARCH_PARAM, efSearch=_SEARCH_PARAM)
    def search(self, queries: Any, k: int, *, allow: Any = None, nprobe: int | None = None,
               efSearch: int | None = None) -> SearchResult:  # noqa: N803
        """As :meth:`Index.search` (a :class:`SearchResult`); ``allow`` must be an array of ids
        (shards have no common row order)."""
        func = "ShardedIndex.search"
        q = _as_vectors(queries, "queries", func, self._dim)
        allow_ids = None if allow is None else _as_ids(allow, "allow", func)
        return SearchResult._of(call_kernel(func, self._index.search, q, k, nprobe, efSearch, allow_ids))


_RESULTS = [Check(lambda v: isinstance(v, Iterable) and not isinstance(v, (str, bytes, dict, np.ndarray)),
                  "a sequence of (scores, ids) pairs (SearchResults)")]


@validate_params(results=_RESULTS, k=_K, metric=_METRIC)
def merge_topk(results: Sequence[tuple[Any, Any]], k: int, metric: str = "ip") -> SearchResult:
    """Merges per-shard top-k results of the same queries into one top-k.

    Parameters
    ----------
    results : sequence of SearchResult or (scores, ids) pairs
        One per shard, each of shape (n_queries, k_s) as returned by ``search``; padding
        (id -1) is ignored.
    k : int >= 1
    metric : {"ip", "cosine", "l2"}
        Decides the order: larger scores first, or smaller for l2.

    Returns
    -------
    SearchResult
        ``(scores, ids)`` of shape (n_queries, k), best first, ties by smaller id, padded with -1.

    Examples
    --------
    >>> import numpy as np, mlsd
    >>> a = (np.array([[0.9, 0.1]], np.float32), np.array([[7, 3]]))
    >>> b = (np.array([[0.5, 0.4]], np.float32), np.array([[2, 8]]))
    >>> mlsd.retrieval.merge_topk([a, b], k=3)[1].tolist()
    [[7, 2, 8]]
    """
    func = "merge_topk"
    parts = []
    n_queries = None
    for i, pair in enumerate(results):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"{func}: results[{i}] must be a (scores, ids) pair")
        scores = np.asarray(pair[0])
        ids = np.asarray(pair[1])
        if scores.ndim != 2 or ids.shape != scores.shape:
            raise ValueError(f"{func}: results[{i}] scores and ids must be 2-D arrays of the same shape; "
                             f"got {scores.shape} and {ids.shape}")
        if n_queries is not None and scores.shape[0] != n_queries:
            raise ValueError(f"{func}: results[{i}] has {scores.shape[0]} queries but results[0] has {n_queries}")
        n_queries = scores.shape[0]
        if scores.dtype.kind != "f":
            raise TypeError(f"{func}: results[{i}] scores must be floats; got dtype {scores.dtype}")
        if ids.dtype.kind not in "iu":
            raise TypeError(f"{func}: results[{i}] ids must be integers; got dtype {ids.dtype}")
        check_fits(ids, np.int64, f"results[{i}] ids", func)
        parts.append((as_float32(scores, f"results[{i}] scores", func), np.ascontiguousarray(ids, dtype=np.int64)))
    if not parts:
        raise ValueError(f"{func}: results is empty; pass at least one (scores, ids) pair")
    return SearchResult._of(call_kernel(func, _c.merge_topk, parts, k, _METRICS[metric]))


_RECALL_PARAMS = dict(approx_ids=_ID_TABLE, exact_ids=_ID_TABLE, k=[Interval(Integral, 1, None), None])


@validate_params(**_RECALL_PARAMS)
def knn_recall(approx_ids: Any, exact_ids: Any, k: int | None = None) -> float:
    """k-recall@k: the fraction of the true top-k that the approximate top-k found, averaged over queries.

    For each query, ``|approx[:k] ∩ exact[:k]| / |exact[:k]|``, where -1 padding is ignored on both
    sides; queries whose exact row holds no result are skipped.

    Parameters
    ----------
    approx_ids, exact_ids : int arrays of shape (n_queries, >= k)
    k : int, optional
        Default: the width of ``exact_ids``.

    See Also
    --------
    mlsd.metrics.recall_at_k : recall of relevance labels over ranked scores, a ranking metric.

    Notes
    -----
    Formerly ``recall_at_k``; that name still works, with a ``FutureWarning``.  It was renamed because it
    collided with :func:`mlsd.metrics.recall_at_k`, which takes labels and scores.

    Examples
    --------
    >>> import numpy as np, mlsd
    >>> approx = np.array([[1, 2, 9], [4, 5, 6]])  # query 0 found 2 of 3, query 1 all
    >>> round(mlsd.retrieval.knn_recall(approx, np.array([[1, 2, 3], [4, 5, 6]])), 4)
    0.8333
    """
    return _knn_recall(approx_ids, exact_ids, k, "knn_recall")


@validate_params(**_RECALL_PARAMS)
def recall_at_k(approx_ids: Any, exact_ids: Any, k: int | None = None) -> float:
    """Deprecated name of :func:`knn_recall` (same arguments, same value); warns ``FutureWarning``."""
    warnings.warn("mlsd.retrieval.recall_at_k is renamed: use knn_recall (the old name will be removed)",
                  FutureWarning, stacklevel=2)
    return _knn_recall(approx_ids, exact_ids, k, "recall_at_k")


def _knn_recall(approx_ids: Any, exact_ids: Any, k: int | None, func: str) -> float:
    approx, exact = approx_ids, exact_ids  # declared: 2-D integer arrays
    if approx.shape[0] != exact.shape[0]:
        raise ValueError(f"{func}: approx_ids has {approx.shape[0]} rows but exact_ids has {exact.shape[0]}")
    if approx.shape[0] == 0:
        raise ValueError(f"{func}: approx_ids and exact_ids are empty; at least one query is required")
    width = min(approx.shape[1], exact.shape[1])
    if k is not None and k > max(width, 1):
        raise param_error(func, "k", f"an int in the range [1, {max(width, 1)}] (the width of the id arrays)", k)
    k = exact.shape[1] if k is None else k
    if k > width:
        raise ValueError(f"{func}: approx_ids has {approx.shape[1]} columns, fewer than k={k}")
    for name, ids in (("approx_ids", approx), ("exact_ids", exact)):
        check_fits(ids, np.int64, name, func)  # a uint64 id above 2**63 - 1 would wrap to -1, the padding id
    r = call_kernel(func, _c.recall_at_k, np.ascontiguousarray(approx, dtype=np.int64),
                    np.ascontiguousarray(exact, dtype=np.int64), k)
    if np.isnan(r):
        raise ValueError(f"{func}: every row of exact_ids is padding (-1); recall is undefined")
    return float(r)


@validate_params(index=[Index, ShardedIndex], queries=_VECTORS, k=_K, exact_ids=_ID_TABLE,
                 param=[Options({"nprobe", "efSearch"})], values=[_Array(ndim=1, kinds="iu", note="parameter values")],
                 repeat=[Interval(Integral, 1, None)])
def sweep(index: Index, queries: Any, k: int, exact_ids: Any, param: str, values: Iterable[int], *,
          repeat: int = 1) -> SweepResult:
    """Recall and speed of an approximate index over a range of one search parameter.

    Parameters
    ----------
    index : Index
    queries : array of shape (n_queries, dim)
    k : int
    exact_ids : int array of shape (n_queries, >= k)
        Ground truth, e.g. from :func:`knn` or a Flat index.
    param : {"nprobe", "efSearch"}
    values : array-like of int
    repeat : int, default 1
        Timed runs per value; the fastest is reported.

    Returns
    -------
    SweepResult
        ``param``, ``k`` and one entry per value in ``value``, ``recall``, ``qps``, ``seconds``;
        ``to_frame()`` has one row per value (columns ``param, value, recall, qps, seconds``) and
        ``plot()`` draws recall against QPS, each point labelled with its value.
    """
    func = "sweep"
    q = _as_vectors(queries, "queries", func, index.dim)
    if values.size and values.min() < 1:
        raise param_error(func, "values", f"ints >= 1 (values of {param})", values)
    values = values.astype(np.int64, copy=False)
    recall, qps, seconds = [], [], []
    for v in values.tolist():
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            _, ids = index.search(q, k, **{param: v})
            best = min(best, time.perf_counter() - t0)
        recall.append(knn_recall(ids, exact_ids, k))
        qps.append(q.shape[0] / best if best > 0 else float("inf"))
        seconds.append(best)
    return SweepResult(param=param, value=values, recall=np.array(recall, dtype=np.float64),
                       qps=np.array(qps, dtype=np.float64), seconds=np.array(seconds, dtype=np.float64), k=k)
