"""The internal API of :mod:`mlsd.metrics` for :mod:`mlsd.dask`: the pieces of the single-machine
metrics that a distributed computation needs, and nothing else.

``mlsd.dask`` reaches mlsd.metrics only through its public names and this module; it never
touches the compiled module (``_core`` / ``_k``) or another private name.  A refactor of the
metrics package keeps these signatures and meanings, or changes ``mlsd.dask`` in the same commit.
Every function takes ``func``, the public function name that error messages carry.

Contract
--------
Inputs
    ``binary_inputs(func, y_true, y_score, sample_weight)`` -> ``(y, s, w)``: the single-machine
    check and conversion of one partition's columns: ``y`` uint8 0/1, ``s`` float64, ``w`` float64
    or None, all contiguous and of one length.  Raises ValueError/TypeError as the public functions.
    ``clip_eps(y_prob)`` -> float: log loss's clipping constant for ``y_prob``'s dtype (an array or
    a Dask collection's ``_meta``); per-partition :class:`~mlsd.metrics.LogLossSums` built with it
    merge with each other.

Exact threshold metrics by score range (a distributed sort)
    ``split_score_ranges(func, y, s, w, cuts)`` -> ``(y, s, w, at, positive, negative)``: the rows
    of one partition (from :func:`binary_inputs`) reordered by score range, range ``r`` holding the
    scores in ``[cuts[r-1], cuts[r])`` (``cuts`` ascending float64, ``len(cuts) + 1`` ranges);
    ``at`` (int64, ``n_ranges + 1``) are the ranges' offsets into the reordered rows, ``positive``
    and ``negative`` (float64, ``n_ranges``) the class weights of each range.  ``w`` is None
    without weights.  Within a range the rows are not sorted.
    ``threshold_range_sums(func, pieces, positive_above, negative_above, total_positive,
    total_negative, max_fpr)`` -> ``(area, ap)``: for a block of consecutive ranges, each range's
    share of the (partial, up to ``max_fpr``) ROC area before standardisation and of the average
    precision before clamping.  ``pieces`` is a list, one per partition, of ``(y, s, w, offsets)``
    where ``offsets`` (int64) locates the block's ranges in that piece; ``positive_above`` and
    ``negative_above`` (float64, one per range of the block) are the class weights of every higher
    range over all partitions, the totals over all of them.  The shares of all ranges add up to the
    single-machine quantities.
    ``standardized_partial_auc(area, max_fpr)`` -> float: McClish's standardisation of the summed
    area (the area itself for ``max_fpr >= 1``), as :func:`mlsd.metrics.roc_auc_score`.
    ``range_score_tables(func, pieces)`` -> list of :class:`~mlsd.metrics.ScoreTable`: the exact
    table of each range of the block (same ``pieces`` as above).
    ``score_table_of(score, positive, negative)`` -> :class:`~mlsd.metrics.ScoreTable`, unbinned,
    from arrays already known to be valid (scores strictly decreasing, weights >= 0): used to join
    tables of disjoint ranges and to build a one-row table of class totals.  Not validated.

Binned tables
    ``approximate_auc(table)`` -> :class:`~mlsd.metrics.ApproximateAUC` of a binned
    :class:`~mlsd.metrics.ScoreTable`, as :func:`mlsd.metrics.binned_roc_auc_score` returns it.

Group AUC
    ``group_auc_table(func, groups, y, s, w)`` -> ``(labels, auc, weight)``: per group (sorted
    labels, one row each) the AUC (NaN for a single class) and the rows or summed weights, for the
    rows of one partition that holds its groups whole (``y, s, w`` from :func:`binary_inputs`).
    ``group_auc_result(groups, auc, weight_per_group, weight, func)`` ->
    :class:`~mlsd.metrics.GroupAUCResult`: the average over a per-group table with every group
    once, sorted (``weight`` is ``"impressions"`` or ``"uniform"``).

Ranking metrics
    ``ranking_options(func, k, gain, empty_target_action, allow_k_none)`` -> ``(k, gain, action)``:
    the options as the kernel takes them (their values are checked by the declarations below).
    ``ranking_values(metric, func, indptr, y_true, y_score, k, gain, ignore_ties, action)`` ->
    float64 array, one value per query of the CSR lists (``indptr`` int64; ``y_true``, ``y_score``
    converted here).  ``metric`` is one of ``"dcg"``, ``"ndcg"``, ``"average_precision"``,
    ``"reciprocal_rank"``, ``"precision"``, ``"recall"``, ``"hit_rate"``; options as returned by
    :func:`ranking_options`.
    ``ranking_result(per_query, func, queries)`` -> :class:`~mlsd.metrics.RankingResult` with the
    mean over the scored queries (no query weights).

``undefined_metric_warning()`` -> the category of the single-machine functions' undefined-metric
    warning (mlsd's, joined with scikit-learn's when it is installed).

Parameter declarations (for ``@validate_params``, so that a Dask twin declares its options exactly
as the single-machine function does)
    ``MAX_FPR`` (``max_fpr``), ``N_BINS`` (``n_bins`` of a binned table, [1, 2**40]), ``RANGE``
    (``range``, a pair of finite floats lo < hi), ``K`` (``k``, an int >= 1), ``GAIN``,
    ``EMPTY_TARGET_ACTION``, ``GROUP_WEIGHT`` (``weight`` of group AUC): each a constraint object of
    :mod:`mlsd._params` (``MAX_FPR`` is a list that includes None).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array, call_kernel
from . import _group, _ranking, _states
from ._common import _binary_inputs, _clip_eps, _group_codes, _k, undefined_metric_warning
from ._group import GROUP_WEIGHT, GroupAUCResult
from ._ranking import EMPTY_TARGET_ACTION, GAIN, K, RankingResult
from ._states import MAX_FPR, N_BINS, RANGE, ApproximateAUC, ScoreTable

__all__ = [
    "undefined_metric_warning",
    "binary_inputs",
    "clip_eps",
    "split_score_ranges",
    "threshold_range_sums",
    "standardized_partial_auc",
    "range_score_tables",
    "score_table_of",
    "approximate_auc",
    "group_auc_table",
    "group_auc_result",
    "ranking_options",
    "ranking_values",
    "ranking_result",
    "MAX_FPR",
    "N_BINS",
    "RANGE",
    "K",
    "GAIN",
    "EMPTY_TARGET_ACTION",
    "GROUP_WEIGHT",
]


def binary_inputs(func: str, y_true: Any, y_score: Any, sample_weight: Any):
    return _binary_inputs(func, y_true, y_score, sample_weight)


def clip_eps(y_prob: Any) -> float:
    return _clip_eps(y_prob)


def split_score_ranges(func: str, y: np.ndarray, s: np.ndarray, w: np.ndarray | None, cuts: np.ndarray):
    return call_kernel(func, _k.split_score_ranges, y, s, w, cuts)


def threshold_range_sums(func: str, pieces: list, positive_above: np.ndarray, negative_above: np.ndarray,
                         total_positive: float, total_negative: float, max_fpr: float):
    return call_kernel(func, _k.threshold_range_sums, list(pieces), positive_above, negative_above, total_positive,
                       total_negative, max_fpr)


def standardized_partial_auc(area: float, max_fpr: float) -> float:
    return float(_k.standardized_partial_auc(area, max_fpr))


def range_score_tables(func: str, pieces: list) -> list[ScoreTable]:
    return [ScoreTable._of(tuple(t), None) for t in call_kernel(func, _k.range_score_tables, list(pieces))]


def score_table_of(score: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> ScoreTable:
    return ScoreTable._of((score, positive, negative), None)


def approximate_auc(table: ScoreTable, func: str = "binned_roc_auc_score") -> ApproximateAUC:
    return _states._approximate_auc(table, func)


def group_auc_table(func: str, groups: Any, y: np.ndarray, s: np.ndarray, w: np.ndarray | None):
    codes, labels_of = _group_codes(np.asarray(groups), func)
    keys, auc, weight = call_kernel(func, _k.group_auc, codes, y, s, w)
    return labels_of(keys), auc, weight


def group_auc_result(groups: np.ndarray, auc: np.ndarray, weight_per_group: np.ndarray, weight: str,
                     func: str) -> GroupAUCResult:
    return _group._group_auc_result(groups, auc, weight_per_group, weight, func)


def ranking_options(func: str, k: Any, gain: Any, empty_target_action: Any, allow_k_none: bool):
    return _ranking._ranking_options(func, k, gain, empty_target_action, allow_k_none)


def ranking_values(metric: str, func: str, indptr: np.ndarray, y_true: Any, y_score: Any, k: int | None, gain: str,
                   ignore_ties: bool, action: str) -> np.ndarray:
    rel = as_float_array(y_true, "y_true", func)
    score = as_float_array(y_score, "y_score", func)
    return _ranking._ranking_values(metric, func, np.ascontiguousarray(indptr, dtype=np.int64), rel, score, k, gain,
                                    ignore_ties, action)


def ranking_result(per_query: np.ndarray, func: str, queries: np.ndarray | None = None) -> RankingResult:
    return _ranking._ranking_result(per_query, None, func, queries=queries)
