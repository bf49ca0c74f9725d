"""mlsd.metrics over Dask collections: the single-machine numbers from partitioned data.

The exact ROC AUC and average precision regroup the rows by score range and sort each range where
it lands; the binned AUC reduces per-partition :class:`mlsd.metrics.ScoreTable` states; log loss and
normalized entropy reduce :class:`mlsd.metrics.LogLossSums`; group AUC and the per-query ranking
metrics shuffle rows so that each group (query) sits in one partition, then run the single-machine
kernel per partition.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np

from .. import metrics as M
from .._params import Check, Interval, validate_params
from ..metrics import _partials as P
from ._common import aligned_partitions, compute, in_worker, is_dask_collection, require, tree_reduce

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




# Declarations shared by the functions below.  Dask collections are checked by class, never
# converted (np.asarray would compute them).
COLUMN = Check(is_dask_collection, "a 1-D Dask array or a Dask Series")
OPTIONAL_COLUMN = [COLUMN, None]
CLIENT = [None, Check(lambda c: callable(getattr(c, "compute", None)) and hasattr(c, "nthreads"),
                      "a distributed.Client")]
N_RANGES = [Interval(Integral, 1, 4096), None]
SPLIT_EVERY = [Interval(Integral, 2, None)]


def _empty(func: str):
    raise ValueError(f"{func}: y_true is empty (or every sample_weight is zero); at least one sample is required")


# ---- exact threshold metrics: rows regrouped by score range -----------------------------------------
#
# The exact ROC AUC / average precision is a walk over the distinct scores of all the data, highest
# first: a distributed sort.  Rather than merging sorted per-partition tables level by level (which
# moves and rewrites every distinct score at each level), the rows are regrouped once by score range
# (a sample sort): every row with a given score lands in the same range, each range is sorted where it
# lands, and its share of the metric follows from the class weights of the ranges above it
# (mlsd.metrics.threshold_range_sums).  The shares add up to the single-machine metric.


def _worker_threads(client: Any) -> dict:
    """{worker address: threads} of the distributed client in use; empty for a local scheduler."""
    try:
        if client is None:
            from distributed import default_client

            client = default_client()
        return dict(client.nthreads())
    except (ImportError, ValueError):  # no distributed client: a local Dask scheduler
        return {}


def _plan(threads: dict, n_ranges: int | None, func: str):
    """The ranges and who sorts them: ``groups`` lists, per worker, its block of consecutive ranges
    (about equal shares of the rows, weighted by the worker's threads).  One task per worker sorts
    its ranges one after the other, each with all the worker's threads: a task per range instead
    would cost partitions x ranges piece tasks, which on a small cluster outweigh the sorts."""
    import os

    total = sum(threads.values()) if threads else (os.cpu_count() or 1)
    if n_ranges is None:  # four per thread: sorts that fit the caches better, balanced over workers
        n_ranges = min(64, max(1, 4 * total))
    workers = sorted(threads) or [None]
    weight = np.array([threads.get(w, 1) for w in workers], dtype=np.float64) if threads else np.ones(1)
    ends = np.round(np.cumsum(weight) / weight.sum() * n_ranges).astype(int)
    starts = np.concatenate([[0], ends[:-1]])
    groups = [(w, int(a), int(b)) for w, a, b in zip(workers, starts, ends) if b > a]
    return n_ranges, groups


def _score_sample(s, size: int):
    """Every k-th finite score of a partition (about ``size`` of them), and the rows each stands for."""
    s = np.asarray(s)
    n = s.shape[0]
    sample = s[::max(1, n // size)].astype(np.float64)
    sample = sample[np.isfinite(sample)]
    return sample, (n / sample.size if sample.size else 0.0)


def _range_cuts(n_ranges: int, *samples) -> np.ndarray:
    """n_ranges - 1 cuts (ascending) at the row quantiles j / n_ranges of the pooled samples."""
    values = np.concatenate([v for v, _ in samples])
    if values.size == 0:
        return np.zeros(n_ranges - 1)
    weights = np.concatenate([np.full(v.size, w) for v, w in samples])
    order = np.argsort(values, kind="stable")
    values, rows = values[order], np.cumsum(weights[order])
    at = np.searchsorted(rows, rows[-1] * np.arange(1, n_ranges) / n_ranges, side="left")
    return values[np.minimum(at, values.size - 1)]


def _split_ranges(y, s, w, cuts, groups, func):
    """A partition's rows grouped by score range: per group of ranges, its rows (y, s, w) and where
    each of its ranges starts in them; then the class weights of every range."""
    y, s, w = np.asarray(y), np.asarray(s), None if w is None else np.asarray(w)
    if y.shape == (0,) and s.shape == (0,) and (w is None or w.shape == (0,)):  # an empty partition
        y, s, w = np.zeros(0, np.uint8), np.zeros(0), None if w is None else np.zeros(0)
    else:
        y, s, w = P.binary_inputs(func, y, s, w)
    ys, ss, ws, at, pos, neg = P.split_score_ranges(func, y, s, w, cuts)
    pieces = []
    for _, first, stop in groups:
        a, b = at[first], at[stop]
        pieces.append((ys[a:b], ss[a:b], None if ws is None else ws[a:b], at[first:stop + 1] - a))
    return tuple(pieces) + ((pos, neg),)


def _range_offsets(*weights):
    """Per range, the class weights of all higher ranges; and the totals.  Exactly summed."""
    import math

    pos = np.stack([p for p, _ in weights])
    neg = np.stack([n for _, n in weights])
    n_ranges = pos.shape[1]
    per_pos = [math.fsum(pos[:, r]) for r in range(n_ranges)]
    per_neg = [math.fsum(neg[:, r]) for r in range(n_ranges)]
    above = [(math.fsum(per_pos[r + 1:]), math.fsum(per_neg[r + 1:])) for r in range(n_ranges)]
    return above, (math.fsum(per_pos), math.fsum(per_neg))


def _group_sums(first, offsets, max_fpr, func, *pieces):
    """Each range's share of the ROC area (up to max_fpr) and of the average precision: one kernel
    call sorts the group's ranges in turn, straight from the partitions' pieces."""
    (above, (total_pos, total_neg)) = offsets
    n = len(pieces[0][3]) - 1
    pos_above = np.array([a[0] for a in above[first:first + n]], dtype=np.float64)
    neg_above = np.array([a[1] for a in above[first:first + n]], dtype=np.float64)
    area, ap = P.threshold_range_sums(func, list(pieces), pos_above, neg_above, total_pos, total_neg, max_fpr)
    return list(zip(area.tolist(), ap.tolist()))


def _group_tables(func, *pieces):
    return P.range_score_tables(func, list(pieces))


def _finish_ranges(func, metric, max_fpr, offsets, *groups):
    """The metric from the ranges' shares; runs on a worker, so only a float reaches the client."""
    import math

    total_pos, total_neg = offsets[1]
    if total_pos + total_neg == 0:
        _empty(func)
    if (total_pos == 0 or total_neg == 0) and metric == "roc_auc_score":
        return float("nan")  # undefined, as the single-machine function; the client warns
    if total_pos == 0 or total_neg == 0:
        # A class is missing: the single-machine function's answer (or error) for these totals.
        one_row = P.score_table_of(np.zeros(1), np.array([total_pos]), np.array([total_neg]))
        return _finish_table(one_row, func, metric, {"max_fpr": max_fpr} if metric == "roc_auc_score" else {})
    sums = [x for g in groups for x in g]
    if metric == "roc_auc_score":
        area = math.fsum(a for a, _ in sums)
        return P.standardized_partial_auc(area, 1.0 if max_fpr is None else max_fpr)
    return max(0.0, math.fsum(ap for _, ap in sums))


def _ranged(func, y_true, y_score, sample_weight, n_ranges, client, per_group, finish):
    """The graph: samples -> cuts -> split partitions -> per_group(first range, offsets, *pieces),
    one task per worker -> finish(offsets, group results)."""
    dask = require("dask")
    parts = aligned_partitions(func, y_true=y_true, y_score=y_score, sample_weight=sample_weight)
    n_ranges, groups = _plan(_worker_threads(client), n_ranges, func)
    task = lambda fn, **kw: dask.delayed(in_worker(fn), pure=True, **kw)  # noqa: E731
    samples = [task(_score_sample)(s, 64 * n_ranges) for _, s, _ in parts]
    cuts = task(_range_cuts)(n_ranges, *samples)
    split = [task(_split_ranges, nout=len(groups) + 1)(y, s, w, cuts, groups, func) for y, s, w in parts]
    offsets = task(_range_offsets)(*[pieces[len(groups)] for pieces in split])
    results = []
    for g, (worker, first, _) in enumerate(groups):
        # Pinned (softly) to its worker; left alone, the scheduler sees the pieces spread evenly over
        # the workers and may put several groups on one of them.
        with dask.annotate(**({"workers": [worker], "allow_other_workers": True} if worker else {})):
            results.append(per_group(first, offsets, [pieces[g] for pieces in split]))
    return compute(finish(offsets, results), client)


def _threshold_metric(func, metric, y_true, y_score, sample_weight, max_fpr, n_ranges, client):
    dask = require("dask")
    mf = 1.0 if max_fpr is None else max_fpr
    group_sums = dask.delayed(in_worker(_group_sums), pure=True)
    finish = dask.delayed(in_worker(_finish_ranges), pure=True)
    return _ranged(func, y_true, y_score, sample_weight, n_ranges, client,
                   lambda first, offsets, pieces: group_sums(first, offsets, mf, func, *pieces),
                   lambda offsets, sums: finish(func, metric, max_fpr, offsets, *sums))


def _concatenate_tables(tables):
    """Tables of disjoint score ranges, lowest range first, as one table (scores decreasing)."""
    high_first = tables[::-1]
    return P.score_table_of(*(np.concatenate([getattr(t, a) for t in high_first])
                              for a in ("score", "positive", "negative")))


# ---- binned tables: merged in a tree -----------------------------------------------------------------


def _partition_table(y, s, w, n_bins, rng):
    return M.ScoreTable.from_arrays(np.asarray(y), np.asarray(s), sample_weight=None if w is None else np.asarray(w),
                                    n_bins=n_bins, range=rng)


def _merge_states(states):
    return states[0].merge(*states[1:])


def _finish_table(table, func, metric, kwargs):
    """Runs where the merged table is (a worker), so only the metric travels to the client."""
    if len(table) == 0:
        _empty(func)
    return table if metric is None else getattr(table, metric)(**kwargs)


def _binned_table(func, y_true, y_score, sample_weight, n_bins, rng, split_every, client) -> M.ScoreTable:
    parts = aligned_partitions(func, y_true=y_true, y_score=y_score, sample_weight=sample_weight)
    delayed = require("dask").delayed
    states = [delayed(in_worker(_partition_table), pure=True)(y, s, w, n_bins, rng) for y, s, w in parts]
    merged = tree_reduce(states, _merge_states, split_every, "mlsd-score-table")
    return compute(delayed(in_worker(_finish_table), pure=True)(merged, func, None, {}), client)


# ---- public threshold metrics ------------------------------------------------------------------------


@validate_params(y_true=[COLUMN], y_score=[COLUMN], sample_weight=OPTIONAL_COLUMN, n_bins=[P.N_BINS, None],
                 range=[P.RANGE], n_ranges=N_RANGES, split_every=SPLIT_EVERY, client=CLIENT)
def score_table(y_true: Any, y_score: Any, *, sample_weight: Any = None, n_bins: int | None = None,
                range: tuple[float, float] = (0.0, 1.0), n_ranges: int | None = None,  # noqa: A002
                split_every: int = 8, client: Any = None) -> M.ScoreTable:
    """The :class:`mlsd.metrics.ScoreTable` of Dask columns: exactly the table of the concatenated
    data, from which every threshold metric and curve follows.  The table comes to the client (the
    metric functions below compute on the workers instead).

    Parameters
    ----------
    y_true, y_score, sample_weight : Dask arrays (1-D) or Dask Series of one DataFrame
        Dask arrays are rechunked to ``y_true``'s chunks if they differ.
    n_bins, range : see :meth:`mlsd.metrics.ScoreTable.from_arrays`.
        Without ``n_bins``, the rows are regrouped by score range and each range's table is built
        where it lands (see :func:`roc_auc_score`); with it, the per-partition binned tables are
        merged in a tree of fan-in ``split_every``.
    n_ranges : int, optional
        Number of score ranges (exact tables); default four per thread of the cluster, at most 64.
    split_every : int >= 2
        Fan-in of the merge tree (binned tables).
    client : distributed.Client, optional
        Defaults to Dask's current scheduler (the default client when one exists).

    Over the network: without ``n_bins``, as :func:`roc_auc_score`, plus the table (24 bytes per
    distinct score) to the client; with it, per-partition tables of at most ``n_bins`` rows.
    """
    func = "score_table"
    if n_bins is not None:
        return _binned_table(func, y_true, y_score, sample_weight, n_bins, range, split_every, client)
    dask = require("dask")
    tables = dask.delayed(in_worker(_group_tables), pure=True)
    groups = _ranged(func, y_true, y_score, sample_weight, n_ranges, client,
                     lambda first, offsets, pieces: tables(func, *pieces),
                     lambda offsets, ts: dask.delayed(list)(ts))
    merged = _concatenate_tables([t for g in groups for t in g])
    if len(merged) == 0:
        _empty(func)
    return merged


@validate_params(y_true=[COLUMN], y_score=[COLUMN], sample_weight=OPTIONAL_COLUMN, max_fpr=P.MAX_FPR,
                 n_ranges=N_RANGES, client=CLIENT)
def roc_auc_score(y_true: Any, y_score: Any, *, sample_weight: Any = None, max_fpr: float | None = None,
                  n_ranges: int | None = None, client: Any = None) -> float:
    """:func:`mlsd.metrics.roc_auc_score` over Dask columns, exactly (only one class in ``y_true``:
    NaN with an ``UndefinedMetricWarning``, as the single-machine function).

    The rows are regrouped by score range (ranges chosen from a sample of the scores, so that they
    hold about equal numbers of rows; each worker gets a block of consecutive ranges in proportion
    to its threads), each worker sorts its ranges, and each range's share of the area follows from
    the class weights of the ranges above it.  Equal to the single-machine function on the
    concatenated data to rounding (the shares are summed with compensation: a few ulps, well within
    1e-12), with or without ``sample_weight``.  Each worker holds its share of the rows while it
    sorts them; when that is too much, or the network is slow, use :func:`binned_roc_auc_score`.

    Parameters
    ----------
    y_true, y_score, sample_weight : Dask arrays (1-D) or Dask Series of one DataFrame
    max_fpr : float in (0, 1], optional
        The standardised partial AUC, as the single-machine function.
    n_ranges : int, optional
        Number of score ranges; default four per thread of the cluster, at most 64.
    client : distributed.Client, optional
        Defaults to Dask's current scheduler (the default client when one exists).

    Over the network: the rows' label and score (and weight) columns, once (9 bytes a row, 17 with
    weights): each partition is split by score range, and each worker receives, from every
    partition, the rows of its own block of ranges (rows already on that worker do not move).
    Before that, a strided sample of each partition's scores (at most ``64 * n_ranges`` values)
    picks the ranges; after it, two floats per range.  Memory: the columns about twice over the
    cluster while they are regrouped (Dask spills to disk past its memory limits).
    """
    auc = _threshold_metric("roc_auc_score", "roc_auc_score", y_true, y_score, sample_weight, max_fpr, n_ranges,
                            client)
    if np.isnan(auc):  # only one class: warned here, on the client, as mlsd.metrics.roc_auc_score does
        import warnings

        warnings.warn("Only one class is present in y_true. ROC AUC score is not defined in that case.",
                      P.undefined_metric_warning(), stacklevel=2)
    return auc


@validate_params(y_true=[COLUMN], y_score=[COLUMN], sample_weight=OPTIONAL_COLUMN, n_ranges=N_RANGES,
                 client=CLIENT)
def average_precision_score(y_true: Any, y_score: Any, *, sample_weight: Any = None, n_ranges: int | None = None,
                            client: Any = None) -> float:
    """:func:`mlsd.metrics.average_precision_score` over Dask columns, exactly (rows regrouped by
    score range, as :func:`roc_auc_score`).
    Over the network: the rows' label and score (and weight) columns, once (9 bytes a row, 17 with
    weights): each partition is split by score range, and each worker receives, from every
    partition, the rows of its own block of ranges (rows already on that worker do not move).
    Before that, a strided sample of each partition's scores (at most ``64 * n_ranges`` values)
    picks the ranges; after it, two floats per range.  Memory: the columns about twice over the
    cluster while they are regrouped (Dask spills to disk past its memory limits).
    """
    return _threshold_metric("average_precision_score", "average_precision_score", y_true, y_score, sample_weight,
                             None, n_ranges, client)


@validate_params(y_true=[COLUMN], y_score=[COLUMN], sample_weight=OPTIONAL_COLUMN, n_bins=[P.N_BINS],
                 range=[P.RANGE], split_every=SPLIT_EVERY, client=CLIENT)
def binned_roc_auc_score(y_true: Any, y_score: Any, *, sample_weight: Any = None, n_bins: int = 2**16,
                         range: tuple[float, float] = (0.0, 1.0), split_every: int = 8,  # noqa: A002
                         client: Any = None) -> M.ApproximateAUC:
    """:func:`mlsd.metrics.binned_roc_auc_score` over Dask columns: ROC AUC from ``n_bins``
    equal-width score bins, with the bound ``error_bound`` on its distance from the exact AUC.

    Memory and network use are O(n_bins) per partition whatever the data size; the result equals
    the single-machine binned AUC (and is exactly the AUC of the binned scores).

    Over the network: one :class:`~mlsd.metrics.ScoreTable` of at most ``n_bins`` rows (24 bytes
    each) per partition, merged in a tree of fan-in ``split_every``; the metric is computed on the
    worker holding the merged table.  Rows never leave their workers.
    """
    func = "binned_roc_auc_score"
    return P.approximate_auc(_binned_table(func, y_true, y_score, sample_weight, n_bins, range, split_every, client))




# ---- log loss and NE: sums -------------------------------------------------------------------------


def _partition_loss(y, p, w, eps):
    return M.LogLossSums.from_arrays(np.asarray(y), np.asarray(p), sample_weight=None if w is None else np.asarray(w),
                                     eps=eps)


def _loss_sums(func, y_true, y_prob, sample_weight, split_every, client) -> M.LogLossSums:
    parts = aligned_partitions(func, y_true=y_true, y_prob=y_prob, sample_weight=sample_weight)
    eps = P.clip_eps(np.asarray(y_prob._meta))  # the single-machine rule, from the partitions' dtype
    delayed = require("dask").delayed
    states = [delayed(in_worker(_partition_loss), pure=True)(y, p, w, eps) for y, p, w in parts]
    return compute(tree_reduce(states, _merge_states, split_every, "mlsd-log-loss"), client)


@validate_params(y_true=[COLUMN], y_prob=[COLUMN], normalize=["boolean"], sample_weight=OPTIONAL_COLUMN,
                 split_every=SPLIT_EVERY, client=CLIENT)
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


@validate_params(y_true=[COLUMN], y_prob=[COLUMN], sample_weight=OPTIONAL_COLUMN, split_every=SPLIT_EVERY,
                 client=CLIENT)
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
    y, s, w = P.binary_inputs(func, df["y_true"].to_numpy(), df["y_score"].to_numpy(),
                              df["sample_weight"].to_numpy() if weighted else None)
    return P.group_auc_table(func, g, y, s, w)


@validate_params(y_true=[COLUMN], y_score=[COLUMN], groups=[COLUMN], sample_weight=OPTIONAL_COLUMN,
                 weight=[P.GROUP_WEIGHT], shuffle=["boolean"], client=CLIENT)
def group_auc(y_true: Any, y_score: Any, *, groups: Any, sample_weight: Any = None, weight: str = "impressions",
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
    ddf = _grouped_frame(func, "groups", shuffle, groups=groups, y_true=y_true, y_score=y_score,
                         sample_weight=sample_weight)
    delayed = require("dask").delayed
    task = delayed(in_worker(_group_part), pure=True)
    results = compute([task(p, func, sample_weight is not None) for p in ddf.to_delayed()], client)
    if sum(r[0].size for r in results) == 0:
        _empty(func)
    labels, (auc, group_weight) = _gather_sorted(results, func, "group")
    return P.group_auc_result(labels, auc, group_weight, weight, func)


def _query_part(df, metric, func, k, gain, ignore_ties, action):
    if len(df) == 0:
        return np.empty(0, dtype=df["query"].dtype), np.empty(0)
    df = df.sort_values(["query", "_pos"], kind="stable")
    q = df["query"].to_numpy()
    starts = np.flatnonzero(np.concatenate([[True], q[1:] != q[:-1]]))
    ip = np.append(starts, q.shape[0]).astype(np.int64)
    return q[starts], P.ranking_values(metric, func, ip, df["y_true"].to_numpy(), df["y_score"].to_numpy(), k, gain,
                                       ignore_ties, action)


def _ranking(metric, func, y_true, y_score, query, k, *, gain="linear", ignore_ties=True, empty_target_action="neg",
             shuffle=True, client=None, allow_k_none=False) -> M.RankingResult:
    k, gain, action = P.ranking_options(func, k, gain, empty_target_action, allow_k_none)
    ddf = _grouped_frame(func, "query", shuffle, query=query, y_true=y_true, y_score=y_score)
    delayed = require("dask").delayed
    task = delayed(in_worker(_query_part), pure=True)
    results = compute([task(p, metric, func, k, gain, ignore_ties, action) for p in ddf.to_delayed()], client)
    queries, (per_query,) = _gather_sorted(results, func, "query")
    if queries.size == 0:
        raise ValueError(f"{func}: no query given; the data are empty")
    return P.ranking_result(per_query, func, queries)




@validate_params(y_true=[COLUMN], y_score=[COLUMN], query=[COLUMN], shuffle=["boolean"], client=CLIENT,
                 k=[P.K, None], gain=[P.GAIN], ignore_ties=["boolean"])
def dcg_at_k(y_true, y_score, k: int | None = 10, *, query: Any, gain: str = "linear", ignore_ties: bool = False,
             shuffle: bool = True, client: Any = None) -> M.RankingResult:
    """:func:`mlsd.metrics.dcg_at_k` over Dask columns.

    Dask form: ``y_true`` (relevance), ``y_score`` and the keyword ``query`` (the query of each
    row, as the single-machine ``query=``) are 1-D Dask arrays or Dask Series of one DataFrame, one
    row per (query, document).  A query's documents are its rows in
    their original order (ties in ``y_score`` are broken by that order, as in the single-machine
    function's lists).  Rows are shuffled by query (the three columns cross the network once;
    ``shuffle=False`` skips that when every query already sits in one partition, and raises
    ValueError if one does not), each partition runs the single-machine kernel on its queries, and
    the per-query values come back to the client.  The result equals the single-machine
    :class:`~mlsd.metrics.RankingResult` for the same lists, with queries in sorted order
    (``result.queries``).  Query weights are not supported here.
    """
    return _ranking("dcg", "dcg_at_k", y_true, y_score, query, k, gain=gain, ignore_ties=ignore_ties,
                    shuffle=shuffle, client=client, allow_k_none=True)


@validate_params(y_true=[COLUMN], y_score=[COLUMN], query=[COLUMN], shuffle=["boolean"], client=CLIENT,
                 k=[P.K, None], gain=[P.GAIN], ignore_ties=["boolean"],
                 empty_target_action=[P.EMPTY_TARGET_ACTION])
def ndcg_at_k(y_true, y_score, k: int | None = 10, *, query: Any, gain: str = "linear", ignore_ties: bool = False,
              empty_target_action: str = "neg", shuffle: bool = True, client: Any = None) -> M.RankingResult:
    """:func:`mlsd.metrics.ndcg_at_k` over Dask columns.

    Dask form: ``y_true`` (relevance), ``y_score`` and the keyword ``query`` (the query of each
    row, as the single-machine ``query=``) are 1-D Dask arrays or Dask Series of one DataFrame, one
    row per (query, document).  A query's documents are its rows in
    their original order (ties in ``y_score`` are broken by that order, as in the single-machine
    function's lists).  Rows are shuffled by query (the three columns cross the network once;
    ``shuffle=False`` skips that when every query already sits in one partition, and raises
    ValueError if one does not), each partition runs the single-machine kernel on its queries, and
    the per-query values come back to the client.  The result equals the single-machine
    :class:`~mlsd.metrics.RankingResult` for the same lists, with queries in sorted order
    (``result.queries``).  Query weights are not supported here.
    """
    return _ranking("ndcg", "ndcg_at_k", y_true, y_score, query, k, gain=gain, ignore_ties=ignore_ties,
                    empty_target_action=empty_target_action, shuffle=shuffle, client=client, allow_k_none=True)


@validate_params(y_true=[COLUMN], y_score=[COLUMN], query=[COLUMN], shuffle=["boolean"], client=CLIENT,
                 k=[P.K, None], empty_target_action=[P.EMPTY_TARGET_ACTION])
def map_at_k(y_true, y_score, k: int | None = 10, *, query: Any, empty_target_action: str = "neg",
             shuffle: bool = True, client: Any = None) -> M.RankingResult:
    """:func:`mlsd.metrics.map_at_k` over Dask columns.

    Dask form: ``y_true`` (relevance), ``y_score`` and the keyword ``query`` (the query of each
    row, as the single-machine ``query=``) are 1-D Dask arrays or Dask Series of one DataFrame, one
    row per (query, document).  A query's documents are its rows in
    their original order (ties in ``y_score`` are broken by that order, as in the single-machine
    function's lists).  Rows are shuffled by query (the three columns cross the network once;
    ``shuffle=False`` skips that when every query already sits in one partition, and raises
    ValueError if one does not), each partition runs the single-machine kernel on its queries, and
    the per-query values come back to the client.  The result equals the single-machine
    :class:`~mlsd.metrics.RankingResult` for the same lists, with queries in sorted order
    (``result.queries``).  Query weights are not supported here.
    """
    return _ranking("average_precision", "map_at_k", y_true, y_score, query, k,
                    empty_target_action=empty_target_action, shuffle=shuffle, client=client, allow_k_none=True)


@validate_params(y_true=[COLUMN], y_score=[COLUMN], query=[COLUMN], shuffle=["boolean"], client=CLIENT,
                 k=[P.K, None], empty_target_action=[P.EMPTY_TARGET_ACTION])
def mrr(y_true, y_score, k: int | None = None, *, query: Any, empty_target_action: str = "neg",
        shuffle: bool = True, client: Any = None) -> M.RankingResult:
    """:func:`mlsd.metrics.mrr` over Dask columns.

    Dask form: ``y_true`` (relevance), ``y_score`` and the keyword ``query`` (the query of each
    row, as the single-machine ``query=``) are 1-D Dask arrays or Dask Series of one DataFrame, one
    row per (query, document).  A query's documents are its rows in
    their original order (ties in ``y_score`` are broken by that order, as in the single-machine
    function's lists).  Rows are shuffled by query (the three columns cross the network once;
    ``shuffle=False`` skips that when every query already sits in one partition, and raises
    ValueError if one does not), each partition runs the single-machine kernel on its queries, and
    the per-query values come back to the client.  The result equals the single-machine
    :class:`~mlsd.metrics.RankingResult` for the same lists, with queries in sorted order
    (``result.queries``).  Query weights are not supported here.
    """
    return _ranking("reciprocal_rank", "mrr", y_true, y_score, query, k, empty_target_action=empty_target_action,
                    shuffle=shuffle, client=client, allow_k_none=True)


@validate_params(y_true=[COLUMN], y_score=[COLUMN], query=[COLUMN], shuffle=["boolean"], client=CLIENT,
                 k=[P.K], empty_target_action=[P.EMPTY_TARGET_ACTION])
def precision_at_k(y_true, y_score, k: int = 10, *, query: Any, empty_target_action: str = "neg",
                   shuffle: bool = True, client: Any = None) -> M.RankingResult:
    """:func:`mlsd.metrics.precision_at_k` over Dask columns.

    Dask form: ``y_true`` (relevance), ``y_score`` and the keyword ``query`` (the query of each
    row, as the single-machine ``query=``) are 1-D Dask arrays or Dask Series of one DataFrame, one
    row per (query, document).  A query's documents are its rows in
    their original order (ties in ``y_score`` are broken by that order, as in the single-machine
    function's lists).  Rows are shuffled by query (the three columns cross the network once;
    ``shuffle=False`` skips that when every query already sits in one partition, and raises
    ValueError if one does not), each partition runs the single-machine kernel on its queries, and
    the per-query values come back to the client.  The result equals the single-machine
    :class:`~mlsd.metrics.RankingResult` for the same lists, with queries in sorted order
    (``result.queries``).  Query weights are not supported here.
    """
    return _ranking("precision", "precision_at_k", y_true, y_score, query, k, empty_target_action=empty_target_action,
                    shuffle=shuffle, client=client)


@validate_params(y_true=[COLUMN], y_score=[COLUMN], query=[COLUMN], shuffle=["boolean"], client=CLIENT,
                 k=[P.K], empty_target_action=[P.EMPTY_TARGET_ACTION])
def recall_at_k(y_true, y_score, k: int = 10, *, query: Any, empty_target_action: str = "neg",
                shuffle: bool = True, client: Any = None) -> M.RankingResult:
    """:func:`mlsd.metrics.recall_at_k` over Dask columns.

    Dask form: ``y_true`` (relevance), ``y_score`` and the keyword ``query`` (the query of each
    row, as the single-machine ``query=``) are 1-D Dask arrays or Dask Series of one DataFrame, one
    row per (query, document).  A query's documents are its rows in
    their original order (ties in ``y_score`` are broken by that order, as in the single-machine
    function's lists).  Rows are shuffled by query (the three columns cross the network once;
    ``shuffle=False`` skips that when every query already sits in one partition, and raises
    ValueError if one does not), each partition runs the single-machine kernel on its queries, and
    the per-query values come back to the client.  The result equals the single-machine
    :class:`~mlsd.metrics.RankingResult` for the same lists, with queries in sorted order
    (``result.queries``).  Query weights are not supported here.
    """
    return _ranking("recall", "recall_at_k", y_true, y_score, query, k, empty_target_action=empty_target_action,
                    shuffle=shuffle, client=client)


@validate_params(y_true=[COLUMN], y_score=[COLUMN], query=[COLUMN], shuffle=["boolean"], client=CLIENT,
                 k=[P.K], empty_target_action=[P.EMPTY_TARGET_ACTION])
def hit_rate_at_k(y_true, y_score, k: int = 10, *, query: Any, empty_target_action: str = "neg",
                  shuffle: bool = True, client: Any = None) -> M.RankingResult:
    """:func:`mlsd.metrics.hit_rate_at_k` over Dask columns.

    Dask form: ``y_true`` (relevance), ``y_score`` and the keyword ``query`` (the query of each
    row, as the single-machine ``query=``) are 1-D Dask arrays or Dask Series of one DataFrame, one
    row per (query, document).  A query's documents are its rows in
    their original order (ties in ``y_score`` are broken by that order, as in the single-machine
    function's lists).  Rows are shuffled by query (the three columns cross the network once;
    ``shuffle=False`` skips that when every query already sits in one partition, and raises
    ValueError if one does not), each partition runs the single-machine kernel on its queries, and
    the per-query values come back to the client.  The result equals the single-machine
    :class:`~mlsd.metrics.RankingResult` for the same lists, with queries in sorted order
    (``result.queries``).  Query weights are not supported here.
    """
    return _ranking("hit_rate", "hit_rate_at_k", y_true, y_score, query, k, empty_target_action=empty_target_action,
                    shuffle=shuffle, client=client)


