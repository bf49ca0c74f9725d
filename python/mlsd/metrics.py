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
    InvalidParameterError,
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
    "ScoreTable",
    "LogLossSums",
    "ApproximateAUC",
    "binned_roc_auc_score",
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
    Tied scores count one half, i.e. the area under the piecewise-linear ROC curve.  The area is
    summed over the distinct scores with compensation (within a few ulps of the exact sum of its
    terms).  Runs in O(n) passes of a parallel radix sort.

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
# Mergeable states: the same metrics from summaries of parts of the data
# ---------------------------------------------------------------------------------------------


def _check_range(value: Any, func: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"The 'range' parameter of {func} must be a pair (lo, hi) of finite floats "
                                    f"with lo < hi. Got {value!r} instead.") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise InvalidParameterError(f"The 'range' parameter of {func} must be a pair (lo, hi) of finite floats "
                                    f"with lo < hi. Got {value!r} instead.")
    return lo, hi


class ScoreTable:
    """Mergeable, exact summary of binary scores behind ROC AUC, average precision and the curves.

    A ScoreTable holds each distinct score (``score``, decreasing) with the weight of positives
    (``positive``) and negatives (``negative``) that have exactly that score.  The table of a union
    of samples is the merge of their tables, so per-partition tables, merged, give *exactly* the
    :func:`roc_auc_score`, :func:`average_precision_score`, :func:`roc_curve` and
    :func:`precision_recall_curve` of the concatenated data: the same arithmetic in the same order
    (bit for bit without sample weights, where the weights are integer counts; to rounding with
    them).  Its size is the number of distinct scores, so it stays small for discrete scores and is
    at most the number of rows.

    With ``n_bins``, scores are first mapped to ``n_bins`` equal-width bins over ``range``
    (:attr:`bins`), so the table never has more than ``n_bins`` rows, whatever the data: the
    metrics are then those of the binned scores, and :attr:`auc_error_bound` bounds how far the
    binned AUC can be from the exact one.

    Examples
    --------
    >>> import numpy as np, mlsd.metrics as M
    >>> y, s = np.array([0, 0, 1, 1, 0, 1]), np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.9])
    >>> t = M.ScoreTable.from_arrays(y[:4], s[:4]) + M.ScoreTable.from_arrays(y[4:], s[4:])
    >>> t.roc_auc_score() == M.roc_auc_score(y, s)
    True
    """

    __slots__ = ("score", "positive", "negative", "bins")

    def __init__(self, score: Any = (), positive: Any = (), negative: Any = (), *,
                 bins: tuple[float, float, int] | None = None):
        self.score = np.ascontiguousarray(score, dtype=np.float64)
        self.positive = np.ascontiguousarray(positive, dtype=np.float64)
        self.negative = np.ascontiguousarray(negative, dtype=np.float64)
        if bins is not None:
            lo, hi = _check_range(bins[:2], "ScoreTable")
            bins = (lo, hi, check_int(bins[2], "n_bins", "ScoreTable", min_value=1, max_value=2**40))
        self.bins = bins
        # validates lengths, order and weights (an empty table is valid)
        call_kernel("ScoreTable", _k.merge_score_tables, [self._arrays()])

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.score, self.positive, self.negative

    @classmethod
    def _of(cls, arrays, bins) -> "ScoreTable":
        t = cls.__new__(cls)
        t.score, t.positive, t.negative = arrays
        t.bins = bins
        return t

    @classmethod
    def from_arrays(cls, y_true: Any, y_score: Any, *, sample_weight: Any = None, n_bins: int | None = None,
                    range: tuple[float, float] = (0.0, 1.0)) -> "ScoreTable":  # noqa: A002 (numpy's name)
        """The table of one sample, in one multithreaded pass (a parallel radix sort).

        ``n_bins`` (optional): bin scores into ``n_bins`` equal bins over ``range`` first; a score
        ``s`` is replaced by the lower edge of its bin, ``lo + b * (hi - lo) / n_bins`` with
        ``b = clip(floor((s - lo) / ((hi - lo) / n_bins)), 0, n_bins - 1)`` (scores outside the
        range fall in the end bins).  An empty sample gives an empty table.
        """
        func = "ScoreTable.from_arrays"
        bins = None
        if n_bins is not None:
            lo, hi = _check_range(range, func)
            bins = (lo, hi, check_int(n_bins, "n_bins", func, min_value=1, max_value=2**40))
        if np.shape(y_true) == (0,) and np.shape(y_score) == (0,):
            return cls._of((np.empty(0), np.empty(0), np.empty(0)), bins)
        y, s, w = _binary_inputs(func, y_true, y_score, sample_weight)
        if bins is None:
            return cls._of(call_kernel(func, _k.score_table, y, s, w), None)
        return cls._of(call_kernel(func, _k.binned_score_table, y, s, w, *bins), bins)

    def merge(self, *others: "ScoreTable") -> "ScoreTable":
        """The table of the union of the samples (a new table; its inputs are unchanged)."""
        for o in others:
            if not isinstance(o, ScoreTable):
                raise TypeError(f"ScoreTable.merge: can only merge ScoreTables; got {type(o).__name__}")
            if o.bins != self.bins:
                raise ValueError(f"ScoreTable.merge: tables must have the same bins to merge; got {self.bins} "
                                 f"and {o.bins}")
        tables = [self._arrays()] + [o._arrays() for o in others]
        return ScoreTable._of(call_kernel("ScoreTable.merge", _k.merge_score_tables, tables), self.bins)

    def __add__(self, other: "ScoreTable") -> "ScoreTable":
        if not isinstance(other, ScoreTable):
            return NotImplemented
        return self.merge(other)

    def update(self, y_true: Any, y_score: Any, *, sample_weight: Any = None) -> "ScoreTable":
        """Merge a batch of rows into this table (in place); returns self."""
        n_bins, rng = (None, (0.0, 1.0)) if self.bins is None else (self.bins[2], self.bins[:2])
        merged = self.merge(ScoreTable.from_arrays(y_true, y_score, sample_weight=sample_weight, n_bins=n_bins,
                                                   range=rng))
        self.score, self.positive, self.negative = merged._arrays()
        return self

    def __len__(self) -> int:
        return int(self.score.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the three arrays (what a merge moves over a network)."""
        return int(self.score.nbytes + self.positive.nbytes + self.negative.nbytes)

    def __repr__(self) -> str:
        b = "" if self.bins is None else f", bins={self.bins}"
        return (f"ScoreTable({len(self)} distinct scores, positive={self.positive.sum():g}, "
                f"negative={self.negative.sum():g}{b})")

    # ---- metrics -------------------------------------------------------------------------------
    def roc_auc_score(self, *, max_fpr: float | None = None) -> float:
        """:func:`roc_auc_score` of the rows summarised (raises ValueError with a single class)."""
        func = "roc_auc_score"
        mf = 1.0 if max_fpr is None else check_real(max_fpr, "max_fpr", func, low=0.0, high=1.0, closed="right")
        return float(call_kernel(func, _k.table_roc_auc, self._arrays(), mf))

    def average_precision_score(self) -> float:
        """:func:`average_precision_score` of the rows summarised."""
        return float(call_kernel("average_precision_score", _k.table_average_precision, self._arrays()))

    def roc_curve(self, *, drop_intermediate: bool = True):
        """:func:`roc_curve` of the rows summarised (fpr, tpr, thresholds)."""
        return call_kernel("roc_curve", _k.table_roc_curve, self._arrays(), bool(drop_intermediate))

    def precision_recall_curve(self, *, drop_intermediate: bool = False):
        """:func:`precision_recall_curve` of the rows summarised (precision, recall, thresholds)."""
        return call_kernel("precision_recall_curve", _k.table_precision_recall_curve, self._arrays(),
                           bool(drop_intermediate))

    @property
    def auc_error_bound(self) -> float:
        """Largest possible |binned AUC - exact AUC|: 0 for an exact table.  Pairs of a positive
        and a negative in different bins are ordered exactly; a pair within one bin counts 1/2 but
        may truly be 0 or 1, so the bound is ``0.5 * sum_b P_b N_b / (P N)`` over the bins."""
        if self.bins is None:
            return 0.0
        p, n = self.positive.sum(), self.negative.sum()
        if not (p > 0 and n > 0):
            return float("nan")
        return float(0.5 * np.dot(self.positive / p, self.negative / n))

    # ---- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-able dict (lists of floats); :meth:`from_dict` restores the table exactly."""
        return {"score": self.score.tolist(), "positive": self.positive.tolist(), "negative": self.negative.tolist(),
                "bins": None if self.bins is None else list(self.bins)}

    @classmethod
    def from_dict(cls, d: dict) -> "ScoreTable":
        bins = d.get("bins")
        return cls(d["score"], d["positive"], d["negative"], bins=None if bins is None else tuple(bins))

    def __reduce__(self):
        return (ScoreTable._of, (self._arrays(), self.bins))


@dataclass(frozen=True)
class ApproximateAUC:
    """ROC AUC of binned scores, with a bound on its distance from the exact AUC.

    ``auc`` is the exact AUC of the binned scores; ``error_bound`` is the largest possible
    ``|auc - exact AUC|`` given the bins' contents (see :attr:`ScoreTable.auc_error_bound`);
    ``float(result)`` is ``auc``.
    """

    auc: float
    error_bound: float
    n_bins: int
    range: tuple

    def __float__(self) -> float:
        return self.auc


def binned_roc_auc_score(y_true: Any, y_score: Any, *, sample_weight: Any = None, n_bins: int = 2**16,
                         range: tuple[float, float] = (0.0, 1.0)) -> ApproximateAUC:  # noqa: A002
    """ROC AUC from ``n_bins`` equal-width score bins over ``range``, with an error bound.

    Memory is O(n_bins) whatever the number of rows or distinct scores, which is what makes it
    usable when an exact :class:`ScoreTable` would be too large (billions of distinct scores).
    Scores outside ``range`` fall in the end bins (still ordered correctly against the other
    bins; only the bound grows).  The result is exactly ``roc_auc_score(y_true, binned)`` for the
    binned scores (see :meth:`ScoreTable.from_arrays`), and
    ``|result.auc - roc_auc_score(y_true, y_score)| <= result.error_bound``.

    Examples
    --------
    >>> import numpy as np, mlsd.metrics as M
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(100_000) < 0.3
    >>> p = 1 / (1 + np.exp(-(rng.normal(size=y.size) + y)))
    >>> r = M.binned_roc_auc_score(y, p, n_bins=1024)
    >>> bool(abs(r.auc - M.roc_auc_score(y, p)) <= r.error_bound < 1e-3)
    True
    """
    func = "binned_roc_auc_score"
    lo, hi = _check_range(range, func)
    n_bins = check_int(n_bins, "n_bins", func, min_value=1, max_value=2**40)
    t = ScoreTable.from_arrays(y_true, y_score, sample_weight=sample_weight, n_bins=n_bins, range=(lo, hi))
    return _approximate_auc(t)


def _approximate_auc(t: ScoreTable) -> ApproximateAUC:
    lo, hi, n_bins = t.bins
    return ApproximateAUC(t.roc_auc_score(), t.auc_error_bound, n_bins, (lo, hi))


def _clip_eps(y_prob: Any) -> float:
    dt = np.dtype(y_prob.dtype) if hasattr(y_prob, "dtype") else np.asarray(y_prob).dtype
    return float(np.finfo(dt if dt.kind == "f" else np.float64).eps)


def _log_loss_sums(func: str, y_true: Any, y_prob: Any, sample_weight: Any, eps: float | None) -> "LogLossSums":
    y, p, w, _ = _prob_inputs(func, y_true, y_prob, sample_weight)
    eps = _clip_eps(y_prob) if eps is None else float(eps)
    return LogLossSums(*call_kernel(func, _k.log_loss_sums, y, p, w, eps), eps=eps)


@dataclass
class LogLossSums:
    """Mergeable sums behind :func:`log_loss` and :func:`normalized_entropy`.

    ``loss`` is the (weighted) sum of the per-row log losses, ``weight`` the sum of weights and
    ``positive`` the weight of positives; ``eps`` is the clipping constant (it depends on the
    probabilities' dtype, see :func:`log_loss`), and sums with different ``eps`` do not merge.
    ``a + b`` adds the sums, so per-partition sums give the log loss and NE of the whole data.
    """

    loss: float = 0.0
    weight: float = 0.0
    positive: float = 0.0
    eps: float = float(np.finfo(np.float64).eps)

    @classmethod
    def from_arrays(cls, y_true: Any, y_prob: Any, *, sample_weight: Any = None,
                    eps: float | None = None) -> "LogLossSums":
        """Sums of one sample (an empty one gives zeros).  ``eps`` defaults to the machine epsilon
        of ``y_prob``'s float dtype (float64 for other dtypes), as in :func:`log_loss`."""
        if np.shape(y_true) == (0,) and np.shape(y_prob) == (0,):
            return cls(0.0, 0.0, 0.0, _clip_eps(y_prob) if eps is None else float(eps))
        return _log_loss_sums("LogLossSums.from_arrays", y_true, y_prob, sample_weight, eps)

    def __add__(self, other: "LogLossSums") -> "LogLossSums":
        if not isinstance(other, LogLossSums):
            return NotImplemented
        if other.eps != self.eps:
            raise ValueError(f"LogLossSums: cannot merge sums clipped at different eps ({self.eps} and {other.eps})")
        return LogLossSums(self.loss + other.loss, self.weight + other.weight, self.positive + other.positive,
                           self.eps)

    @classmethod
    def merge(cls, parts: list["LogLossSums"]) -> "LogLossSums":
        """Sum of many parts, each total correctly rounded (math.fsum), so the order does not matter."""
        import math

        if not parts:
            raise ValueError("LogLossSums.merge: no parts")
        eps = {p.eps for p in parts}
        if len(eps) > 1:
            raise ValueError(f"LogLossSums: cannot merge sums clipped at different eps {sorted(eps)}")
        return cls(math.fsum(p.loss for p in parts), math.fsum(p.weight for p in parts),
                   math.fsum(p.positive for p in parts), parts[0].eps)

    def log_loss(self, *, normalize: bool = True) -> float:
        return float(_mean(self.loss, self.weight, "log_loss") if normalize else self.loss)

    def normalized_entropy(self) -> float:
        func = "normalized_entropy"
        ll = _mean(self.loss, self.weight, func)
        rate = self.positive / self.weight
        if not 0.0 < rate < 1.0:
            raise ValueError(f"{func}: y_true must contain both classes (the background entropy is 0); "
                             f"got a positive rate of {rate}")
        entropy = -(rate * np.log(rate) + (1.0 - rate) * np.log1p(-rate))
        return float(ll / entropy)

    def to_dict(self) -> dict:
        return {"loss": self.loss, "weight": self.weight, "positive": self.positive, "eps": self.eps}

    @classmethod
    def from_dict(cls, d: dict) -> "LogLossSums":
        return cls(float(d["loss"]), float(d["weight"]), float(d["positive"]), float(d["eps"]))


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
    return _log_loss_sums("log_loss", y_true, y_prob, sample_weight, None).log_loss(normalize=normalize)


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
    return _log_loss_sums("normalized_entropy", y_true, y_prob, sample_weight, None).normalized_entropy()


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
    return _group_auc_result(labels_of(keys), auc, group_weight, weight, func)


def _group_auc_result(groups: np.ndarray, auc: np.ndarray, group_weight: np.ndarray, weight: str,
                      func: str) -> GroupAUCResult:
    """The average over the per-group table (groups sorted, one row each)."""
    valid = ~np.isnan(auc)
    if not valid.any():
        raise ValueError(f"{func}: no group contains both classes, so no group has an AUC")
    gw = group_weight[valid] if weight == "impressions" else np.ones(int(valid.sum()))
    score = float(np.dot(auc[valid], gw) / gw.sum())
    return GroupAUCResult(score=score, groups=groups, auc=auc, weight=group_weight,
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
    queries: np.ndarray | None = field(default=None, repr=False)

    def __float__(self) -> float:
        return self.mean


_EMPTY_ACTIONS = {"neg": _k.EmptyAction.zero, "pos": _k.EmptyAction.one, "skip": _k.EmptyAction.skip,
                  "error": _k.EmptyAction.error}


def _ranking(metric: str, func: str, y_true, y_score, k, indptr, *, gain="linear", ignore_ties=True,
             empty_target_action="neg", sample_weight=None, allow_k_none=False) -> RankingResult:
    k, gain, action = _ranking_options(func, k, gain, empty_target_action, allow_k_none)
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
    per_query = _ranking_values(metric, func, ip, rel, score, k, gain, ignore_ties, action)
    return _ranking_result(per_query, sample_weight, func)


def _ranking_options(func, k, gain, empty_target_action, allow_k_none):
    k = check_int(k, "k", func, min_value=1, allow_none=allow_k_none)
    gain = check_option(gain, "gain", func, ("linear", "exponential"))
    action = check_option(empty_target_action, "empty_target_action", func, tuple(_EMPTY_ACTIONS))
    return k, gain, action


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
                      UndefinedMetricWarning, stacklevel=4)
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
