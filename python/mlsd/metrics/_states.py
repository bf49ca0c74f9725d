"""Mergeable states: the threshold metrics from :class:`ScoreTable` (exact or binned) and the log
loss / NE from :class:`LogLossSums`, built per part of the data and merged.

Both implement the one mergeable-state protocol of :mod:`mlsd._state`: ``from_arrays``,
``update(batch)`` (in place, returns self), ``merge(*others)`` (a new state), ``a + b``,
``sum(states)``, ``to_dict()`` / ``from_dict()`` (JSON-safe, exact) and ``result()``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np

from .._params import ArrayLike, Check, Interval, validate_params
from .._results import Result, result_type
from .._state import MergeableState, array_from_json, json_array
from .._validation import InvalidParameterError, call_kernel, check_same_length
from ._common import _binary_inputs, _clip_eps, _k, _mean, _prob_inputs

__all__ = ["ScoreTable", "ScoreTableResult", "ApproximateAUC", "binned_roc_auc_score", "LogLossSums",
           "LogLossResult"]

MAX_BINS = 2**40


def _is_range(v: Any) -> bool:
    lo, hi = v  # a pair (TypeError/ValueError otherwise: rejected)
    if isinstance(v, (str, bytes)) or any(isinstance(x, (bool, np.bool_)) or not isinstance(x, Real) for x in (lo, hi)):
        return False
    return bool(math.isfinite(lo) and math.isfinite(hi) and lo < hi)


# The 'range' of a binned table: declared once, used by every function that bins scores.
RANGE = Check(_is_range, "a pair (lo, hi) of finite floats with lo < hi")
N_BINS = Interval(Integral, 1, MAX_BINS)


def _is_bins(v: Any) -> bool:
    lo, hi, n = v
    return _is_range((lo, hi)) and N_BINS.accept(n) == n and not isinstance(n, (bool, np.bool_))


BINS = Check(_is_bins, "a tuple (lo, hi, n_bins) with finite floats lo < hi and an int n_bins in [1, 2**40]")
Y_TRUE = ArrayLike(ndim=1)
SCORES = ArrayLike(ndim=1)
WEIGHTS = [ArrayLike(ndim=1), None]
MAX_FPR = [Interval(Real, 0.0, 1.0, closed="right"), None]


def _bins_of(n_bins: int | None, rng: Any) -> tuple[float, float, int] | None:
    return None if n_bins is None else (float(rng[0]), float(rng[1]), int(n_bins))


def _is_empty(*arrays: np.ndarray) -> bool:
    return all(a is None or a.shape == (0,) for a in arrays)


@result_type
class ScoreTableResult(Result):
    """Headline statistics of a :class:`ScoreTable` (:meth:`ScoreTable.result`).

    Attributes
    ----------
    roc_auc, average_precision : float
        As :func:`roc_auc_score` and :func:`average_precision_score` of the rows summarised; NaN
        when undefined (a class missing) rather than an error.
    positive, negative : float
        Total weight (rows without ``sample_weight``) of positives and negatives.
    n_scores : int
        Number of distinct scores (rows of the table).
    auc_error_bound : float
        0 for an exact table; for a binned one see :attr:`ScoreTable.auc_error_bound`.
    """

    roc_auc: float
    average_precision: float
    positive: float
    negative: float
    n_scores: int
    auc_error_bound: float

    def __float__(self) -> float:
        return self.roc_auc


class ScoreTable(MergeableState):
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

    It implements the mergeable-state protocol (:mod:`mlsd._state`): :meth:`from_arrays`,
    :meth:`update` (in place), :meth:`merge` / ``+`` / ``sum(tables)``, :meth:`to_dict` /
    :meth:`from_dict` (JSON-safe, exact) and :meth:`result`.  It also pickles (as its arrays).

    Parameters
    ----------
    score : array-like of float, strictly decreasing, finite
    positive, negative : array-like of float, >= 0, not both 0 in a row; same length as ``score``
    bins : tuple (lo, hi, n_bins), optional
        The bins of a binned table (see :meth:`from_arrays`).

    Examples
    --------
    >>> import numpy as np, mlsd.metrics as M
    >>> y, s = np.array([0, 0, 1, 1, 0, 1]), np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.9])
    >>> t = M.ScoreTable.from_arrays(y[:4], s[:4]) + M.ScoreTable.from_arrays(y[4:], s[4:])
    >>> t.roc_auc_score() == M.roc_auc_score(y, s)
    True
    """

    __slots__ = ("score", "positive", "negative", "bins")

    @validate_params(score=[ArrayLike(ndim=1)], positive=[ArrayLike(ndim=1)], negative=[ArrayLike(ndim=1)],
                     bins=[BINS, None])
    def __init__(self, score: Any = (), positive: Any = (), negative: Any = (), *,
                 bins: tuple[float, float, int] | None = None):
        self.score = np.ascontiguousarray(score, dtype=np.float64)
        self.positive = np.ascontiguousarray(positive, dtype=np.float64)
        self.negative = np.ascontiguousarray(negative, dtype=np.float64)
        self.bins = None if bins is None else (float(bins[0]), float(bins[1]), int(bins[2]))
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
    def _build(cls, func: str, y_true: np.ndarray, y_score: np.ndarray, sample_weight: np.ndarray | None,
               bins: tuple[float, float, int] | None) -> "ScoreTable":
        if _is_empty(y_true, y_score, sample_weight):
            return cls._of((np.empty(0), np.empty(0), np.empty(0)), bins)
        if y_true.shape[0] == 0:  # the others are not empty: a length mismatch, not "y_true is empty"
            check_same_length(func, y_true=y_true, y_score=y_score)
        y, s, w = _binary_inputs(func, y_true, y_score, sample_weight)
        if bins is None:
            return cls._of(call_kernel(func, _k.score_table, y, s, w), None)
        return cls._of(call_kernel(func, _k.binned_score_table, y, s, w, *bins), bins)

    @classmethod
    @validate_params(y_true=[Y_TRUE], y_score=[SCORES], sample_weight=WEIGHTS, n_bins=[N_BINS, None], range=[RANGE])
    def from_arrays(cls, y_true: Any, y_score: Any, *, sample_weight: Any = None, n_bins: int | None = None,
                    range: tuple[float, float] = (0.0, 1.0)) -> "ScoreTable":  # noqa: A002 (numpy's name)
        """The table of one sample, in one multithreaded pass (a parallel radix sort).

        ``n_bins`` (optional): bin scores into ``n_bins`` equal bins over ``range`` first; a score
        ``s`` is replaced by the lower edge of its bin, ``lo + b * (hi - lo) / n_bins`` with
        ``b = clip(floor((s - lo) / ((hi - lo) / n_bins)), 0, n_bins - 1)`` (scores outside the
        range fall in the end bins).  An empty sample gives an empty table.
        """
        return cls._build("ScoreTable.from_arrays", y_true, y_score, sample_weight, _bins_of(n_bins, range))

    @validate_params(y_true=[Y_TRUE], y_score=[SCORES], sample_weight=WEIGHTS)
    def update(self, y_true: Any, y_score: Any, *, sample_weight: Any = None) -> "ScoreTable":
        """Merge a batch of rows into this table (in place, binned as the table is); returns self."""
        batch = ScoreTable._build("ScoreTable.update", y_true, y_score, sample_weight, self.bins)
        self.score, self.positive, self.negative = self._merged([batch])._arrays()
        return self

    @validate_params(others=[Check(lambda ts: all(isinstance(t, ScoreTable) for t in ts), "ScoreTable objects")])
    def merge(self, *others: "ScoreTable") -> "ScoreTable":
        """The table of the union of the samples (a new table; its inputs are unchanged).  Exact:
        merging in any order gives the table of the whole, bit for bit without sample weights."""
        return self._merged(list(others))

    def _merged(self, others: list) -> "ScoreTable":
        for i, o in enumerate(others):
            if o.bins != self.bins:
                raise ValueError(f"ScoreTable.merge: others[{i}] has other bins; tables must have the same bins to "
                                 f"merge; got {self.bins} and {o.bins}")
        tables = [self._arrays()] + [o._arrays() for o in others]
        return ScoreTable._of(call_kernel("ScoreTable.merge", _k.merge_score_tables, tables), self.bins)

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
    @validate_params(max_fpr=MAX_FPR)
    def roc_auc_score(self, *, max_fpr: float | None = None) -> float:
        """:func:`roc_auc_score` of the rows summarised (raises ValueError with a single class)."""
        return float(call_kernel("ScoreTable.roc_auc_score", _k.table_roc_auc, self._arrays(),
                                 1.0 if max_fpr is None else max_fpr))

    @validate_params()
    def average_precision_score(self) -> float:
        """:func:`average_precision_score` of the rows summarised."""
        return float(call_kernel("ScoreTable.average_precision_score", _k.table_average_precision, self._arrays()))

    @validate_params(drop_intermediate=["boolean"])
    def roc_curve(self, *, drop_intermediate: bool = True):
        """:func:`roc_curve` of the rows summarised: a :class:`ROCCurve` (fpr, tpr, thresholds)."""
        from ._threshold import _roc_result

        return _roc_result(*call_kernel("ScoreTable.roc_curve", _k.table_roc_curve, self._arrays(), drop_intermediate))

    @validate_params(drop_intermediate=["boolean"])
    def precision_recall_curve(self, *, drop_intermediate: bool = False):
        """:func:`precision_recall_curve` of the rows summarised: a :class:`PrecisionRecallCurve`
        (precision, recall, thresholds)."""
        from ._threshold import _pr_result

        curve = call_kernel("ScoreTable.precision_recall_curve", _k.table_precision_recall_curve, self._arrays(),
                            drop_intermediate)
        return _pr_result(*curve, float(self.positive.sum()))

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

    @validate_params()
    def result(self) -> ScoreTableResult:
        """ROC AUC, average precision, class weights and size of the table (a
        :class:`ScoreTableResult`; undefined metrics are NaN, not errors)."""
        p, n = float(self.positive.sum()), float(self.negative.sum())
        auc = self.roc_auc_score() if p > 0 and n > 0 else float("nan")
        ap = self.average_precision_score() if p > 0 else float("nan")
        return ScoreTableResult(roc_auc=auc, average_precision=ap, positive=p, negative=n, n_scores=len(self),
                                auc_error_bound=self.auc_error_bound)

    # ---- serialisation -------------------------------------------------------------------------
    def _to_dict_body(self) -> dict:
        return {"score": json_array(self.score), "positive": json_array(self.positive),
                "negative": json_array(self.negative), "bins": None if self.bins is None else list(self.bins)}

    @classmethod
    def _from_dict_body(cls, d: Mapping) -> "ScoreTable":
        if not set(d) <= {"score", "positive", "negative", "bins"}:
            raise KeyError(f"expected the keys bins, negative, positive, score; got {sorted(d)}")
        bins = d.get("bins")
        return cls(array_from_json(d["score"], np.float64), array_from_json(d["positive"], np.float64),
                   array_from_json(d["negative"], np.float64), bins=None if bins is None else tuple(bins))

    @classmethod
    @validate_params(d=[Mapping])
    def from_dict(cls, d: Mapping) -> "ScoreTable":
        """The table saved by :meth:`to_dict` (exactly; dicts without the ``"state"`` key, as
        written before mlsd 0.x had one, load too)."""
        return super().from_dict(d)

    def __reduce__(self):
        return (ScoreTable._of, (self._arrays(), self.bins))


