"""mlsd.metrics over Dask collections: the single-machine numbers from partitioned data.

Threshold metrics (ROC AUC, average precision, the binned AUC) reduce per-partition
:class:`mlsd.metrics.ScoreTable` states; log loss and normalized entropy reduce
:class:`mlsd.metrics.LogLossSums`; group AUC and the per-query ranking metrics shuffle rows so that
each group (query) sits in one partition, then run the single-machine kernel per partition.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import metrics as M
from .._validation import check_bool, check_option
from ._common import aligned_partitions, compute, in_worker, require, tree_reduce

__all__ = [
    "score_table",
    "roc_auc_score",
    "average_precision_score",
    "binned_roc_auc_score",
    "log_loss",
    "normalized_entropy",
    "group_auc",
    "dcg_at_k",
    "ndcg_at_k",
    "map_at_k",
    "mrr",
    "precision_at_k",
    "recall_at_k",
    "hit_rate_at_k",
]

_NETWORK_TABLE = """
    Over the network: one :class:`~mlsd.metrics.ScoreTable` per partition, merged in a tree of
    fan-in ``split_every`` (24 bytes per distinct score in a partition; with ``n_bins``, at most
    24 * n_bins bytes); the metric is computed on the worker holding the merged table.  Rows never
    leave their workers.
