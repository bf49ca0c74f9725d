"""Exact threshold metrics and curves on raw rows: ROC AUC, ROC and PR curves, average precision."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._params import ArrayLike, Options, validate_params
from .._results import ResultTuple, axes
from .._validation import call_kernel
from ._common import LABELS, POS_LABEL, undefined_metric_warning, _binary_inputs, _k
from ._states import MAX_FPR, SCORES, WEIGHTS

__all__ = ["roc_auc_score", "roc_curve", "precision_recall_curve", "average_precision_score", "ROCCurve",
           "PrecisionRecallCurve"]


class ROCCurve(ResultTuple):
    """The ROC curve: unpacks as ``fpr, tpr, thresholds`` (as scikit-learn's tuple).

    Attributes
    ----------
    fpr, tpr : ndarray
        False and true positive rates, increasing, from (0, 0) to (1, 1).
    thresholds : ndarray
        ``thresholds[0]`` is ``inf``; the rest are the distinct scores kept, decreasing.
    roc_auc : float
        Area under the curve by the trapezoid rule (NaN with a single class).  It equals
        :func:`roc_auc_score` of the same data to rounding (~1e-15): the points that
        ``drop_intermediate`` leaves out lie on straight segments and add no area.
    """

    _fields = ("fpr", "tpr", "thresholds")
    _extras = ("roc_auc",)

    def plot(self, ax=None, *, label: str | None = None):
        """The curve with the chance diagonal; the AUC in the legend.  Returns the Axes."""
        ax = axes(ax)
        text = "ROC" if label is None else label
        ax.plot(self.fpr, self.tpr, drawstyle="default", label=f"{text} (AUC = {self.roc_auc:.4f})")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8, label="chance")
        ax.set_xlabel("False positive rate")
        ax.set_ylabel("True positive rate")
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.legend(loc="lower right")
        return ax


class PrecisionRecallCurve(ResultTuple):
    """The precision-recall curve: unpacks as ``precision, recall, thresholds`` (as
    scikit-learn's tuple).

    Attributes
    ----------
    precision, recall : ndarray of shape (n_thresholds + 1,)
        Recall decreasing; the last point is (recall 0, precision 1).
    thresholds : ndarray of shape (n_thresholds,)
        Increasing.
    average_precision : float
        ``AP = sum_n (R_n - R_{n-1}) P_n`` over the curve's points, as
        :func:`average_precision_score` (NaN without positives).
    """

    _fields = ("precision", "recall", "thresholds")
    _extras = ("average_precision",)

    def to_frame(self):
        """One row per point: precision, recall, and the threshold (NaN for the last point,
        (recall 0, precision 1), which has none)."""
        import pandas as pd

        thr = np.append(np.asarray(self.thresholds, dtype=np.float64), np.nan)
        return pd.DataFrame({"precision": self.precision, "recall": self.recall, "threshold": thr})

    def plot(self, ax=None, *, label: str | None = None):
        """The step curve (precision against recall); the AP in the legend.  Returns the Axes."""
        ax = axes(ax)
        text = "PR" if label is None else label
        ax.step(self.recall, self.precision, where="post", label=f"{text} (AP = {self.average_precision:.4f})")
        ax.set_xlabel("Recall")
        ax.set_ylabel("Precision")
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.legend(loc="lower left")
        return ax


def _roc_result(fpr: np.ndarray, tpr: np.ndarray, thr: np.ndarray) -> ROCCurve:
    if np.isnan(fpr[-1]) or np.isnan(tpr[-1]):
        auc = float("nan")
    else:
        auc = math.fsum((np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0).tolist())
    return ROCCurve(fpr, tpr, thr, roc_auc=auc)


def _pr_result(precision: np.ndarray, recall: np.ndarray, thr: np.ndarray, positive_weight: float
               ) -> PrecisionRecallCurve:
    if not positive_weight > 0 or np.isnan(recall).any() or not np.isfinite(precision).all():
        ap = float("nan")
    else:  # recall decreases along the curve: R_n - R_{n-1} = -diff
        ap = max(0.0, -math.fsum((np.diff(recall) * precision[:-1]).tolist()))
    return PrecisionRecallCurve(precision, recall, thr, average_precision=ap)


# scikit-learn's averaging options, which do not change a binary score (accepted for its signature).
AVERAGE = [Options({"micro", "macro", "samples", "weighted"}), None]


@validate_params(y_true=[LABELS], y_score=[SCORES], average=AVERAGE, sample_weight=WEIGHTS, max_fpr=MAX_FPR,
                 multi_class=[Options({"raise", "ovr", "ovo"})], labels=[ArrayLike(ndim=1, kinds="biufUSO"), None])
def roc_auc_score(y_true: Any, y_score: Any, *, average: str | None = "macro", sample_weight: Any = None,
                  max_fpr: float | None = None, multi_class: str = "raise", labels: Any = None) -> float:
    """Area under the ROC curve for binary labels.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels: any two values (numbers, bools, strings, bytes).  As in scikit-learn, the
        greater of the two (in sorted order) is the positive class.
    y_score : array-like of shape (n_samples,)
        Scores of the positive class; higher means more likely positive.  Any finite real values.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights.
    max_fpr : float in (0, 1], default=None
        If given and < 1, the standardised partial AUC over FPR in [0, max_fpr] (McClish, 1989),
        exactly as :func:`sklearn.metrics.roc_auc_score` computes it.
    average, multi_class, labels
        scikit-learn's options for multiclass and multilabel targets; they do not change a
        binary score (as in scikit-learn), and are accepted so that its calls run unchanged.

    Returns
    -------
    float

    With a single class in ``y_true`` the AUC is undefined: an :class:`UndefinedMetricWarning`
    (caught as scikit-learn's too) and NaN, as scikit-learn >= 1.8 does.

    Notes
    -----
    Tied scores count one half, i.e. the area under the piecewise-linear ROC curve.  The area is
    summed over the distinct scores with compensation (within a few ulps of the exact sum of its
    terms).  Runs in O(n) passes of a parallel radix sort.

    See Also
    --------
    group_auc : AUC per user/group, averaged.
    roc_curve : the curve itself (``roc_curve(...).plot()``).

    Examples
    --------
    >>> import mlsd.metrics as M
    >>> M.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    func = "roc_auc_score"
    y, s, w = _binary_inputs(func, y_true, y_score, sample_weight, rule="greater")
    try:
        return float(call_kernel(func, _k.roc_auc, y, s, w, 1.0 if max_fpr is None else max_fpr))
    except ValueError as e:  # the kernel names the one-class case; any other problem stays an error
        if "both classes" not in str(e) or _both_classes(y, w):
            raise
    warnings.warn("Only one class is present in y_true. ROC AUC score is not defined in that case.",
                  undefined_metric_warning(), stacklevel=2)
    return float("nan")


def _both_classes(y: np.ndarray, w: np.ndarray | None) -> bool:
    """Whether positives and negatives both carry weight (checked only after a kernel refused the
    input, so the common case pays nothing)."""
    positive = np.count_nonzero(y) if w is None else float(np.dot(y, w))
    negative = y.shape[0] - np.count_nonzero(y) if w is None else float(np.dot(1 - y, w))
    return positive > 0 and negative > 0


@validate_params(y_true=[LABELS], y_score=[SCORES], pos_label=POS_LABEL, sample_weight=WEIGHTS,
                 drop_intermediate=["boolean"])
def roc_curve(y_true: Any, y_score: Any, *, pos_label: Any = None, sample_weight: Any = None,
              drop_intermediate: bool = True) -> ROCCurve:
    """Receiver operating characteristic curve, as :func:`sklearn.metrics.roc_curve`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels: any two values (numbers, bools, strings, bytes).
    y_score : array-like of shape (n_samples,)
        Scores of the positive class.
    pos_label : int, float, bool, str or bytes, default=None
        The positive label.  None (scikit-learn's rule) means 1 when the labels are within {0, 1}
        or {-1, 1}; other labels then raise ValueError asking for it.  With an explicit
        ``pos_label`` every other value is negative (one-vs-rest), as in scikit-learn.
    sample_weight : array-like of shape (n_samples,), default=None
    drop_intermediate : bool

    Returns
    -------
    ROCCurve
        Unpacks as ``fpr, tpr, thresholds`` (ndarrays).  ``thresholds[0]`` is ``inf`` so that the
        curve starts at (0, 0); the rest are the distinct scores, decreasing.  With
        ``drop_intermediate`` the points sklearn drops are dropped.  With a single class the
        undefined rate is NaN and an :class:`UndefinedMetricWarning` is issued, as in
        scikit-learn.  ``.roc_auc`` is the area under the curve; ``.plot()`` draws it.

    Examples
    --------
    >>> import mlsd.metrics as M
    >>> fpr, tpr, thresholds = M.roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> M.roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]).roc_auc
    0.75
    """
    func = "roc_curve"
    y, s, w = _binary_inputs(func, y_true, y_score, sample_weight, pos_label=pos_label, rule="infer_ovr")
    fpr, tpr, thr = call_kernel(func, _k.roc_curve, y, s, w, drop_intermediate)
    if np.isnan(fpr[-1]):
        warnings.warn("No negative samples in y_true, false positive value should be meaningless",
                      undefined_metric_warning(), stacklevel=2)
    if np.isnan(tpr[-1]):
        warnings.warn("No positive samples in y_true, true positive value should be meaningless",
                      undefined_metric_warning(), stacklevel=2)
    return _roc_result(fpr, tpr, thr)


@validate_params(y_true=[LABELS], y_score=[SCORES], pos_label=POS_LABEL, sample_weight=WEIGHTS,
                 drop_intermediate=["boolean"])
def precision_recall_curve(y_true: Any, y_score: Any, *, pos_label: Any = None, sample_weight: Any = None,
                           drop_intermediate: bool = False) -> PrecisionRecallCurve:
    """Precision-recall pairs at every distinct threshold, as
    :func:`sklearn.metrics.precision_recall_curve`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels: any two values (numbers, bools, strings, bytes).
    y_score : array-like of shape (n_samples,)
        Scores of the positive class.
    pos_label : int, float, bool, str or bytes, default=None
        The positive label.  None (scikit-learn's rule) means 1 when the labels are within {0, 1}
        or {-1, 1}; other labels then raise ValueError asking for it.  With an explicit
        ``pos_label`` every other value is negative (one-vs-rest), as in scikit-learn.
    sample_weight : array-like of shape (n_samples,), default=None
    drop_intermediate : bool

    Returns
    -------
    PrecisionRecallCurve
        Unpacks as ``precision, recall, thresholds``: ``precision`` and ``recall`` of shape
        (n_thresholds + 1,), recall decreasing, the last point (recall 0, precision 1);
        ``thresholds`` of shape (n_thresholds,), increasing, in the dtype of ``y_score`` when it is
        a float array.  ``.average_precision`` is :func:`average_precision_score` of the curve;
        ``.plot()`` draws it.
    """
    func = "precision_recall_curve"
    y, s, w = _binary_inputs(func, y_true, y_score, sample_weight, pos_label=pos_label, rule="infer_ovr")
    precision, recall, thr = call_kernel(func, _k.precision_recall_curve, y, s, w, drop_intermediate)
    positive_weight = np.count_nonzero(y) if w is None else np.dot(y, w)
    if positive_weight == 0:
        warnings.warn("No positive class found in y_true, recall is set to one for all thresholds.",
                      undefined_metric_warning(), stacklevel=2)
    if y_score.dtype.kind == "f" and y_score.dtype != np.float64:
        thr = thr.astype(y_score.dtype)
    return _pr_result(precision, recall, thr, positive_weight)


@validate_params(y_true=[LABELS], y_score=[SCORES], average=AVERAGE, pos_label=POS_LABEL, sample_weight=WEIGHTS)
def average_precision_score(y_true: Any, y_score: Any, *, average: str | None = "macro", pos_label: Any = 1,
                            sample_weight: Any = None) -> float:
    """Average precision, the step-wise area under the precision-recall curve:
    ``AP = sum_n (R_n - R_{n-1}) P_n`` (no interpolation), as
    :func:`sklearn.metrics.average_precision_score`.

    Without a positive sample AP is undefined: an :class:`UndefinedMetricWarning` and 0.0, as in
    scikit-learn.

    ``pos_label`` (default 1, as in scikit-learn) is the positive label; with two labels in
    ``y_true`` it must be one of them.  ``average`` (scikit-learn's multilabel option) does not
    change a binary score.  Labels may be any two values (numbers, bools, strings,
    bytes).

    Examples
    --------
    >>> import mlsd.metrics as M
    >>> round(M.average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    func = "average_precision_score"
    y, s, w = _binary_inputs(func, y_true, y_score, sample_weight, pos_label=pos_label, rule="ap")
    try:
        return float(call_kernel(func, _k.average_precision, y, s, w))
    except ValueError as e:
        if "no positive sample" not in str(e) or (np.count_nonzero(y) if w is None else float(np.dot(y, w))) > 0:
            raise
    warnings.warn("No positive class found in y_true, recall is set to one for all thresholds.",
                  undefined_metric_warning(), stacklevel=2)
    return 0.0
