"""Offline evaluation metrics: classification (ROC/PR AUC, log loss, normalized entropy,
calibration, group AUC) and ranking (NDCG, MAP, MRR, precision/recall/hit rate at k) over many
queries at once.

Every function matches its scikit-learn counterpart where one exists (same signature, same
numbers to ~1e-12), runs multithreaded in C++ with the GIL released, and gives the same result for
any thread count (:func:`mlsd.set_num_threads`).

Conventions
-----------
* ``y_true`` for binary metrics holds 0/1 (bool, integer or float).  Any other value is an error;
  so is NaN or infinity in scores, probabilities or weights, and a negative weight.
* Samples with zero ``sample_weight`` are dropped before thresholds are formed, as in scikit-learn.
* Scores are read as float64 (a float32 array is converted once; float32 -> float64 is exact, so
  orderings and ties do not change).  All arithmetic is float64, so for float32 or float16
  probabilities the losses can differ from scikit-learn's lower-precision arithmetic in the last
  digits of that precision.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _core
from ._validation import (
    as_binary_labels,
    as_float_array,
    as_sample_weight,
    check_int,
    check_option,
    check_real,
    call_kernel,
    check_same_length,
)

__all__ = [
    "UndefinedMetricWarning",
    "roc_auc_score",
    "roc_curve",
    "precision_recall_curve",
    "average_precision_score",
    "log_loss",
    "brier_score_loss",
    "brier_score",
    "normalized_entropy",
    "calibration_curve",
    "expected_calibration_error",
    "group_auc",
    "GroupAUCResult",
    "RankingResult",
    "dcg_at_k",
    "ndcg_at_k",
    "map_at_k",
    "mrr",
    "precision_at_k",
    "recall_at_k",
    "hit_rate_at_k",
]

_k = _core.metrics


class UndefinedMetricWarning(UserWarning):
    """A curve or metric is undefined for this input (e.g. no positive sample)."""


def _binary_inputs(func: str, y_true: Any, y_score: Any, sample_weight: Any, score_name: str = "y_score"):
    y = as_binary_labels(y_true, "y_true", func)
    s = as_float_array(y_score, score_name, func)
    check_same_length(func, y_true=y, **{score_name: s})
    w = as_sample_weight(sample_weight, y.shape[0], func)
    return y, s, w


# ---------------------------------------------------------------------------------------------
# Threshold metrics
# ---------------------------------------------------------------------------------------------


def roc_auc_score(y_true: Any, y_score: Any, *, sample_weight: Any = None, max_fpr: float | None = None) -> float:
    """Area under the ROC curve for binary labels.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels (bool, int or float).
    y_score : array-like of shape (n_samples,)
        Scores; higher means more likely positive.  Any finite real values.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights.
    max_fpr : float in (0, 1], default=None
        If given and < 1, the standardised partial AUC over FPR in [0, max_fpr] (McClish, 1989),
        exactly as :func:`sklearn.metrics.roc_auc_score` computes it.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``y_true`` holds a single class.  (scikit-learn >= 1.8 warns and returns NaN instead;
        mlsd raises so that an undefined AUC cannot flow silently into a report.)

    Notes
    -----
    Tied scores count one half, i.e. the area under the piecewise-linear ROC curve.  Unweighted
    AUC is computed from exact integer rank sums.  Runs in O(n) passes of a parallel radix sort.

    See Also
    --------
    group_auc : AUC per user/group, averaged.

    Examples
    --------
    >>> import mlsd.metrics as M
    >>> M.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    func = "roc_auc_score"
    y, s, w = _binary_inputs(func, y_true, y_score, sample_weight)
    mf = 1.0 if max_fpr is None else check_real(max_fpr, "max_fpr", func, low=0.0, high=1.0, closed="right")
    return float(call_kernel(func, _k.roc_auc, y, s, w, mf))


