"""A retrieval index whose shards live in the memory of Dask workers.

:class:`DistributedIndex` is :class:`mlsd.retrieval.ShardedIndex` spread over a cluster: the same
id -> shard rule (a hash of the id), the same shared trained state, the same per-shard top-k and
the same :func:`mlsd.retrieval.merge_topk`, so with exact shards its results equal exact search
over all items (:func:`mlsd.retrieval.knn`), ids and scores alike.

Each shard is an :class:`mlsd.retrieval.Index` held by one worker as the value of a distributed
future, pinned there (``workers=[address], allow_other_workers=False``): adds, removals and
searches are tasks that run where the shard is, so a shard never crosses the network.  A shard is
not replicated: a worker that dies takes its shards with it (:meth:`DistributedIndex.save` them).
"""

from __future__ import annotations

import json
import math
import operator
import os
from numbers import Integral
from typing import Any

import numpy as np

from .. import retrieval as _r
from .._params import Check, Interval, validate_params
from ..retrieval import _partials
from ..retrieval import SearchResult
from ..retrieval._partials import shard_of
from ._common import in_worker, is_dask_collection, require

__all__ = ["DistributedIndex"]

_FORMAT = "mlsd.dask.DistributedIndex"
_FORMAT_VERSION = 1
_MERGE_FAN_IN = 8


def _by_shard(ids: np.ndarray, n_shards: int) -> tuple[np.ndarray, np.ndarray]:
    """The order that groups ids by shard (stable) and the bounds of each shard's group
    (:func:`mlsd.retrieval._partials.shard_of`, ShardedIndex's placement rule)."""
    where = shard_of(ids, n_shards)
    order = np.argsort(where, kind="stable")
    return order, np.searchsorted(where[order], np.arange(n_shards + 1))


# -- tasks (they run on workers; in_worker sizes mlsd's threads to the worker's nthreads) -------------

@in_worker
def _inspect(x: Any, ids: Any, dim: int, metric: str, wants_center: bool) -> dict:
    """What the client needs before adding a block: its row count, the largest id, the column sums
    (the l2 centre) and the first row Index.add would reject, numbered within the block."""
    x = np.asarray(x)
    info: dict = {"n": int(x.shape[0]), "max_id": None, "sum": None, "error": None}
    if x.shape[1] != dim:
        info["error"] = ("vectors", f"vectors must have {dim} columns (the index dimension); got {x.shape[1]}")
        return info
    if ids is not None:
        ids = np.asarray(ids)
        if ids.shape[0] != x.shape[0]:
            info["error"] = ("ids", f"ids has {ids.shape[0]} entries in the block of vectors rows {{row}} onwards, "
                                    f"which has {x.shape[0]} rows")
            return info
        if ids.dtype.kind == "u" and ids.size and ids.max() > np.iinfo(np.int64).max:
            info["error"] = ("ids", "ids must fit in int64")
            return info
        try:  # -1 and duplicates within the block; across blocks, each shard checks its pieces
            _partials.check_new_ids(ids, func="DistributedIndex.add")
        except ValueError as e:
            info["error"] = ("ids", str(e).partition(": ")[2].replace("{", "{{").replace("}", "}}"))
            return info
        info["max_id"] = int(ids.max()) if ids.size else None
    try:  # float32 as Index.add takes it: a finite value beyond float32's range is refused, not made inf
        x = _partials.as_vectors(x, "vectors", "DistributedIndex.add")
    except (TypeError, ValueError) as e:
        info["error"] = ("vectors", str(e).partition(": ")[2].replace("{", "{{").replace("}", "}}"))
        return info
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        r = int(np.flatnonzero(~finite)[0])
        c = int(np.flatnonzero(~np.isfinite(x[r]))[0])
        info["error"] = ("vectors", f"vectors must be finite; found {x[r, c]} at row {{row}}, column {c}", r)
    elif metric == "cosine" and x.shape[0] and not (x != 0).any(axis=1).all():
        r = int(np.flatnonzero(~(x != 0).any(axis=1))[0])
        info["error"] = ("vectors", "vectors row {row} has zero norm; cosine similarity is undefined for it", r)
    if wants_center:
        info["sum"] = _partials.column_sums(x)
    return info