"""


def _empty(func: str):
    raise ValueError(f"{func}: y_true is empty (or every sample_weight is zero); at least one sample is required")


# ---- threshold metrics: score tables ----------------------------------------------------------------


def _partition_table(y, s, w, n_bins, rng):
    return M.ScoreTable.from_arrays(np.asarray(y), np.asarray(s), sample_weight=None if w is None else np.asarray(w),
                                    n_bins=n_bins, range=rng)


def _merge_tables(tables):
    return tables[0].merge(*tables[1:])


def _merged_table(func, y_true, y_score, sample_weight, n_bins, rng, split_every):
    """The Delayed merged ScoreTable (nothing computed yet)."""
    if n_bins is not None:  # validate on the client, before any task runs
        M.ScoreTable.from_arrays(np.zeros(0), np.zeros(0), n_bins=n_bins, range=rng)
    parts = aligned_partitions(func, y_true=y_true, y_score=y_score, sample_weight=sample_weight)
    delayed = require("dask").delayed
    states = [delayed(in_worker(_partition_table), pure=True)(y, s, w, n_bins, rng) for y, s, w in parts]
    return tree_reduce(states, _merge_tables, split_every, "mlsd-score-table")


def _finish_table(table, func, metric, kwargs):
    """Runs where the merged table is (a worker), so only the metric travels to the client."""
    if len(table) == 0:
        _empty(func)
    return table if metric is None else getattr(table, metric)(**kwargs)


def _table_metric(func, metric, y_true, y_score, sample_weight, n_bins, rng, split_every, client, **kwargs):
    merged = _merged_table(func, y_true, y_score, sample_weight, n_bins, rng, split_every)
    finish = require("dask").delayed(in_worker(_finish_table), pure=True)
    return compute(finish(merged, func, metric, kwargs), client)


def score_table(y_true: Any, y_score: Any, *, sample_weight: Any = None, n_bins: int | None = None,
                range: tuple[float, float] = (0.0, 1.0), split_every: int = 8,  # noqa: A002
                client: Any = None) -> M.ScoreTable:
    """The merged :class:`mlsd.metrics.ScoreTable` of Dask columns: exactly the table of the
    concatenated data, from which every threshold metric and curve follows.  The merged table
    itself comes to the client (the metric functions below compute on a worker instead).

    Parameters
    ----------
    y_true, y_score, sample_weight : Dask arrays (1-D) or Dask Series of one DataFrame
        Dask arrays are rechunked to ``y_true``'s chunks if they differ.
    n_bins, range : see :meth:`mlsd.metrics.ScoreTable.from_arrays`.
    split_every : int >= 2
        Fan-in of the merge tree.
    client : distributed.Client, optional
        Defaults to Dask's current scheduler (the default client when one exists).
    """
    return _table_metric("score_table", None, y_true, y_score, sample_weight, n_bins, range, split_every, client)


def roc_auc_score(y_true: Any, y_score: Any, *, sample_weight: Any = None, max_fpr: float | None = None,
                  split_every: int = 8, client: Any = None) -> float:
    """:func:`mlsd.metrics.roc_auc_score` over Dask columns, exactly (merged score tables).

    Equal to the single-machine function on the concatenated data: bit for bit without
    ``sample_weight``, to rounding (~1e-15) with it.  Memory on the merging worker is bounded by
    the number of distinct scores; when that is too large, use :func:`binned_roc_auc_score`.
    """
    if max_fpr is not None:
        M.check_real(max_fpr, "max_fpr", "roc_auc_score", low=0.0, high=1.0, closed="right")
    return _table_metric("roc_auc_score", "roc_auc_score", y_true, y_score, sample_weight, None, None, split_every,
                         client, max_fpr=max_fpr)


def average_precision_score(y_true: Any, y_score: Any, *, sample_weight: Any = None, split_every: int = 8,
                            client: Any = None) -> float:
    """:func:`mlsd.metrics.average_precision_score` over Dask columns, exactly (merged score tables)."""
    return _table_metric("average_precision_score", "average_precision_score", y_true, y_score, sample_weight, None,
                         None, split_every, client)


def binned_roc_auc_score(y_true: Any, y_score: Any, *, sample_weight: Any = None, n_bins: int = 2**16,
                         range: tuple[float, float] = (0.0, 1.0), split_every: int = 8,  # noqa: A002
                         client: Any = None) -> M.ApproximateAUC:
    """:func:`mlsd.metrics.binned_roc_auc_score` over Dask columns: ROC AUC from ``n_bins``
    equal-width score bins, with the bound ``error_bound`` on its distance from the exact AUC.

    Memory and network use are O(n_bins) per partition whatever the data size; the result equals
    the single-machine binned AUC (and is exactly the AUC of the binned scores).
    """
    func = "binned_roc_auc_score"
    M.check_int(n_bins, "n_bins", func, min_value=1, max_value=2**40)
    table = _table_metric(func, None, y_true, y_score, sample_weight, n_bins, range, split_every, client)
    return M._approximate_auc(table)


for _f in (score_table, roc_auc_score, average_precision_score, binned_roc_auc_score):
    _f.__doc__ += _NETWORK_TABLE


# ---- log loss and NE: sums -------------------------------------------------------------------------


def _partition_loss(y, p, w, eps):
    return M.LogLossSums.from_arrays(np.asarray(y), np.asarray(p), sample_weight=None if w is None else np.asarray(w),
                                     eps=eps)


def _loss_sums(func, y_true, y_prob, sample_weight, split_every, client) -> M.LogLossSums:
    parts = aligned_partitions(func, y_true=y_true, y_prob=y_prob, sample_weight=sample_weight)
    eps = M._clip_eps(np.asarray(y_prob._meta))  # the single-machine rule, from the partitions' dtype
    delayed = require("dask").delayed
    states = [delayed(in_worker(_partition_loss), pure=True)(y, p, w, eps) for y, p, w in parts]
    return compute(tree_reduce(states, M.LogLossSums.merge, split_every, "mlsd-log-loss"), client)


def log_loss(y_true: Any, y_prob: Any, *, normalize: bool = True, sample_weight: Any = None, split_every: int = 8,
             client: Any = None) -> float:
    """:func:`mlsd.metrics.log_loss` over Dask columns.

    Per-partition sums (compensated, in C++) are added with correctly rounded sums, so the result
    equals the single-machine one to ~1e-15 relative.  Over the network: four floats per partition.
    """
    sums = _loss_sums("log_loss", y_true, y_prob, sample_weight, split_every, client)
    if sums.weight == 0:
        _empty("log_loss")
    return sums.log_loss(normalize=normalize)


def normalized_entropy(y_true: Any, y_prob: Any, *, sample_weight: Any = None, split_every: int = 8,
                       client: Any = None) -> float:
    """:func:`mlsd.metrics.normalized_entropy` over Dask columns (the same sums as :func:`log_loss`;
    four floats per partition over the network)."""
    sums = _loss_sums("normalized_entropy", y_true, y_prob, sample_weight, split_every, client)
    if sums.weight == 0:
        _empty("normalized_entropy")
    return sums.normalized_entropy()


# ---- group AUC and ranking metrics: shuffle by group ------------------------------------------------

_POSITION_BITS = 40  # row position within a partition; the partition number goes above it


def _frame_part(number, cols, names):
    """One partition as a pandas DataFrame; strings are kept as object columns in every partition
    and in the meta, so that the shuffle hashes a key the same way wherever it is."""
    import pandas as pd

    arrays = [np.asarray(c) for c in cols]
    data = {name: pd.Series(a, dtype=object if a.dtype.kind in "OUS" else a.dtype, copy=False)
            for name, a in zip(names, arrays)}
    n = arrays[0].shape[0]
    data["_pos"] = pd.Series((np.int64(number) << _POSITION_BITS) + np.arange(n, dtype=np.int64))
    return pd.DataFrame(data)


def _grouped_frame(func: str, key_name: str, shuffle: bool, **columns):
    """A Dask DataFrame of the columns plus a global row position, shuffled by the key column so
    that every key's rows share one partition (original order kept through the position)."""
    dd = require("dask.dataframe")
    delayed = require("dask").delayed
    parts = aligned_partitions(func, **columns)
    names = [k for k in columns if columns[k] is not None]
    meta = _frame_part(0, [np.asarray(columns[k]._meta).reshape(0) for k in names], names)
    frames = [delayed(_frame_part, pure=True)(i, [c for c in cols if c is not None], names)
              for i, cols in enumerate(parts)]
    ddf = dd.from_delayed(frames, meta=meta, verify_meta=False)
    return ddf.shuffle(on=key_name) if shuffle else ddf