def roc_curve(y_true: Any, y_score: Any, *, sample_weight: Any = None, drop_intermediate: bool = True):
    """Receiver operating characteristic curve, as :func:`sklearn.metrics.roc_curve`.

    Returns
    -------
    fpr, tpr, thresholds : ndarray
        ``thresholds[0]`` is ``inf`` so that the curve starts at (0, 0); the rest are the distinct
        scores, decreasing.  With ``drop_intermediate`` the points sklearn drops are dropped.
        With a single class the undefined rate is NaN and an :class:`UndefinedMetricWarning` is
        issued, as in scikit-learn.
    """
    func = "roc_curve"
    y, s, w = _binary_inputs(func, y_true, y_score, sample_weight)
    fpr, tpr, thr = call_kernel(func, _k.roc_curve, y, s, w, bool(drop_intermediate))
    if np.isnan(fpr[-1]):
        warnings.warn("No negative samples in y_true, false positive value should be meaningless",
                      UndefinedMetricWarning, stacklevel=2)
    if np.isnan(tpr[-1]):
        warnings.warn("No positive samples in y_true, true positive value should be meaningless",
                      UndefinedMetricWarning, stacklevel=2)
    return fpr, tpr, thr


def precision_recall_curve(y_true: Any, y_score: Any, *, sample_weight: Any = None, drop_intermediate: bool = False):
    """Precision-recall pairs at every distinct threshold, as
    :func:`sklearn.metrics.precision_recall_curve`.

    Returns
    -------
    precision, recall : ndarray of shape (n_thresholds + 1,)
        Recall decreasing; the last point is (recall 0, precision 1).
    thresholds : ndarray of shape (n_thresholds,)
        Increasing; in the dtype of ``y_score`` when it is a float array.
    """
    func = "precision_recall_curve"
    y, s, w = _binary_inputs(func, y_true, y_score, sample_weight)
    precision, recall, thr = call_kernel(func, _k.precision_recall_curve, y, s, w, bool(drop_intermediate))
    positive_weight = np.count_nonzero(y) if w is None else np.dot(y, w)
    if positive_weight == 0:
        warnings.warn("No positive class found in y_true, recall is set to one for all thresholds.",
                      UndefinedMetricWarning, stacklevel=2)
    src = np.asarray(y_score)
    if src.dtype.kind == "f" and src.dtype != np.float64:
        thr = thr.astype(src.dtype)
    return precision, recall, thr