@result_type
class ApproximateAUC(Result):
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

    def to_frame(self):
        """One row: auc, error_bound, n_bins, lo, hi."""
        import pandas as pd

        return pd.DataFrame({"auc": [self.auc], "error_bound": [self.error_bound], "n_bins": [self.n_bins],
                             "lo": [self.range[0]], "hi": [self.range[1]]})


@validate_params(y_true=[Y_TRUE], y_score=[SCORES], sample_weight=WEIGHTS, n_bins=[N_BINS], range=[RANGE])
def binned_roc_auc_score(y_true: Any, y_score: Any, *, sample_weight: Any = None, n_bins: int = 2**16,
                         range: tuple[float, float] = (0.0, 1.0)) -> ApproximateAUC:  # noqa: A002
    """ROC AUC from ``n_bins`` equal-width score bins over ``range``, with an error bound.

    Memory is O(n_bins) whatever the number of rows or distinct scores, which is what makes it
    usable when an exact :class:`ScoreTable` would be too large (billions of distinct scores).
    Scores outside ``range`` fall in the end bins (still ordered correctly against the other
    bins; only the bound grows).  The result is exactly ``roc_auc_score(y_true, binned)`` for the
    binned scores (see :meth:`ScoreTable.from_arrays`), and
    ``|result.auc - roc_auc_score(y_true, y_score)| <= result.error_bound``.

    Returns
    -------
    ApproximateAUC
        ``auc``, ``error_bound``, ``n_bins``, ``range``; ``float(result)`` is ``auc``.

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
    if _is_empty(y_true, y_score):  # the table of nothing has no AUC: say so in this function's name
        _binary_inputs(func, y_true, y_score, sample_weight)
    t = ScoreTable._build(func, y_true, y_score, sample_weight, _bins_of(n_bins, range))
    return _approximate_auc(t, func)


def _approximate_auc(t: ScoreTable, func: str = "binned_roc_auc_score") -> ApproximateAUC:
    lo, hi, n_bins = t.bins
    auc = float(call_kernel(func, _k.table_roc_auc, t._arrays(), 1.0))
    return ApproximateAUC(auc, t.auc_error_bound, n_bins, (lo, hi))


# ---- log loss sums ------------------------------------------------------------------------------


def _log_loss_parts(func: str, y_true: Any, y_prob: Any, sample_weight: Any, eps: float | None,
                    allow_empty: bool = True):
    """(loss, weight, positive, eps) of one sample (zeros for an empty one, if allowed)."""
    eps = _clip_eps(y_prob) if eps is None else float(eps)
    if allow_empty and _is_empty(y_true, y_prob, sample_weight):
        return 0.0, 0.0, 0.0, eps
    if allow_empty and y_true.shape[0] == 0:  # the others are not empty: a length mismatch
        check_same_length(func, y_true=y_true, y_prob=y_prob)
    y, p, w, _ = _prob_inputs(func, y_true, y_prob, sample_weight)
    loss, weight, positive = call_kernel(func, _k.log_loss_sums, y, p, w, eps)
    return float(loss), float(weight), float(positive), eps


def _log_loss_sums(func: str, y_true: Any, y_prob: Any, sample_weight: Any, eps: float | None) -> "LogLossSums":
    return LogLossSums._of(*_log_loss_parts(func, y_true, y_prob, sample_weight, eps, allow_empty=False))


@result_type
class LogLossResult(Result):
    """Headline statistics of a :class:`LogLossSums` (:meth:`LogLossSums.result`): ``log_loss``
    and ``normalized_entropy`` (NaN where undefined: no weight, or a single class for NE) and the
    total ``weight``."""

    log_loss: float
    normalized_entropy: float
    weight: float

    def __float__(self) -> float:
        return self.log_loss


_NONNEG = Interval(Real, 0.0, math.inf, closed="left")  # finite: sums of finite, clipped terms
_EPS = Interval(Real, 0.0, 0.5, closed="neither")


class LogLossSums(MergeableState):
    """Mergeable sums behind :func:`log_loss` and :func:`normalized_entropy`.

    ``loss`` is the (weighted) sum of the per-row log losses, ``weight`` the sum of weights and
    ``positive`` the weight of positives; ``eps`` is the clipping constant (it depends on the
    probabilities' dtype, see :func:`log_loss`), and sums with different ``eps`` do not merge.

    It implements the mergeable-state protocol (:mod:`mlsd._state`): :meth:`from_arrays`,
    :meth:`update` (in place), :meth:`merge` / ``+`` / ``sum(parts)``, :meth:`to_dict` /
    :meth:`from_dict` (JSON-safe, exact) and :meth:`result`.  :meth:`merge` adds each total
    correctly rounded (``math.fsum``), so the order of the parts does not matter; ``a + b`` is
    ``a.merge(b)``.  Per-partition sums give the log loss and NE of the whole data to ~1e-15.

    Examples
    --------
    >>> import mlsd.metrics as M
    >>> y, p = [0, 1, 1, 0], [0.2, 0.7, 0.9, 0.4]
    >>> s = M.LogLossSums.from_arrays(y[:2], p[:2]) + M.LogLossSums.from_arrays(y[2:], p[2:])
    >>> abs(s.log_loss() - M.log_loss(y, p)) < 1e-15
    True
    """

    __slots__ = ("loss", "weight", "positive", "eps")

    @validate_params(loss=[_NONNEG], weight=[_NONNEG], positive=[_NONNEG], eps=[_EPS])
    def __init__(self, loss: float = 0.0, weight: float = 0.0, positive: float = 0.0,
                 eps: float = float(np.finfo(np.float64).eps)):
        self.loss, self.weight, self.positive, self.eps = loss, weight, positive, eps

    @classmethod
    def _of(cls, loss: float, weight: float, positive: float, eps: float) -> "LogLossSums":
        s = cls.__new__(cls)
        s.loss, s.weight, s.positive, s.eps = loss, weight, positive, eps
        return s

    def __repr__(self) -> str:
        return f"LogLossSums(loss={self.loss!r}, weight={self.weight!r}, positive={self.positive!r}, eps={self.eps!r})"

    def __eq__(self, other: Any) -> bool:
        if type(other) is not LogLossSums:
            return NotImplemented
        return (self.loss, self.weight, self.positive, self.eps) == (other.loss, other.weight, other.positive,
                                                                     other.eps)

    __hash__ = None  # mutable (update)

    @classmethod
    @validate_params(y_true=[Y_TRUE], y_prob=[SCORES], sample_weight=WEIGHTS, eps=[_EPS, None])
    def from_arrays(cls, y_true: Any, y_prob: Any, *, sample_weight: Any = None,
                    eps: float | None = None) -> "LogLossSums":
        """Sums of one sample (an empty one gives zeros).  ``eps`` defaults to the machine epsilon
        of ``y_prob``'s float dtype (float64 for other dtypes), as in :func:`log_loss`."""
        return cls._of(*_log_loss_parts("LogLossSums.from_arrays", y_true, y_prob, sample_weight, eps))

    @validate_params(y_true=[Y_TRUE], y_prob=[SCORES], sample_weight=WEIGHTS)
    def update(self, y_true: Any, y_prob: Any, *, sample_weight: Any = None) -> "LogLossSums":
        """Adds a batch in place (clipped at this state's ``eps``); returns self."""
        batch = LogLossSums._of(*_log_loss_parts("LogLossSums.update", y_true, y_prob, sample_weight, self.eps))
        merged = self._merged([batch])
        self.loss, self.weight, self.positive = merged.loss, merged.weight, merged.positive
        return self

    @validate_params(others=[Check(lambda ps: all(isinstance(p, LogLossSums) for p in ps), "LogLossSums objects")])
    def merge(self, *others: "LogLossSums") -> "LogLossSums":
        """The sums of the union of the samples (a new object; the parts are unchanged), each
        total correctly rounded (``math.fsum``), so the order of the parts does not matter.

        ``LogLossSums.merge([a, b, ...])`` (a classmethod taking a list, before the mergeable-state
        protocol) still works but warns with FutureWarning: write ``a.merge(b, ...)`` or ``sum(parts)``.
        """
        if not isinstance(self, LogLossSums):  # LogLossSums.merge([a, b]): the classmethod before the protocol
            warnings.warn("LogLossSums.merge(list) is deprecated: use parts[0].merge(*parts[1:]) or sum(parts)",
                          FutureWarning, stacklevel=3)
            parts = list(self)
            if not parts or not all(isinstance(p, LogLossSums) for p in parts):
                raise InvalidParameterError("LogLossSums.merge: give the parts as a.merge(b, ...); the list "
                                            f"form needs a non-empty list of LogLossSums. Got {self!r} instead.")
            return parts[0].merge(*parts[1:])
        return self._merged(list(others))

    def _merged(self, others: list) -> "LogLossSums":
        parts = [self] + others
        for i, o in enumerate(others):
            if o.eps != self.eps:
                raise ValueError(f"LogLossSums.merge: cannot merge sums clipped at different eps: others[{i}] has "
                                 f"eps={o.eps}, this one {self.eps}")
        return LogLossSums._of(math.fsum(p.loss for p in parts), math.fsum(p.weight for p in parts),
                               math.fsum(p.positive for p in parts), self.eps)

    @validate_params(normalize=["boolean"])
    def log_loss(self, *, normalize: bool = True) -> float:
        """:func:`log_loss` of the rows summarised (the sum when ``normalize=False``)."""
        return float(_mean(self.loss, self.weight, "LogLossSums.log_loss") if normalize else self.loss)

    @validate_params()
    def normalized_entropy(self) -> float:
        """:func:`normalized_entropy` of the rows summarised."""
        return _normalized_entropy(self, "LogLossSums.normalized_entropy")

    @validate_params()
    def result(self) -> LogLossResult:
        """Log loss, normalized entropy (NaN where undefined, not errors) and total weight."""
        ll = self.loss / self.weight if self.weight > 0 else float("nan")
        rate = self.positive / self.weight if self.weight > 0 else float("nan")
        ne = self.normalized_entropy() if 0.0 < rate < 1.0 else float("nan")
        return LogLossResult(log_loss=float(ll), normalized_entropy=ne, weight=float(self.weight))

    def _to_dict_body(self) -> dict:
        return {"loss": float(self.loss), "weight": float(self.weight), "positive": float(self.positive),
                "eps": float(self.eps)}

    @classmethod
    def _from_dict_body(cls, d: Mapping) -> "LogLossSums":
        if set(d) != {"loss", "weight", "positive", "eps"}:
            raise KeyError(f"expected the keys eps, loss, positive, weight; got {sorted(d)}")
        return cls(d["loss"], d["weight"], d["positive"], d["eps"])

    @classmethod
    @validate_params(d=[Mapping])
    def from_dict(cls, d: Mapping) -> "LogLossSums":
        """The sums saved by :meth:`to_dict` (exactly)."""
        return super().from_dict(d)


def _normalized_entropy(sums: LogLossSums, func: str) -> float:
    ll = _mean(sums.loss, sums.weight, func)
    rate = sums.positive / sums.weight
    if not 0.0 < rate < 1.0:
        raise ValueError(f"{func}: y_true must contain both classes (the background entropy is 0); "
                         f"got a positive rate of {rate}")
    entropy = -(rate * np.log(rate) + (1.0 - rate) * np.log1p(-rate))
    return float(ll / entropy)