def _check_unique_keys(keys: np.ndarray, func: str, what: str) -> None:
    if keys.size and np.unique(keys).size != keys.size:
        raise ValueError(f"{func}: some {what}s span partitions; pass shuffle=True (the default) to move each "
                         f"{what}'s rows to one partition first")


def _gather_sorted(results, func: str, what: str):
    keys = np.concatenate([r[0] for r in results]) if results else np.empty(0)
    _check_unique_keys(keys, func, what)
    order = np.argsort(keys, kind="stable")
    return keys[order], [np.concatenate([r[j] for r in results])[order] for j in range(1, len(results[0]))]


def _group_part(df, func, weighted):
    if len(df) == 0:
        return np.empty(0, dtype=df["groups"].dtype), np.empty(0), np.empty(0)
    df = df.sort_values("_pos", kind="stable")
    g = df["groups"].to_numpy()
    y, s, w = M._binary_inputs(func, df["y_true"].to_numpy(), df["y_score"].to_numpy(),
                               df["sample_weight"].to_numpy() if weighted else None)
    codes, labels_of = M._group_codes(g, func)
    keys, auc, weight = M.call_kernel(func, M._k.group_auc, codes, y, s, w)
    return labels_of(keys), auc, weight


def group_auc(y_true: Any, y_score: Any, groups: Any, *, sample_weight: Any = None, weight: str = "impressions",
              shuffle: bool = True, client: Any = None) -> M.GroupAUCResult:
    """:func:`mlsd.metrics.group_auc` over Dask columns: the same :class:`~mlsd.metrics.GroupAUCResult`.

    Each group's AUC needs all of its rows together, so by default the rows are shuffled by group
    (Dask's shuffle: the rows of ``groups``, ``y_true``, ``y_score`` and ``sample_weight`` cross
    the network once).  Each partition then computes its groups' AUCs with the single-machine
    kernel and only the per-group table (group, AUC, weight) comes back to the client, where the
    average is formed exactly as on one machine.  If the data are already partitioned by group
    (every group within one partition, e.g. written partitioned by user), pass ``shuffle=False``:
    nothing but the per-group table moves, and a group found in two partitions raises ValueError.
    """
    func = "group_auc"
    weight = check_option(weight, "weight", func, ("impressions", "uniform"))
    shuffle = check_bool(shuffle, "shuffle", func)
    ddf = _grouped_frame(func, "groups", shuffle, groups=groups, y_true=y_true, y_score=y_score,
                         sample_weight=sample_weight)
    delayed = require("dask").delayed
    task = delayed(in_worker(_group_part), pure=True)
    results = compute([task(p, func, sample_weight is not None) for p in ddf.to_delayed()], client)
    if sum(r[0].size for r in results) == 0:
        _empty(func)
    labels, (auc, group_weight) = _gather_sorted(results, func, "group")
    return M._group_auc_result(labels, auc, group_weight, weight, func)


def _query_part(df, metric, func, k, gain, ignore_ties, action):
    if len(df) == 0:
        return np.empty(0, dtype=df["query"].dtype), np.empty(0)
    df = df.sort_values(["query", "_pos"], kind="stable")
    q = df["query"].to_numpy()
    starts = np.flatnonzero(np.concatenate([[True], q[1:] != q[:-1]]))
    ip = np.append(starts, q.shape[0]).astype(np.int64)
    rel = M.as_float_array(df["y_true"].to_numpy(), "y_true", func)
    score = M.as_float_array(df["y_score"].to_numpy(), "y_score", func)
    return q[starts], M._ranking_values(metric, func, ip, rel, score, k, gain, ignore_ties, action)