def average_precision_score(y_true: Any, y_score: Any, *, sample_weight: Any = None) -> float:
    """Average precision, the step-wise area under the precision-recall curve:
    ``AP = sum_n (R_n - R_{n-1}) P_n`` (no interpolation), as
    :func:`sklearn.metrics.average_precision_score`.

    Raises ValueError when ``y_true`` has no positive sample (AP is undefined; scikit-learn warns
    and returns 0).

    Examples
    --------
    >>> import mlsd.metrics as M
    >>> round(M.average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    func = "average_precision_score"
    y, s, w = _binary_inputs(func, y_true, y_score, sample_weight)
    return float(call_kernel(func, _k.average_precision, y, s, w))


# ---------------------------------------------------------------------------------------------
# Probabilistic losses and calibration
# ---------------------------------------------------------------------------------------------


def _prob_inputs(func: str, y_true: Any, y_prob: Any, sample_weight: Any):
    src_dtype = np.asarray(y_prob).dtype
    y, p, w = _binary_inputs(func, y_true, y_prob, sample_weight, score_name="y_prob")
    return y, p, w, src_dtype


def _mean(total: float, weight: float, func: str) -> float:
    if weight <= 0:
        raise ValueError(f"{func}: sample_weight sums to zero; the weighted mean is undefined")
    return total / weight


def log_loss(y_true: Any, y_prob: Any, *, normalize: bool = True, sample_weight: Any = None) -> float:
    """Binary cross-entropy, as :func:`sklearn.metrics.log_loss` with a 1-D ``y_prob``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels.
    y_prob : array-like of shape (n_samples,)
        Predicted probability of the positive class, in [0, 1] (values outside raise ValueError).
    normalize : bool, default=True
        Return the (weighted) mean; otherwise the (weighted) sum.
    sample_weight : array-like, default=None

    Notes
    -----
    Clipping rule (scikit-learn's): the probability assigned to the true class is clipped to
    ``[eps, 1 - eps]`` with ``eps = np.finfo(y_prob.dtype).eps`` (float64 eps for non-float
    input), so a confident mistake costs at most ``-log(eps)`` (36.04 for float64, 15.94 for
    float32).  The arithmetic is float64 even for float32 input, so results for float32 agree
    with scikit-learn's (float32) arithmetic to about 1e-7 rather than 1e-12.
    Unlike scikit-learn, ``y_true`` may hold a single class: the labels are known to be {0, 1}.
    """
    func = "log_loss"
    y, p, w, dt = _prob_inputs(func, y_true, y_prob, sample_weight)
    eps = float(np.finfo(dt if dt.kind == "f" else np.float64).eps)
    loss, weight, _ = call_kernel(func, _k.log_loss_sums, y, p, w, eps)
    return float(_mean(loss, weight, func) if normalize else loss)


def brier_score_loss(y_true: Any, y_prob: Any, *, sample_weight: Any = None) -> float:
    """Mean squared difference between ``y_prob`` and the 0/1 outcome, as
    :func:`sklearn.metrics.brier_score_loss` for binary labels.  ``y_prob`` must be in [0, 1]."""
    func = "brier_score_loss"
    y, p, w, _ = _prob_inputs(func, y_true, y_prob, sample_weight)
    loss, weight, _ = call_kernel(func, _k.brier_sums, y, p, w)
    return float(_mean(loss, weight, func))


brier_score = brier_score_loss


def normalized_entropy(y_true: Any, y_prob: Any, *, sample_weight: Any = None) -> float:
    """Normalized entropy (NE): log loss divided by the entropy of the background rate.

    ``NE = log_loss(y, p) / H(p_bar)``, ``H(q) = -(q log q + (1 - q) log(1 - q))``, where
    ``p_bar`` is the (weighted) fraction of positives — the average empirical CTR.  NE < 1 means
    the model beats always predicting the background CTR; lower is better.

    References
    ----------
    He et al., "Practical Lessons from Predicting Clicks on Ads at Facebook", ADKDD 2014.

    Raises
    ------
    ValueError
        If ``y_true`` holds a single class (the background entropy is 0).
    """
    func = "normalized_entropy"
    y, p, w, dt = _prob_inputs(func, y_true, y_prob, sample_weight)
    eps = float(np.finfo(dt if dt.kind == "f" else np.float64).eps)
    loss, weight, positive = call_kernel(func, _k.log_loss_sums, y, p, w, eps)
    ll = _mean(loss, weight, func)
    rate = positive / weight
    if not 0.0 < rate < 1.0:
        raise ValueError(f"{func}: y_true must contain both classes (the background entropy is 0); "
                         f"got a positive rate of {rate}")
    entropy = -(rate * np.log(rate) + (1.0 - rate) * np.log1p(-rate))
    return float(ll / entropy)


def _bin_edges(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100)
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.ascontiguousarray(edges[1:-1], dtype=np.float64)


def _calibration_bins(func, y_true, y_prob, n_bins, strategy, sample_weight):
    n_bins = check_int(n_bins, "n_bins", func, min_value=1)
    strategy = check_option(strategy, "strategy", func, ("uniform", "quantile"))
    y, p, w, _ = _prob_inputs(func, y_true, y_prob, sample_weight)
    if strategy == "quantile":  # validate (in parallel, in C++) before np.percentile reads p
        call_kernel(func, _k.calibration_bins, y, p, w, np.empty(0))
    weight, sum_prob, sum_true = call_kernel(func, _k.calibration_bins, y, p, w, _bin_edges(p, n_bins, strategy))
    return weight[:n_bins], sum_prob[:n_bins], sum_true[:n_bins]


def calibration_curve(y_true: Any, y_prob: Any, *, n_bins: int = 5, strategy: str = "uniform",
                      sample_weight: Any = None):
    """Observed positive rate vs mean predicted probability per bin, as
    :func:`sklearn.calibration.calibration_curve` (same bins: ``uniform`` splits [0, 1] evenly,
    ``quantile`` uses ``np.percentile`` of ``y_prob``; a value equal to an inner edge falls in the
    lower bin).  Empty bins are left out.  ``sample_weight`` is an mlsd extension.

    Returns
    -------
    prob_true, prob_pred : ndarray
    """
    weight, sum_prob, sum_true = _calibration_bins("calibration_curve", y_true, y_prob, n_bins, strategy, sample_weight)
    nonzero = weight != 0
    return sum_true[nonzero] / weight[nonzero], sum_prob[nonzero] / weight[nonzero]


def expected_calibration_error(y_true: Any, y_prob: Any, *, n_bins: int = 10, strategy: str = "uniform",
                               sample_weight: Any = None) -> float:
    """Expected calibration error for binary probabilities:
    ``ECE = sum_b (n_b / n) |mean(y)_b - mean(p)_b|`` over the bins of :func:`calibration_curve`
    (Naeini et al., 2015), with weights when given."""
    func = "expected_calibration_error"
    weight, sum_prob, sum_true = _calibration_bins(func, y_true, y_prob, n_bins, strategy, sample_weight)
    total = weight.sum()
    if total <= 0:
        raise ValueError(f"{func}: sample_weight sums to zero; the weighted mean is undefined")
    return float(np.abs(sum_true - sum_prob).sum() / total)


# ---------------------------------------------------------------------------------------------
# Group AUC
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupAUCResult:
    """Result of :func:`group_auc`.

    Attributes
    ----------
    score : float
        Weighted mean of the per-group AUCs over the groups that have both classes.
    groups : ndarray
        Distinct group labels, sorted.
    auc : ndarray
        AUC per group; NaN for a group with a single class.
    weight : ndarray
        Rows per group (or summed ``sample_weight``).
    n_groups, n_skipped : int
        Groups seen, and groups left out of ``score`` because they hold a single class.
    """

    score: float
    groups: np.ndarray = field(repr=False)
    auc: np.ndarray = field(repr=False)
    weight: np.ndarray = field(repr=False)
    n_groups: int = 0
    n_skipped: int = 0

    def __float__(self) -> float:
        return self.score

    def to_frame(self):
        """Per-group table as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame({"group": self.groups, "auc": self.auc, "weight": self.weight})


def _group_codes(groups: np.ndarray, func: str):
    """int64 keys for the kernel, and a function mapping the kernel's sorted keys back to labels."""
    if groups.dtype.kind in "iu" and (groups.dtype.kind == "i" or groups.dtype.itemsize < 8 or
                                      groups.size == 0 or groups.max() <= np.iinfo(np.int64).max):
        return np.ascontiguousarray(groups, dtype=np.int64), lambda keys: keys.astype(groups.dtype, copy=False)
    if groups.dtype.kind == "f" and np.isnan(groups).any():
        raise ValueError(f"{func}: groups contains NaN")
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None:
        codes, uniques = pd.factorize(groups, sort=True)
        if (codes < 0).any():
            raise ValueError(f"{func}: groups contains missing values (None or NaN)")
        uniques = np.asarray(uniques)
    else:
        try:
            uniques, codes = np.unique(groups, return_inverse=True)
        except TypeError:
            raise TypeError(f"{func}: groups must be integers or strings of one type") from None
    return np.ascontiguousarray(codes, dtype=np.int64), lambda keys: uniques[keys]


def group_auc(y_true: Any, y_score: Any, groups: Any, *, sample_weight: Any = None,
              weight: str = "impressions") -> GroupAUCResult:
    """Group AUC (GAUC): ROC AUC within each group (user, query, session), averaged over groups.

    Parameters
    ----------
    y_true, y_score : array-like of shape (n_samples,)
    groups : array-like of shape (n_samples,)
        Group of each row: integers or strings, in any order.
    sample_weight : array-like, default=None
        Row weights, used inside each group's AUC and for ``weight="impressions"``.
    weight : {"impressions", "uniform"}, default="impressions"
        ``"impressions"`` weights each group's AUC by its rows (or summed ``sample_weight``), the
        GAUC of Zhou et al. (DIN, KDD 2018); ``"uniform"`` averages groups equally.

    Returns
    -------
    GroupAUCResult
        ``score`` plus the per-group table.  Groups with a single class have no AUC: they are
        left out of the average and counted in ``n_skipped``.

    Raises
    ------
    ValueError
        If no group has both classes.

    Examples
    --------
    >>> import mlsd.metrics as M
    >>> r = M.group_auc([0, 1, 0, 1, 1], [0.2, 0.9, 0.6, 0.4, 0.7], ["u1", "u1", "u2", "u2", "u3"])
    >>> r.score, r.n_skipped
    (0.5, 1)
    """
    func = "group_auc"
    weight = check_option(weight, "weight", func, ("impressions", "uniform"))
    y, s, w = _binary_inputs(func, y_true, y_score, sample_weight)
    g = np.asarray(groups)
    if g.ndim != 1:
        raise ValueError(f"{func}: groups must be 1-D; got an array of shape {g.shape}")
    check_same_length(func, y_true=y, groups=g)
    codes, labels_of = _group_codes(g, func)
    keys, auc, group_weight = call_kernel(func, _k.group_auc, codes, y, s, w)
    valid = ~np.isnan(auc)
    if not valid.any():
        raise ValueError(f"{func}: no group contains both classes, so no group has an AUC")
    gw = group_weight[valid] if weight == "impressions" else np.ones(int(valid.sum()))
    score = float(np.dot(auc[valid], gw) / gw.sum())
    return GroupAUCResult(score=score, groups=labels_of(keys), auc=auc, weight=group_weight,
                          n_groups=int(auc.shape[0]), n_skipped=int((~valid).sum()))


# ---------------------------------------------------------------------------------------------
# Ranking metrics over many queries
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankingResult:
    """Per-query values of a ranking metric and their mean.

    ``mean`` ignores skipped queries (NaN in ``per_query``, see ``empty_target_action``) and
    applies ``sample_weight`` when given.  ``float(result)`` is ``result.mean``.
    """

    mean: float
    per_query: np.ndarray = field(repr=False)

    def __float__(self) -> float:
        return self.mean


_EMPTY_ACTIONS = {"neg": _k.EmptyAction.zero, "pos": _k.EmptyAction.one, "skip": _k.EmptyAction.skip,
                  "error": _k.EmptyAction.error}


def _ranking(metric: str, func: str, y_true, y_score, k, indptr, *, gain="linear", ignore_ties=True,
             empty_target_action="neg", sample_weight=None, allow_k_none=False) -> RankingResult:
    k = check_int(k, "k", func, min_value=1, allow_none=allow_k_none)
    gain = check_option(gain, "gain", func, ("linear", "exponential"))
    action = check_option(empty_target_action, "empty_target_action", func, tuple(_EMPTY_ACTIONS))
    if indptr is None:
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
        ip_arr = np.asarray(indptr)
        if ip_arr.ndim != 1 or ip_arr.dtype.kind not in "iu":
            raise TypeError(f"{func}: indptr must be a 1-D integer array; got dtype {ip_arr.dtype}, shape {ip_arr.shape}")
        ip = np.ascontiguousarray(ip_arr, dtype=np.int64)
    n_queries = ip.shape[0] - 1
    if n_queries < 1:
        raise ValueError(f"{func}: no query given; y_true must have at least one row (indptr at least 2 entries)")
    kk = int(np.iinfo(np.int64).max) if k is None else min(k, int(np.iinfo(np.int64).max))
    per_query = call_kernel(func, _k.ranking_metric, getattr(_k.RankingMetric, metric), ip, rel, score, kk,
                            getattr(_k.Gain, gain), bool(ignore_ties), _EMPTY_ACTIONS[action])
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
                      UndefinedMetricWarning, stacklevel=3)
        return RankingResult(float("nan"), per_query)
    values = per_query[kept]
    if weights is None:
        mean = float(values.mean())
    else:
        wk = weights[kept]
        if wk.sum() <= 0:
            raise ValueError(f"{func}: sample_weight sums to zero over the scored queries")
        mean = float(np.average(values, weights=wk))
    return RankingResult(mean, per_query)