@in_worker
def _split(x: Any, ids: Any, first_id: int, n_shards: int) -> list:
    """A block's rows grouped by shard: one (vectors, ids) pair per shard, possibly empty."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if ids is None:  # automatic ids: global row numbers after the index's next id
        ids = np.arange(first_id, first_id + x.shape[0], dtype=np.int64)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    order, bounds = _by_shard(ids, n_shards)
    x, ids = x[order], ids[order]
    return [(x[bounds[s]:bounds[s + 1]], ids[bounds[s]:bounds[s + 1]]) for s in range(n_shards)]


@in_worker
def _check_pieces(shard: _r.Index, *pieces) -> str | None:
    """The error of the first id a shard would reject (duplicate, or already present), before
    anything is added; None if it takes them all."""
    ids = np.concatenate([p[1] for p in pieces] + [np.empty(0, np.int64)])
    try:
        _partials.check_new_ids(ids, shard, func="DistributedIndex.add")
    except ValueError as e:
        return str(e).partition(": ")[2]
    return None


@in_worker
def _add_pieces(shard: _r.Index, *pieces) -> _r.Index:
    for x, ids in pieces:
        if ids.size:
            shard.add(x, ids)
    return shard


@in_worker
def _remove(shard: _r.Index, ids: np.ndarray) -> _r.Index:
    if ids.size:
        shard.remove(ids)
    return shard


@in_worker
def _search_shard(shard: _r.Index, queries: Any, k: int, nprobe: int | None, efSearch: int | None,  # noqa: N803
                  allow: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    try:
        return shard.search(np.asarray(queries), k, allow=allow, nprobe=nprobe, efSearch=efSearch)
    except ValueError as e:  # the shard's error, told as the public method's (rows count within the block)
        raise ValueError(f"DistributedIndex.search: {str(e).partition(': ')[2]} (in a block of queries)") from None


@in_worker
def _merge(parts: list, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    return _r.merge_topk(parts, k, metric)


@in_worker
def _new_shard(template: _r.Index, l2_center: np.ndarray | None) -> _r.Index:
    return _partials.new_shard(template, l2_center)


@in_worker
def _load_shard(path: str) -> _r.Index:
    return _r.Index.load(path)


def _save_shard(shard: _r.Index, path: str) -> None:
    shard.save(path)


def _shard_file(directory: str, s: int) -> str:
    return os.path.join(directory, f"shard-{s:05d}.mlsd")


def _client(client: Any, func: str):
    distributed = require("distributed")
    if client is None:
        try:
            return distributed.default_client()
        except ValueError:
            raise ValueError(f"{func}: no Dask client (client=None); create one first (distributed.Client("
                             "'tcp://scheduler:8786'), or a LocalCluster) or pass client=") from None
    return client


def _is_dask_array(x: Any, ndim: int, kinds: str) -> bool:
    return is_dask_collection(x) and isinstance(x, require("dask.array").Array) and x.ndim == ndim \
        and x.dtype.kind in kinds


def _dask_array(ndim: int, kinds: str, what: str, *, only: bool = True) -> Check:
    """The constraint of a Dask array argument; ``only``: NumPy is not accepted there, and the
    message says how to wrap it."""
    hint = (" (wrap in-memory data with dask.array.from_array(x, chunks=...), or use mlsd.retrieval)"
            if only else "")
    return Check(lambda x: _is_dask_array(x, ndim, kinds),
                 f"a {ndim}-D Dask array of {'integers' if kinds == 'iu' else 'real values'}{what}{hint}")


def _is_client(c: Any) -> bool:
    return isinstance(c, require("distributed").Client)


_CLIENT = [Check(_is_client, "a distributed.Client"), None]
_DASK_VECTORS = _dask_array(2, "biuf", " of shape (n, dim)")
_DASK_IDS = _dask_array(1, "iu", " of shape (n,)")
_PATH = [str, os.PathLike]


class DistributedIndex:
    """Items split by a hash of their id across ``n_shards`` :class:`mlsd.retrieval.Index` shards,
    each held in the memory of one Dask worker; searched by scatter-gather.

    The Dask counterpart of :class:`mlsd.retrieval.ShardedIndex`, with the same placement rule
    (``splitmix64(id) % n_shards``), shared trained state and merge (:func:`mlsd.retrieval.merge_topk`): with
    exact shards (``spec="Flat"``) results equal :func:`mlsd.retrieval.knn` over all items, scores
    included (Flat l2 shards share one centre, the mean of the first add, as ShardedIndex's do).

    Parameters
    ----------
    dim, metric, spec
        As for :class:`mlsd.retrieval.Index`.
    n_shards : int, optional
        Default: the number of workers.  Shard ``s`` lives on the ``s % n_workers``-th worker (in
        the order of their addresses) as found when the index is created; it stays there.
    client : distributed.Client, optional
        Default: the current default client.

    Notes
    -----
    What moves over the network:

    - :meth:`train`: the sample goes to the client (if it is a Dask array), which trains; the
      trained state (centroids, codebooks; no vectors) is scattered once and read by every shard.
    - :meth:`add`: each block of ``vectors`` is split by shard on the worker that computed it; each
      piece moves once, to its shard's worker.  The client receives a few numbers per block (row
      count, largest id, column sums for l2, the first invalid row if any).  The rows never pass
      through the client.
    - :meth:`search`: each batch of queries is scattered once from the client (a Dask array of
      queries is not: its blocks go from the workers holding them); workers holding shards fetch
      it.  Each shard returns its top-k (``n_queries x k`` scores and ids, 12 bytes per entry) to a
      merge task on a worker (fan-in 8, a tree above 8 shards); only the merged top-k goes to the
      client.  An ``allow`` filter is split by shard on the client; each shard gets only its ids,
      and shards with none are not searched.
    - :meth:`remove`: the ids are split by shard on the client and sent to their shards.
    - Shards themselves never move, except when :meth:`save` writes them (each worker writes its
      own shards' files) and :meth:`load` reads them.

    Adding checks every block (finite values, non-zero rows for cosine, no -1 id, no duplicate or
    present id) before any shard changes, so a rejected ``add`` leaves the index as it was.

    Examples
    --------
    With a client connected (``distributed.Client("tcp://scheduler:8786")``)::

        from mlsd.dask import DistributedIndex
        index = DistributedIndex(128, metric="cosine")        # one shard per worker
        index.add(embeddings, ids=item_ids)                   # Dask arrays (n, 128) and (n,)
        scores, ids = index.search(queries, k=100)            # NumPy in, NumPy out
        index.save("/shared/ads-index")                       # a directory every worker can reach
    """

    @validate_params(dim=_partials.DIM, metric=_partials.METRIC, spec=_partials.SPEC,
                     n_shards=_partials.N_SHARDS + [None], client=_CLIENT)
    def __init__(self, dim: int, metric: str = "ip", spec: str = "Flat", n_shards: int | None = None, *,
                 client: Any = None) -> None:
        func = "DistributedIndex"
        self._client = _client(client, func)
        workers = sorted(self._client.nthreads())
        if not workers:
            raise ValueError(f"{func}: the Dask cluster has no workers; start some (or wait for them) first")
        n_shards = len(workers) if n_shards is None else n_shards
        self._workers = [workers[s % len(workers)] for s in range(n_shards)]
        # Holds the trained state on the client; shards are created from it on the first add.
        self._template = _r.Index(dim, metric, spec)
        self._shards: list | None = None
        self._counts = np.zeros(n_shards, dtype=np.int64)
        self._next_id = 0

    # -- properties ---------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self._template.dim

    @property
    def metric(self) -> str:
        return self._template.metric

    @property
    def spec(self) -> str:
        return self._template.spec

    @property
    def n_shards(self) -> int:
        return len(self._workers)

    @property
    def is_trained(self) -> bool:
        return self._template.is_trained

    @property
    def client(self):
        return self._client

    @property
    def workers(self) -> list[str]:
        """The address of the worker holding each shard."""
        return list(self._workers)

    @property
    def shards(self) -> list:
        """The distributed futures of the shards (empty before the first add); ``shards[s]`` lives
        on ``workers[s]``.  ``future.result()`` brings a shard (an Index) to the client."""
        return list(self._shards or [])

    @property
    def shard_sizes(self) -> np.ndarray:
        """Items per shard."""
        return self._counts.copy()

    @property
    def ids(self) -> np.ndarray:
        """Every id in the index, shard by shard (moves all ids to the client)."""
        if not self._shards:
            return np.empty(0, dtype=np.int64)
        parts = self._client.gather([self._submit(s, operator.attrgetter("ids"), sh)
                                     for s, sh in enumerate(self._shards)])
        return np.concatenate(parts)

    def __len__(self) -> int:
        return int(self._counts.sum())

    def __repr__(self) -> str:
        return (f"DistributedIndex(dim={self.dim}, metric={self.metric!r}, spec={self.spec!r}, "
                f"n_shards={self.n_shards}, n_items={len(self)})")

    # -- plumbing -----------------------------------------------------------------------------------
    def _submit(self, s: int, fn, *args):
        """Runs fn on the worker holding shard s, and nowhere else."""
        return self._client.submit(fn, *args, workers=[self._workers[s]], allow_other_workers=False, pure=False)

    def _replace_shards(self, new: list) -> None:
        """Makes new shard futures current once they all exist (re-raising a task's error)."""
        counts = self._client.gather([self._submit(s, len, sh) for s, sh in enumerate(new)])
        self._shards = new
        self._counts = np.asarray(counts, dtype=np.int64)

    def _create_shards(self, l2_center: np.ndarray | None = None) -> None:
        """Empty shards with the template's trained state (and the centre of Flat l2 shards)."""
        state = self._client.scatter(self._template, hash=False)
        self._replace_shards([self._submit(s, _new_shard, state, l2_center) for s in range(self.n_shards)])

    # -- building -----------------------------------------------------------------------------------
    @validate_params(sample=[Check(is_dask_collection, "a Dask array")] + _partials.VECTORS)
    def train(self, sample: Any) -> "DistributedIndex":
        """Trains the shared state (IVF centroids, PQ codebooks) on the client; a no-op for Flat/HNSW.

        ``sample`` is a NumPy array or a Dask array (computed to the client).  Must come before
        :meth:`add`; every shard gets the same trained state, as in ShardedIndex.
        """
        func = "DistributedIndex.train"
        if len(self) or self._next_id:
            raise ValueError(f"{func}: train must be called before any vector is added")
        self._shards = None  # empty shards (left by a rejected first add) hold the old state
        if is_dask_collection(sample):
            sample = self._client.compute(sample, sync=True)
        x = _partials.as_vectors(sample, "sample", func, self.dim)
        if x.shape[0] == 0:
            raise ValueError(f"{func}: sample is empty; training needs at least one vector")
        _partials.train(self._template, x, func)
        return self

    @validate_params(vectors=[_DASK_VECTORS], ids=[_DASK_IDS, None])
    def add(self, vectors: Any, ids: Any = None) -> "DistributedIndex":
        """Adds the rows of a Dask array, each to the shard its id hashes to.

        Parameters
        ----------
        vectors : Dask array of shape (n, dim)
            Any real dtype (converted to float32 on the workers); any row chunking, empty blocks
            included.  Blocks split along columns are joined first (``rechunk({1: -1})``).
        ids : Dask array of int of shape (n,), optional
            Any int64 values except -1, unique (also against the ids already in the index).
            Default: consecutive ids after the largest id so far, i.e. the global row numbers
            0, 1, ... for a new index (the same ids ``Index.add`` and ``ShardedIndex.add`` give).
        """
        func = "DistributedIndex.add"
        if not math.isnan(vectors.shape[1]) and vectors.shape[1] != self.dim:
            raise ValueError(f"{func}: vectors must have {self.dim} columns (the index dimension); "
                             f"got shape {vectors.shape}")
        if not self._template.is_trained:
            raise ValueError(f"{func}: index with spec '{self.spec}' must be trained before vectors are added: "
                             "call train() first")
        vectors = vectors.rechunk({1: -1}) if vectors.numblocks[1] > 1 else vectors
        id_blocks: list = [None] * vectors.numblocks[0]
        if ids is not None:
            n, m = vectors.shape[0], ids.shape[0]
            if not (math.isnan(n) or math.isnan(m)):
                if n != m:
                    raise ValueError(f"{func}: ids has {m} entries but vectors has {n} rows")
                if ids.chunks[0] != vectors.chunks[0] and not any(map(math.isnan, vectors.chunks[0])):
                    ids = ids.rechunk((vectors.chunks[0],))
            if ids.numblocks[0] != vectors.numblocks[0]:
                raise ValueError(f"{func}: ids has {ids.numblocks[0]} blocks but vectors has {vectors.numblocks[0]} "
                                 "and their lengths are unknown; give them the same row chunks")
            id_blocks = self._client.compute(ids.to_delayed().ravel().tolist())
        x_blocks = self._client.compute(vectors.to_delayed().ravel().tolist())

        # 1. A few numbers per block, to the client: row counts (global row numbers), ids, errors.
        wants_center = _partials.wants_l2_center(self._template) and len(self) == 0 and self._next_id == 0
        infos = self._client.gather([self._client.submit(_inspect, xb, ib, self.dim, self.metric, wants_center,
                                                         pure=False)
                                     for xb, ib in zip(x_blocks, id_blocks)])
        offsets = np.concatenate([[0], np.cumsum([info["n"] for info in infos])]).astype(np.int64)
        for info, offset in zip(infos, offsets):
            if info["error"] is not None:
                row = offset + (info["error"][2] if len(info["error"]) > 2 else 0)
                raise ValueError(f"{func}: " + info["error"][1].format(row=row))
        n = int(offsets[-1])
        if n == 0:
            return self
        if ids is None and self._next_id > np.iinfo(np.int64).max - n:
            raise ValueError(f"{func}: automatic ids would overflow int64; pass ids")
        # One centre for every Flat l2 shard, the mean of this first add, as ShardedIndex and knn take it.
        center = _partials.l2_center([info["sum"] for info in infos], n) if wants_center else None

        # 2. Split each block by shard where it is; each piece then moves once, to its shard.
        splits = [self._client.submit(_split, xb, ib, self._next_id + int(off), self.n_shards, pure=False)
                  for xb, ib, off in zip(x_blocks, id_blocks, offsets)]
        pieces = [[self._client.submit(operator.getitem, sp, s) for sp in splits] for s in range(self.n_shards)]
        if self._shards is None or center is not None:  # shards still empty: made anew with the centre
            self._create_shards(center)
        # 3. Every shard checks its ids before any shard changes.
        problems = self._client.gather([self._submit(s, _check_pieces, sh, *pieces[s])
                                        for s, sh in enumerate(self._shards)])
        for problem in problems:
            if problem is not None:
                raise ValueError(f"{func}: {problem}")
        # 4. Add.
        self._replace_shards([self._submit(s, _add_pieces, sh, *pieces[s])
                              for s, sh in enumerate(self._shards)])
        max_id = (self._next_id + n - 1 if ids is None
                  else max(info["max_id"] for info in infos if info["max_id"] is not None))
        if max_id >= self._next_id:
            self._next_id = max_id if max_id == np.iinfo(np.int64).max else max_id + 1
        return self

    @validate_params(ids=[_dask_array(1, "iu", "", only=False)] + _partials.IDS)
    def remove(self, ids: Any) -> int:
        """Removes items by id (a NumPy or Dask array); returns how many were removed.

        Raises NotImplementedError for specs that cannot remove items (HNSW, PQ).
        """
        func = "DistributedIndex.remove"
        if not self._template.supports_remove:
            raise NotImplementedError(f"{func}: spec {self.spec!r} does not support removing items "
                                      "(Flat and IVF indexes do); rebuild the index without them")
        if is_dask_collection(ids):
            ids = self._client.compute(ids, sync=True)
        ids = _partials.as_ids(ids, "ids", func)
        if not self._shards:
            return 0
        before = len(self)
        per_shard = self._client.scatter(self._split_ids(ids), hash=False)
        self._replace_shards([self._submit(s, _remove, sh, per_shard[s]) for s, sh in enumerate(self._shards)])
        return before - len(self)

    def _split_ids(self, ids: np.ndarray) -> list[np.ndarray]:
        order, bounds = _by_shard(ids, self.n_shards)
        ids = ids[order]
        return [ids[bounds[s]:bounds[s + 1]] for s in range(self.n_shards)]

    # -- search -------------------------------------------------------------------------------------
    @validate_params(queries=[_dask_array(2, "biuf", " of shape (n_queries, dim)", only=False)] + _partials.VECTORS,
                     k=_partials.K, allow=_partials.ID_ALLOW, nprobe=_partials.SEARCH_PARAM,
                     efSearch=_partials.SEARCH_PARAM, batch_size=[Interval(Integral, 1, None)])
    def search(self, queries: Any, k: int, *, allow: Any = None, nprobe: int | None = None,
               efSearch: int | None = None, batch_size: int = 4096) -> SearchResult:  # noqa: N803
        """As :meth:`mlsd.retrieval.Index.search`: the k best items for each query, best first,
        padded with id -1 when fewer than k qualify.

        Parameters
        ----------
        queries : array of shape (n_queries, dim), NumPy or Dask
            NumPy queries are sent in batches of ``batch_size`` rows; a Dask array is searched block
            by block, each block going from the worker that holds it straight to the shards.
        k : int >= 1
        allow : array of int ids, optional
            Restricts results to these ids (a bool mask has no meaning across shards: TypeError).
        nprobe, efSearch : int, optional
            Per-call parameters of IVF / HNSW shards.
        batch_size : int, default 4096
            Queries per scatter-gather round for NumPy queries; the batches are all in flight at
            once.  Dask queries keep their own row blocks.

        Returns
        -------
        SearchResult
            ``(scores, ids)``: float32 scores and int64 ids, both of shape (n_queries, k).
        """
        func = "DistributedIndex.search"
        dask_queries = is_dask_collection(queries)
        if dask_queries:
            if not math.isnan(queries.shape[1]) and queries.shape[1] != self.dim:
                raise ValueError(f"{func}: queries must have {self.dim} columns (the index dimension); "
                                 f"got shape {queries.shape}")
        else:
            queries = _partials.as_vectors(queries, "queries", func, self.dim)
            finite = np.isfinite(queries).all(axis=1)
            if not finite.all():  # on the client, so the row is the caller's (shards check their blocks too)
                r = int(np.flatnonzero(~finite)[0])
                c = int(np.flatnonzero(~np.isfinite(queries[r]))[0])
                raise ValueError(f"{func}: queries must be finite; found {queries[r, c]} at row {r}, column {c}")
        allow_ids = None if allow is None else _partials.as_ids(allow, "allow", func)
        live = [s for s in range(self.n_shards) if self._counts[s] > 0]
        if not live:
            raise ValueError(f"{func}: the index is empty: add() vectors before searching")

        if dask_queries:
            queries = queries.rechunk({1: -1}) if queries.numblocks[1] > 1 else queries
            batches = self._client.compute(queries.to_delayed().ravel().tolist())
        else:
            starts = range(0, max(queries.shape[0], 1), batch_size)
            batches = self._client.scatter([queries[b:b + batch_size] for b in starts], hash=False)
        allow_parts: list = [None] * self.n_shards
        if allow_ids is not None:
            parts = self._split_ids(allow_ids)
            live = [s for s in live if parts[s].size] or live[:1]  # one shard pads the rows if none qualify
            for s, future in zip(live, self._client.scatter([parts[s] for s in live], hash=False)):
                allow_parts[s] = future
        results = []
        for batch in batches:
            level = [self._submit(s, _search_shard, self._shards[s], batch, k, nprobe, efSearch, allow_parts[s])
                     for s in live]
            while len(level) > 1:
                level = [self._client.submit(_merge, level[i:i + _MERGE_FAN_IN], k, self.metric, pure=False)
                         for i in range(0, len(level), _MERGE_FAN_IN)]
            results.append(level[0])
        results = self._client.gather(results)
        if len(results) == 1:
            return results[0]  # a SearchResult, from merge_topk or the one shard's search
        return SearchResult(np.concatenate([r[0] for r in results]), np.concatenate([r[1] for r in results]))

    # -- files --------------------------------------------------------------------------------------
    @validate_params(directory=_PATH)
    def save(self, directory: str | os.PathLike) -> None:
        """Writes the index to a directory that the client and every worker can reach (a shared
        filesystem): ``index.json`` and the trained state ``template.mlsd`` from the client, one
        ``shard-NNNNN.mlsd`` file (:meth:`mlsd.retrieval.Index.save` format) per shard, each written
        by the worker holding it.
        """
        directory = os.fspath(directory)
        os.makedirs(directory, exist_ok=True)
        self._template.save(os.path.join(directory, "template.mlsd"))
        if self._shards:
            self._client.gather([self._submit(s, _save_shard, sh, _shard_file(directory, s))
                                 for s, sh in enumerate(self._shards)])
        meta = {"format": _FORMAT, "version": _FORMAT_VERSION, "n_shards": self.n_shards,
                "next_id": int(self._next_id), "has_shards": self._shards is not None}
        with open(os.path.join(directory, "index.json"), "w") as f:
            json.dump(meta, f)

    @classmethod
    @validate_params(directory=_PATH, client=_CLIENT)
    def load(cls, directory: str | os.PathLike, *, client: Any = None) -> "DistributedIndex":
        """Reads an index written by :meth:`save`; shard ``s`` goes to the ``s % n_workers``-th worker
        of ``client``'s cluster (which reads its file)."""
        func = "DistributedIndex.load"
        directory = os.fspath(directory)
        try:
            with open(os.path.join(directory, "index.json")) as f:
                meta = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{func}: {directory!r} is not a saved DistributedIndex ({e})") from None
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ValueError(f"{func}: {directory!r} is not a saved DistributedIndex")
        if meta.get("version") != _FORMAT_VERSION:
            raise ValueError(f"{func}: unsupported format version {meta.get('version')!r}")
        template = _r.Index.load(os.path.join(directory, "template.mlsd"))
        obj = cls(template.dim, template.metric, template.spec, int(meta["n_shards"]), client=client)
        obj._template = template
        obj._next_id = int(meta["next_id"])
        if meta["has_shards"]:
            obj._replace_shards([obj._submit(s, _load_shard, _shard_file(directory, s)) for s in range(obj.n_shards)])
        return obj