def _ranking(metric, func, y_true, y_score, query, k, *, gain="linear", ignore_ties=True, empty_target_action="neg",
             shuffle=True, client=None, allow_k_none=False) -> M.RankingResult:
    k, gain, action = M._ranking_options(func, k, gain, empty_target_action, allow_k_none)
    shuffle = check_bool(shuffle, "shuffle", func)
    ddf = _grouped_frame(func, "query", shuffle, query=query, y_true=y_true, y_score=y_score)
    delayed = require("dask").delayed
    task = delayed(in_worker(_query_part), pure=True)
    results = compute([task(p, metric, func, k, gain, ignore_ties, action) for p in ddf.to_delayed()], client)
    queries, (per_query,) = _gather_sorted(results, func, "query")
    if queries.size == 0:
        raise ValueError(f"{func}: no query given; the data are empty")
    return M._ranking_result(per_query, None, func, queries=queries)


_RANKING_NOTE = """
    Dask form: ``y_true`` (relevance), ``y_score`` and ``query`` are 1-D Dask arrays or Dask
    Series of one DataFrame, one row per (query, document).  A query's documents are its rows in
    their original order (ties in ``y_score`` are broken by that order, as in the single-machine
    function's lists).  Rows are shuffled by query (the three columns cross the network once;
    ``shuffle=False`` skips that when every query already sits in one partition, and raises
    ValueError if one does not), each partition runs the single-machine kernel on its queries, and
    the per-query values come back to the client.  The result equals the single-machine
    :class:`~mlsd.metrics.RankingResult` for the same lists, with queries in sorted order
    (``result.queries``).  Query weights are not supported here.
"""


def dcg_at_k(y_true, y_score, query, k: int | None = 10, *, gain: str = "linear", ignore_ties: bool = False,
             shuffle: bool = True, client: Any = None) -> M.RankingResult:
    """:func:`mlsd.metrics.dcg_at_k` over Dask columns."""
    return _ranking("dcg", "dcg_at_k", y_true, y_score, query, k, gain=gain, ignore_ties=ignore_ties,
                    shuffle=shuffle, client=client, allow_k_none=True)


def ndcg_at_k(y_true, y_score, query, k: int | None = 10, *, gain: str = "linear", ignore_ties: bool = False,
              empty_target_action: str = "neg", shuffle: bool = True, client: Any = None) -> M.RankingResult:
    """:func:`mlsd.metrics.ndcg_at_k` over Dask columns."""
    return _ranking("ndcg", "ndcg_at_k", y_true, y_score, query, k, gain=gain, ignore_ties=ignore_ties,
                    empty_target_action=empty_target_action, shuffle=shuffle, client=client, allow_k_none=True)


def map_at_k(y_true, y_score, query, k: int | None = 10, *, empty_target_action: str = "neg", shuffle: bool = True,
             client: Any = None) -> M.RankingResult:
    """:func:`mlsd.metrics.map_at_k` over Dask columns."""
    return _ranking("average_precision", "map_at_k", y_true, y_score, query, k,
                    empty_target_action=empty_target_action, shuffle=shuffle, client=client, allow_k_none=True)


def mrr(y_true, y_score, query, k: int | None = None, *, empty_target_action: str = "neg", shuffle: bool = True,
        client: Any = None) -> M.RankingResult:
    """:func:`mlsd.metrics.mrr` over Dask columns."""
    return _ranking("reciprocal_rank", "mrr", y_true, y_score, query, k, empty_target_action=empty_target_action,
                    shuffle=shuffle, client=client, allow_k_none=True)


def precision_at_k(y_true, y_score, query, k: int = 10, *, empty_target_action: str = "neg", shuffle: bool = True,
                   client: Any = None) -> M.RankingResult:
    """:func:`mlsd.metrics.precision_at_k` over Dask columns."""
    return _ranking("precision", "precision_at_k", y_true, y_score, query, k, empty_target_action=empty_target_action,
                    shuffle=shuffle, client=client)


def recall_at_k(y_true, y_score, query, k: int = 10, *, empty_target_action: str = "neg", shuffle: bool = True,
                client: Any = None) -> M.RankingResult:
    """:func:`mlsd.metrics.recall_at_k` over Dask columns."""
    return _ranking("recall", "recall_at_k", y_true, y_score, query, k, empty_target_action=empty_target_action,
                    shuffle=shuffle, client=client)


def hit_rate_at_k(y_true, y_score, query, k: int = 10, *, empty_target_action: str = "neg", shuffle: bool = True,
                  client: Any = None) -> M.RankingResult:
    """:func:`mlsd.metrics.hit_rate_at_k` over Dask columns."""
    return _ranking("hit_rate", "hit_rate_at_k", y_true, y_score, query, k, empty_target_action=empty_target_action,
                    shuffle=shuffle, client=client)


for _f in (dcg_at_k, ndcg_at_k, map_at_k, mrr, precision_at_k, recall_at_k, hit_rate_at_k):
    _f.__doc__ += _RANKING_NOTE
del _f
