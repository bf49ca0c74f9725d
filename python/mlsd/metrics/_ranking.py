"""Ranking metrics over many queries at once: DCG, NDCG, MAP, MRR, precision, recall and hit rate
at k, on dense (n_queries, n_docs) lists, CSR lists (``indptr``) or per-row query labels (``query``)."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np

from .._params import ArrayLike, Interval, Options, validate_params
from .._results import Result, axes, result_type
from .._validation import as_float_array, call_kernel, check_same_length
from ._common import undefined_metric_warning, _group_codes, _k
from ._group import GROUPS

__all__ = ["RankingResult", "dcg_score", "ndcg_score", "dcg_at_k", "ndcg_at_k",
           "map_at_k", "mrr", "precision_at_k", "recall_at_k",
           "hit_rate_at_k"]


@result_type
class RankingResult(Result):
    """Per-query values of a ranking metric and their mean.

    ``mean`` ignores skipped queries (NaN in ``per_query``, see ``empty_target_action``) and
    applies ``sample_weight`` when given.  ``float(result)`` is ``result.mean``.  ``queries`` are
    the query labels (sorted) when the input had ``query=``, else None (queries are numbered).
    """

    mean: float
    per_query: np.ndarray
    queries: np.ndarray | None = None

    def __float__(self) -> float:
        return self.mean

    def to_frame(self):
        """One row per query: ``query`` (the label, or the query's number) and ``value``."""
        import pandas as pd

        q = np.arange(self.per_query.shape[0]) if self.queries is None else self.queries
        return pd.DataFrame({"query": q, "value": self.per_query})

    def plot(self, ax=None, *, bins: int = 20):
        """Histogram of the per-query values (skipped queries left out), the mean marked.
        Returns the Axes."""
        ax = axes(ax)
        values = self.per_query[~np.isnan(self.per_query)]
        ax.hist(values, bins=bins, alpha=0.7, label=f"{values.size} queries")
        ax.axvline(self.mean, color="C1", linestyle="--", label=f"mean = {self.mean:.4f}")
        ax.set_xlabel("Per-query value")
        ax.set_ylabel("Queries")
        ax.legend(loc="upper left")
        return ax


# Declared once for every ranking function (and their Dask twins' options).
RANKING_Y = ArrayLike(ndim=(1, 2))
K = Interval(Integral, 1, None)
INDPTR = ArrayLike(ndim=1, kinds="iu")
GAIN = Options({"linear", "exponential"})
EMPTY_TARGET_ACTION = Options({"neg", "pos", "skip", "error"})
QUERY_WEIGHTS = [ArrayLike(ndim=1), None]
LOG_BASE = Interval(Real, 1.0, None, closed="neither")


_EMPTY_ACTIONS = {"neg": _k.EmptyAction.zero, "pos": _k.EmptyAction.one, "skip": _k.EmptyAction.skip,
                  "error": _k.EmptyAction.error}


def _ranking(metric: str, func: str, y_true, y_score, k, indptr, query, *, gain="linear", ignore_ties=True,
             empty_target_action="neg", sample_weight=None, allow_k_none=False, log_base=2) -> RankingResult:
    k, gain, action = _ranking_options(func, k, gain, empty_target_action, allow_k_none)
    queries = None
    if indptr is not None and query is not None:
        raise ValueError(f"{func}: pass either indptr (CSR offsets) or query (a label per row), not both")
    if indptr is None and query is None:
        rel = as_float_array(y_true, "y_true", func, ndim=2)
        score = as_float_array(y_score, "y_score", func, ndim=2)
        if rel.shape != score.shape:
            raise ValueError(f"{func}: y_true has shape {rel.shape} but y_score has shape {score.shape}")
        n_queries, n_docs = rel.shape
        ip = np.arange(n_queries + 1, dtype=np.int64) * n_docs
        rel, score = rel.reshape(-1), score.reshape(-1)
    else:
        rel = as_float_array(y_true, "y_true", func)
        score = as_float_array(y_score, "y_score", func)
        check_same_length(func, y_true=rel, y_score=score)
        if query is not None:
            order, ip, queries = _query_indptr(query, rel.shape[0], func)
            if order is not None:
                rel, score = rel[order], score[order]
        else:
            ip = np.ascontiguousarray(indptr, dtype=np.int64)
    n_queries = ip.shape[0] - 1
    if n_queries < 1:
        raise ValueError(f"{func}: no query given; y_true must have at least one row (indptr at least 2 entries)")
    per_query = _ranking_values(metric, func, ip, rel, score, k, gain, ignore_ties, action)
    if metric == "dcg" and log_base != 2:
        # 1 / log_b(r + 1) = (ln b / ln 2) / log2(r + 1): the kernel's base-2 DCG, rescaled (NDCG does
        # not depend on the base)
        per_query = per_query * (math.log(log_base) / math.log(2))
    return _ranking_result(per_query, sample_weight, func, queries=queries)


def _query_indptr(query, n_rows: int, func: str):
    """Per-row query labels as CSR: the row order that puts each query's rows together (None when
    they already are, in sorted query order), the offsets, and the sorted distinct labels.  A
    query's documents keep their original order (a stable sort), so ties rank as in the input."""
    q = query
    if q.shape[0] != n_rows:
        raise ValueError(f"{func}: query has {q.shape[0]} elements but y_true has {n_rows}")
    codes, labels_of = _group_codes(q, func, "query")
    order = np.argsort(codes, kind="stable")
    if np.array_equal(order, np.arange(n_rows)):
        order = None
    else:
        codes = codes[order]
    starts = np.flatnonzero(np.concatenate([[True], codes[1:] != codes[:-1]])) if n_rows else np.empty(0, np.int64)
    ip = np.append(starts, n_rows).astype(np.int64)
    return order, ip, labels_of(codes[starts])


def _ranking_options(func, k, gain, empty_target_action, allow_k_none):
    """The options as the kernel takes them (their values are declared and checked by the public
    functions)."""
    return k, gain, empty_target_action


def _ranking_values(metric, func, ip, rel, score, k, gain, ignore_ties, action) -> np.ndarray:
    """Per-query values over CSR input (options already checked)."""
    kk = int(np.iinfo(np.int64).max) if k is None else min(k, int(np.iinfo(np.int64).max))
    return call_kernel(func, _k.ranking_metric, getattr(_k.RankingMetric, metric), ip, rel, score, kk,
                       getattr(_k.Gain, gain), bool(ignore_ties), _EMPTY_ACTIONS[action])


def _ranking_result(per_query: np.ndarray, sample_weight, func: str, queries=None) -> RankingResult:
    """The mean over the scored queries, with optional query weights."""
    n_queries = per_query.shape[0]
    weights = None
    if sample_weight is not None:
        weights = as_float_array(sample_weight, "sample_weight", func)
        if weights.shape[0] != n_queries:
            raise ValueError(f"{func}: sample_weight has {weights.shape[0]} elements but there are {n_queries} queries")
        if not (np.all(np.isfinite(weights)) and np.all(weights >= 0)):
            raise ValueError(f"{func}: sample_weight must be finite and >= 0")
    kept = ~np.isnan(per_query)
    if not kept.any():
        warnings.warn(f"{func}: every query was skipped (no relevant documents); the mean is NaN",
                      undefined_metric_warning(), stacklevel=4)
        return RankingResult(float("nan"), per_query, queries)
    values = per_query[kept]
    if weights is None:
        mean = float(values.mean())
    else:
        wk = weights[kept]
        if wk.sum() <= 0:
            raise ValueError(f"{func}: sample_weight sums to zero over the scored queries")
        mean = float(np.average(values, weights=wk))
    return RankingResult(mean, per_query, queries)


@validate_params(y_true=[RANKING_Y], y_score=[RANKING_Y], indptr=[INDPTR, None], query=[GROUPS, None],
                 sample_weight=QUERY_WEIGHTS,
                 k=[K, None], gain=[GAIN], ignore_ties=["boolean"], log_base=[LOG_BASE])
def dcg_at_k(y_true, y_score, k: int | None = 10, *, indptr=None, query=None, gain: str = "linear",
             ignore_ties: bool = False, sample_weight=None, log_base: float = 2) -> RankingResult:
    """Discounted cumulative gain at k: ``sum_{r <= k} gain(rel_r) / log2(r + 1)``.

    ``gain="linear"`` uses the relevance itself (Järvelin & Kekäläinen; scikit-learn's
    ``dcg_score``, ranx ``dcg``); ``gain="exponential"`` uses ``2**rel - 1`` (Burges et al.,
    2005; ranx ``dcg_burges``).  With ``ignore_ties=False`` (default, like scikit-learn) documents
    with tied scores share the average of their gains, so the result does not depend on the
    order of tied documents; ``ignore_ties=True`` ranks tied documents as scikit-learn does
    (faster): the later of two documents with equal scores ranks first (the order of
    ``np.argsort(y_score)[::-1]`` with a stable sort).  ``k=None`` uses the whole list.
    ``log_base`` is the base of the discount's logarithm (scikit-learn's ``dcg_score``).

    Parameters
    ----------
    y_true : array-like of shape (n_queries, n_docs), or flat (n_rows,) with ``indptr`` or ``query``
        Graded relevance, >= 0.  A document is *relevant* when its relevance is > 0.
    y_score : array-like, same shape as ``y_true``
        Scores; documents are ranked by decreasing score.
    k : int >= 1 or None
        Cut-off.  A k larger than a query's list covers the whole list.
    indptr : array-like of int, shape (n_queries + 1,), default=None
        CSR offsets for ragged input: query q owns ``y_true[indptr[q]:indptr[q+1]]``.
    query : array-like of shape (n_rows,), default=None
        The query of each row (integers or strings), for flat input: the other ragged form, and
        the keyword :mod:`mlsd.dask` uses.  A query's rows need not be contiguous: a query's
        documents are its rows in their original order, queries come in sorted order
        (``result.queries``, and ``sample_weight`` follows that order).  Pass ``indptr`` or
        ``query``, not both.
    sample_weight : array-like of shape (n_queries,), default=None
        Weights of the queries in the mean.

    Returns
    -------
    RankingResult
        ``.per_query`` (n_queries,) and ``.mean`` (and ``.queries``, the labels, with ``query``).
    """
    return _ranking("dcg", "dcg_at_k", y_true, y_score, k, indptr, query, gain=gain, ignore_ties=ignore_ties,
                    sample_weight=sample_weight, allow_k_none=True, log_base=log_base)


@validate_params(y_true=[RANKING_Y], y_score=[RANKING_Y], indptr=[INDPTR, None], query=[GROUPS, None],
                 sample_weight=QUERY_WEIGHTS,
                 k=[K, None], gain=[GAIN], ignore_ties=["boolean"], empty_target_action=[EMPTY_TARGET_ACTION],
                 log_base=[LOG_BASE])
def ndcg_at_k(y_true, y_score, k: int | None = 10, *, indptr=None, query=None, gain: str = "linear",
              ignore_ties: bool = False, empty_target_action: str = "neg",
              sample_weight=None, log_base: float = 2) -> RankingResult:
    """Normalized DCG at k: DCG@k divided by the DCG@k of the ideal ordering.

    With dense input and the defaults, ``ndcg_at_k(y_true, y_score, k).mean`` equals
    ``sklearn.metrics.ndcg_score(y_true, y_score, k=k)``, ties included.  See :func:`dcg_at_k`
    for ``gain``, ``ignore_ties`` and ``log_base`` (accepted for symmetry with :func:`dcg_at_k`:
    NDCG does not depend on the base).  Unlike scikit-learn's ``ndcg_score``, a single document
    per query is allowed.

    Parameters
    ----------
    y_true : array-like of shape (n_queries, n_docs), or flat (n_rows,) with ``indptr`` or ``query``
        Graded relevance, >= 0.  A document is *relevant* when its relevance is > 0.
    y_score : array-like, same shape as ``y_true``
        Scores; documents are ranked by decreasing score.
    k : int >= 1 or None
        Cut-off.  A k larger than a query's list covers the whole list.
    indptr : array-like of int, shape (n_queries + 1,), default=None
        CSR offsets for ragged input: query q owns ``y_true[indptr[q]:indptr[q+1]]``.
    query : array-like of shape (n_rows,), default=None
        The query of each row (integers or strings), for flat input: the other ragged form, and
        the keyword :mod:`mlsd.dask` uses.  A query's rows need not be contiguous: a query's
        documents are its rows in their original order, queries come in sorted order
        (``result.queries``, and ``sample_weight`` follows that order).  Pass ``indptr`` or
        ``query``, not both.
    empty_target_action : {"neg", "pos", "skip", "error"}, default="neg"
        A query with no relevant document scores 0 ("neg", as scikit-learn, ranx and torchmetrics
        by default), scores 1 ("pos"), is left out of the mean and reported as NaN ("skip"), or
        raises ValueError ("error").  Same names as torchmetrics' retrieval metrics.
    sample_weight : array-like of shape (n_queries,), default=None
        Weights of the queries in the mean.

    Returns
    -------
    RankingResult
        ``.per_query`` (n_queries,) and ``.mean`` (and ``.queries``, the labels, with ``query``).

    Examples
    --------
    >>> import mlsd.metrics as M
    >>> r = M.ndcg_at_k([[3, 2, 0, 1]], [[0.9, 0.1, 0.8, 0.3]], k=3)
    >>> round(r.mean, 4)  # DCG 3 + 0 + 1/2 over ideal 3 + 2/log2(3) + 1/2
    0.735
    """
    return _ranking("ndcg", "ndcg_at_k", y_true, y_score, k, indptr, query, gain=gain, ignore_ties=ignore_ties,
                    empty_target_action=empty_target_action, sample_weight=sample_weight, allow_k_none=True)


@validate_params(y_true=[RANKING_Y], y_score=[RANKING_Y], indptr=[INDPTR, None], query=[GROUPS, None],
                 sample_weight=QUERY_WEIGHTS,
                 k=[K, None], empty_target_action=[EMPTY_TARGET_ACTION])
def map_at_k(y_true, y_score, k: int | None = 10, *, indptr=None, query=None, empty_target_action: str = "neg",
             sample_weight=None) -> RankingResult:
    """Mean average precision at k: per query ``sum_{r <= k, rel_r} P@r / R`` with ``R`` the
    number of relevant documents in the query (ranx and trec_eval's definition).
    Parameters
    ----------
    y_true : array-like of shape (n_queries, n_docs), or flat (n_rows,) with ``indptr`` or ``query``
        Graded relevance, >= 0.  A document is *relevant* when its relevance is > 0.
    y_score : array-like, same shape as ``y_true``
        Scores; documents are ranked by decreasing score.
    k : int >= 1 or None
        Cut-off.  A k larger than a query's list covers the whole list.
    indptr : array-like of int, shape (n_queries + 1,), default=None
        CSR offsets for ragged input: query q owns ``y_true[indptr[q]:indptr[q+1]]``.
    query : array-like of shape (n_rows,), default=None
        The query of each row (integers or strings), for flat input: the other ragged form, and
        the keyword :mod:`mlsd.dask` uses.  A query's rows need not be contiguous: a query's
        documents are its rows in their original order, queries come in sorted order
        (``result.queries``, and ``sample_weight`` follows that order).  Pass ``indptr`` or
        ``query``, not both.
    empty_target_action : {"neg", "pos", "skip", "error"}, default="neg"
        A query with no relevant document scores 0 ("neg", as scikit-learn, ranx and torchmetrics
        by default), scores 1 ("pos"), is left out of the mean and reported as NaN ("skip"), or
        raises ValueError ("error").  Same names as torchmetrics' retrieval metrics.
    sample_weight : array-like of shape (n_queries,), default=None
        Weights of the queries in the mean.

    Returns
    -------
    RankingResult
        ``.per_query`` (n_queries,) and ``.mean`` (and ``.queries``, the labels, with ``query``).

    Ties in ``y_score`` are broken by position in the list: of two documents with the same score,
    the earlier one ranks first.
    """
    return _ranking("average_precision", "map_at_k", y_true, y_score, k, indptr, query,
                    empty_target_action=empty_target_action, sample_weight=sample_weight, allow_k_none=True)


@validate_params(y_true=[RANKING_Y], y_score=[RANKING_Y], indptr=[INDPTR, None], query=[GROUPS, None],
                 sample_weight=QUERY_WEIGHTS,
                 k=[K, None], empty_target_action=[EMPTY_TARGET_ACTION])
def mrr(y_true, y_score, k: int | None = None, *, indptr=None, query=None, empty_target_action: str = "neg",
        sample_weight=None) -> RankingResult:
    """Mean reciprocal rank: ``1 / rank`` of the first relevant document (0 if none is within
    the first k; ``k=None`` searches the whole list).
    Parameters
    ----------
    y_true : array-like of shape (n_queries, n_docs), or flat (n_rows,) with ``indptr`` or ``query``
        Graded relevance, >= 0.  A document is *relevant* when its relevance is > 0.
    y_score : array-like, same shape as ``y_true``
        Scores; documents are ranked by decreasing score.
    k : int >= 1 or None
        Cut-off.  A k larger than a query's list covers the whole list.
    indptr : array-like of int, shape (n_queries + 1,), default=None
        CSR offsets for ragged input: query q owns ``y_true[indptr[q]:indptr[q+1]]``.
    query : array-like of shape (n_rows,), default=None
        The query of each row (integers or strings), for flat input: the other ragged form, and
        the keyword :mod:`mlsd.dask` uses.  A query's rows need not be contiguous: a query's
        documents are its rows in their original order, queries come in sorted order
        (``result.queries``, and ``sample_weight`` follows that order).  Pass ``indptr`` or
        ``query``, not both.
    empty_target_action : {"neg", "pos", "skip", "error"}, default="neg"
        A query with no relevant document scores 0 ("neg", as scikit-learn, ranx and torchmetrics
        by default), scores 1 ("pos"), is left out of the mean and reported as NaN ("skip"), or
        raises ValueError ("error").  Same names as torchmetrics' retrieval metrics.
    sample_weight : array-like of shape (n_queries,), default=None
        Weights of the queries in the mean.

    Returns
    -------
    RankingResult
        ``.per_query`` (n_queries,) and ``.mean`` (and ``.queries``, the labels, with ``query``).

    Ties in ``y_score`` are broken by position in the list: of two documents with the same score,
    the earlier one ranks first.
    """
    return _ranking("reciprocal_rank", "mrr", y_true, y_score, k, indptr, query,
                    empty_target_action=empty_target_action, sample_weight=sample_weight, allow_k_none=True)


@validate_params(y_true=[RANKING_Y], y_score=[RANKING_Y], indptr=[INDPTR, None], query=[GROUPS, None],
                 sample_weight=QUERY_WEIGHTS,
                 k=[K], empty_target_action=[EMPTY_TARGET_ACTION])
def precision_at_k(y_true, y_score, k: int = 10, *, indptr=None, query=None, empty_target_action: str = "neg",
                   sample_weight=None) -> RankingResult:
    """Fraction of the top k that is relevant: ``hits@k / k`` (k, not the list length, is the
    denominator, as in ranx and torchmetrics).
    Parameters
    ----------
    y_true : array-like of shape (n_queries, n_docs), or flat (n_rows,) with ``indptr`` or ``query``
        Graded relevance, >= 0.  A document is *relevant* when its relevance is > 0.
    y_score : array-like, same shape as ``y_true``
        Scores; documents are ranked by decreasing score.
    k : int >= 1
        Cut-off.  A k larger than a query's list covers the whole list.
    indptr : array-like of int, shape (n_queries + 1,), default=None
        CSR offsets for ragged input: query q owns ``y_true[indptr[q]:indptr[q+1]]``.
    query : array-like of shape (n_rows,), default=None
        The query of each row (integers or strings), for flat input: the other ragged form, and
        the keyword :mod:`mlsd.dask` uses.  A query's rows need not be contiguous: a query's
        documents are its rows in their original order, queries come in sorted order
        (``result.queries``, and ``sample_weight`` follows that order).  Pass ``indptr`` or
        ``query``, not both.
    empty_target_action : {"neg", "pos", "skip", "error"}, default="neg"
        A query with no relevant document scores 0 ("neg", as scikit-learn, ranx and torchmetrics
        by default), scores 1 ("pos"), is left out of the mean and reported as NaN ("skip"), or
        raises ValueError ("error").  Same names as torchmetrics' retrieval metrics.
    sample_weight : array-like of shape (n_queries,), default=None
        Weights of the queries in the mean.

    Returns
    -------
    RankingResult
        ``.per_query`` (n_queries,) and ``.mean`` (and ``.queries``, the labels, with ``query``).

    Ties in ``y_score`` are broken by position in the list: of two documents with the same score,
    the earlier one ranks first.
    """
    return _ranking("precision", "precision_at_k", y_true, y_score, k, indptr, query,
                    empty_target_action=empty_target_action, sample_weight=sample_weight)


@validate_params(y_true=[RANKING_Y], y_score=[RANKING_Y], indptr=[INDPTR, None], query=[GROUPS, None],
                 sample_weight=QUERY_WEIGHTS,
                 k=[K], empty_target_action=[EMPTY_TARGET_ACTION])
def recall_at_k(y_true, y_score, k: int = 10, *, indptr=None, query=None, empty_target_action: str = "neg",
                sample_weight=None) -> RankingResult:
    """Fraction of the relevant documents found in the top k: ``hits@k / R``.
    Parameters
    ----------
    y_true : array-like of shape (n_queries, n_docs), or flat (n_rows,) with ``indptr`` or ``query``
        Graded relevance, >= 0.  A document is *relevant* when its relevance is > 0.
    y_score : array-like, same shape as ``y_true``
        Scores; documents are ranked by decreasing score.
    k : int >= 1
        Cut-off.  A k larger than a query's list covers the whole list.
    indptr : array-like of int, shape (n_queries + 1,), default=None
        CSR offsets for ragged input: query q owns ``y_true[indptr[q]:indptr[q+1]]``.
    query : array-like of shape (n_rows,), default=None
        The query of each row (integers or strings), for flat input: the other ragged form, and
        the keyword :mod:`mlsd.dask` uses.  A query's rows need not be contiguous: a query's
        documents are its rows in their original order, queries come in sorted order
        (``result.queries``, and ``sample_weight`` follows that order).  Pass ``indptr`` or
        ``query``, not both.
    empty_target_action : {"neg", "pos", "skip", "error"}, default="neg"
        A query with no relevant document scores 0 ("neg", as scikit-learn, ranx and torchmetrics
        by default), scores 1 ("pos"), is left out of the mean and reported as NaN ("skip"), or
        raises ValueError ("error").  Same names as torchmetrics' retrieval metrics.
    sample_weight : array-like of shape (n_queries,), default=None
        Weights of the queries in the mean.

    Returns
    -------
    RankingResult
        ``.per_query`` (n_queries,) and ``.mean`` (and ``.queries``, the labels, with ``query``).

    Ties in ``y_score`` are broken by position in the list: of two documents with the same score,
    the earlier one ranks first.
    """
    return _ranking("recall", "recall_at_k", y_true, y_score, k, indptr, query,
                    empty_target_action=empty_target_action, sample_weight=sample_weight)


@validate_params(y_true=[RANKING_Y], y_score=[RANKING_Y], indptr=[INDPTR, None], query=[GROUPS, None],
                 sample_weight=QUERY_WEIGHTS,
                 k=[K], empty_target_action=[EMPTY_TARGET_ACTION])
def hit_rate_at_k(y_true, y_score, k: int = 10, *, indptr=None, query=None, empty_target_action: str = "neg",
                  sample_weight=None) -> RankingResult:
    """1 if any relevant document is in the top k, else 0; averaged over queries.
    Parameters
    ----------
    y_true : array-like of shape (n_queries, n_docs), or flat (n_rows,) with ``indptr`` or ``query``
        Graded relevance, >= 0.  A document is *relevant* when its relevance is > 0.
    y_score : array-like, same shape as ``y_true``
        Scores; documents are ranked by decreasing score.
    k : int >= 1
        Cut-off.  A k larger than a query's list covers the whole list.
    indptr : array-like of int, shape (n_queries + 1,), default=None
        CSR offsets for ragged input: query q owns ``y_true[indptr[q]:indptr[q+1]]``.
    query : array-like of shape (n_rows,), default=None
        The query of each row (integers or strings), for flat input: the other ragged form, and
        the keyword :mod:`mlsd.dask` uses.  A query's rows need not be contiguous: a query's
        documents are its rows in their original order, queries come in sorted order
        (``result.queries``, and ``sample_weight`` follows that order).  Pass ``indptr`` or
        ``query``, not both.
    empty_target_action : {"neg", "pos", "skip", "error"}, default="neg"
        A query with no relevant document scores 0 ("neg", as scikit-learn, ranx and torchmetrics
        by default), scores 1 ("pos"), is left out of the mean and reported as NaN ("skip"), or
        raises ValueError ("error").  Same names as torchmetrics' retrieval metrics.
    sample_weight : array-like of shape (n_queries,), default=None
        Weights of the queries in the mean.

    Returns
    -------
    RankingResult
        ``.per_query`` (n_queries,) and ``.mean`` (and ``.queries``, the labels, with ``query``).

    Ties in ``y_score`` are broken by position in the list: of two documents with the same score,
    the earlier one ranks first.
    """
    return _ranking("hit_rate", "hit_rate_at_k", y_true, y_score, k, indptr, query,
                    empty_target_action=empty_target_action, sample_weight=sample_weight)



# The scikit-learn names: same signatures and defaults (k=None: the whole list), a float result.
DENSE_Y = ArrayLike(ndim=2)


@validate_params(y_true=[DENSE_Y], y_score=[DENSE_Y], k=[K, None], log_base=[LOG_BASE], sample_weight=QUERY_WEIGHTS,
                 ignore_ties=["boolean"])
def dcg_score(y_true, y_score, *, k: int | None = None, log_base: float = 2, sample_weight=None,
              ignore_ties: bool = False) -> float:
    """Discounted cumulative gain averaged over queries, as :func:`sklearn.metrics.dcg_score`:
    ``dcg_at_k(y_true, y_score, k, log_base=log_base, ...).mean``.

    ``y_true`` and ``y_score`` are (n_queries, n_docs); relevance must be >= 0 (scikit-learn also
    accepts negative gains).  Tie rules as :func:`dcg_at_k`, equal to scikit-learn's for both
    values of ``ignore_ties``.

    Examples
    --------
    >>> import mlsd.metrics as M
    >>> round(M.dcg_score([[0, 1, 2, 3, 4]], [[0, 0, 0, 0, 0]], ignore_ties=True), 4)
    7.3235
    """
    return _ranking("dcg", "dcg_score", y_true, y_score, k, None, None, ignore_ties=ignore_ties,
                    sample_weight=sample_weight, log_base=log_base).mean


@validate_params(y_true=[DENSE_Y], y_score=[DENSE_Y], k=[K, None], sample_weight=QUERY_WEIGHTS, ignore_ties=["boolean"])
def ndcg_score(y_true, y_score, *, k: int | None = None, sample_weight=None, ignore_ties: bool = False) -> float:
    """Normalized DCG averaged over queries, as :func:`sklearn.metrics.ndcg_score`:
    ``ndcg_at_k(y_true, y_score, k, ...).mean`` with scikit-learn's checks (relevance >= 0, at
    least two documents per query).  A query with no relevant document scores 0.

    Examples
    --------
    >>> import mlsd.metrics as M
    >>> round(M.ndcg_score([[3, 2, 0, 1]], [[0.9, 0.1, 0.8, 0.3]], k=3), 4)
    0.735
    """
    func = "ndcg_score"
    if y_true.shape[1] <= 1:
        raise ValueError(f"{func}: Computing NDCG is only meaningful when there is more than 1 document. "
                         f"Got {y_true.shape[1]} instead.")
    if y_true.size and np.nanmin(y_true) < 0:
        raise ValueError(f"{func}: ndcg_score should not be used on negative y_true values.")
    return _ranking("ndcg", func, y_true, y_score, k, None, None, ignore_ties=ignore_ties,
                    sample_weight=sample_weight).mean
