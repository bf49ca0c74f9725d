"""Mergeable states: the threshold metrics from :class:`ScoreTable` (exact or binned) and the log
loss / NE from :class:`LogLossSums`, built per part of the data and merged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import InvalidParameterError, call_kernel, check_int, check_real
from ._common import _binary_inputs, _clip_eps, _k, _mean, _prob_inputs

__all__ = ["ScoreTable", "ApproximateAUC", "binned_roc_auc_score", "LogLossSums"]


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