_RANKING_DOC = """
    Parameters
    ----------
    y_true : array-like of shape (n_queries, n_docs), or flat (nnz,) with ``indptr``
        Graded relevance, >= 0.  A document is *relevant* when its relevance is > 0.
    y_score : array-like, same shape as ``y_true``
        Scores; documents are ranked by decreasing score.
    k : int >= 1{k_none}
        Cut-off.  A k larger than a query's list covers the whole list.
    indptr : array-like of int, shape (n_queries + 1,), default=None
        CSR offsets for ragged input: query q owns ``y_true[indptr[q]:indptr[q+1]]``.
    empty_target_action : {{"neg", "pos", "skip", "error"}}, default="neg"
        A query with no relevant document scores 0 ("neg", as scikit-learn, ranx and torchmetrics
        by default), scores 1 ("pos"), is left out of the mean and reported as NaN ("skip"), or
        raises ValueError ("error").  Same names as torchmetrics' retrieval metrics.
    sample_weight : array-like of shape (n_queries,), default=None
        Weights of the queries in the mean.

    Returns
    -------
    RankingResult
        ``.per_query`` (n_queries,) and ``.mean``.
"""

_TIES_NOTE = """
    Ties in ``y_score`` are broken by position in the list: of two documents with the same score,
    the earlier one ranks first.
"""


