"""Exact threshold metrics and curves on raw rows: ROC AUC, ROC and PR curves, average precision."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._validation import call_kernel, check_real
from ._common import UndefinedMetricWarning, _binary_inputs, _k

__all__ = ["roc_auc_score", "roc_curve", "precision_recall_curve", "average_precision_score"]


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