def dcg_at_k(y_true, y_score, k: int | None = 10, *, indptr=None, gain: str = "linear", ignore_ties: bool = False,
             sample_weight=None) -> RankingResult:
    """Discounted cumulative gain at k: ``sum_{r <= k} gain(rel_r) / log2(r + 1)``.

    ``gain="linear"`` uses the relevance itself (Järvelin & Kekäläinen; scikit-learn's
    ``dcg_score``, ranx ``dcg``); ``gain="exponential"`` uses ``2**rel - 1`` (Burges et al.,
    2005; ranx ``dcg_burges``).  With ``ignore_ties=False`` (default, like scikit-learn) documents
    with tied scores share the average of their gains, so the result does not depend on the
    order of tied documents; ``ignore_ties=True`` ranks ties by position (faster).  ``k=None``
    uses the whole list.
    """
    return _ranking("dcg", "dcg_at_k", y_true, y_score, k, indptr, gain=gain, ignore_ties=ignore_ties,
                    sample_weight=sample_weight, allow_k_none=True)


def ndcg_at_k(y_true, y_score, k: int | None = 10, *, indptr=None, gain: str = "linear", ignore_ties: bool = False,
              empty_target_action: str = "neg", sample_weight=None) -> RankingResult:
    """Normalized DCG at k: DCG@k divided by the DCG@k of the ideal ordering.

    With dense input and the defaults, ``ndcg_at_k(y_true, y_score, k).mean`` equals
    ``sklearn.metrics.ndcg_score(y_true, y_score, k=k)``, ties included.  See :func:`dcg_at_k`
    for ``gain`` and ``ignore_ties``.  Unlike scikit-learn, a single document per query is
    allowed.

    Examples
    --------
    >>> import mlsd.metrics as M
    >>> r = M.ndcg_at_k([[3, 2, 0, 1]], [[0.9, 0.1, 0.8, 0.3]], k=3)
    >>> round(r.mean, 4)  # DCG 3 + 0 + 1/2 over ideal 3 + 2/log2(3) + 1/2
    0.735
    """
    return _ranking("ndcg", "ndcg_at_k", y_true, y_score, k, indptr, gain=gain, ignore_ties=ignore_ties,
                    empty_target_action=empty_target_action, sample_weight=sample_weight, allow_k_none=True)


def map_at_k(y_true, y_score, k: int | None = 10, *, indptr=None, empty_target_action: str = "neg",
             sample_weight=None) -> RankingResult:
    """Mean average precision at k: per query ``sum_{r <= k, rel_r} P@r / R`` with ``R`` the
    number of relevant documents in the query (ranx and trec_eval's definition)."""
    return _ranking("average_precision", "map_at_k", y_true, y_score, k, indptr,
                    empty_target_action=empty_target_action, sample_weight=sample_weight, allow_k_none=True)


def mrr(y_true, y_score, k: int | None = None, *, indptr=None, empty_target_action: str = "neg",
        sample_weight=None) -> RankingResult:
    """Mean reciprocal rank: ``1 / rank`` of the first relevant document (0 if none is within
    the first k; ``k=None`` searches the whole list)."""
    return _ranking("reciprocal_rank", "mrr", y_true, y_score, k, indptr,
                    empty_target_action=empty_target_action, sample_weight=sample_weight, allow_k_none=True)


def precision_at_k(y_true, y_score, k: int = 10, *, indptr=None, empty_target_action: str = "neg",
                   sample_weight=None) -> RankingResult:
    """Fraction of the top k that is relevant: ``hits@k / k`` (k, not the list length, is the
    denominator, as in ranx and torchmetrics)."""
    return _ranking("precision", "precision_at_k", y_true, y_score, k, indptr,
                    empty_target_action=empty_target_action, sample_weight=sample_weight)


def recall_at_k(y_true, y_score, k: int = 10, *, indptr=None, empty_target_action: str = "neg",
                sample_weight=None) -> RankingResult:
    """Fraction of the relevant documents found in the top k: ``hits@k / R``."""
    return _ranking("recall", "recall_at_k", y_true, y_score, k, indptr,
                    empty_target_action=empty_target_action, sample_weight=sample_weight)


def hit_rate_at_k(y_true, y_score, k: int = 10, *, indptr=None, empty_target_action: str = "neg",
                  sample_weight=None) -> RankingResult:
    """1 if any relevant document is in the top k, else 0; averaged over queries."""
    return _ranking("hit_rate", "hit_rate_at_k", y_true, y_score, k, indptr,
                    empty_target_action=empty_target_action, sample_weight=sample_weight)


for _f, _kn in ((dcg_at_k, " or None"), (ndcg_at_k, " or None"), (map_at_k, " or None"), (mrr, " or None"),
                (precision_at_k, ""), (recall_at_k, ""), (hit_rate_at_k, "")):
    _doc = _RANKING_DOC.format(k_none=_kn)
    if _f is dcg_at_k:  # no empty-query handling: DCG is not normalised
        _doc = _doc.replace(_doc[_doc.index("    empty_target_action"):_doc.index("    sample_weight")], "")
    if _f not in (dcg_at_k, ndcg_at_k):
        _doc += _TIES_NOTE
    _text = _f.__doc__ or ""
    _at = _text.find("\n    Examples\n")
    _f.__doc__ = _text + _doc if _at < 0 else _text[:_at] + "\n" + _doc + _text[_at:]
del _f, _kn, _doc, _text, _at
