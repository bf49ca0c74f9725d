"""Probabilistic losses and calibration: log loss, Brier score, normalized entropy, the calibration
curve and the expected calibration error."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import call_kernel, check_int, check_option
from ._common import _k, _mean, _prob_inputs
from ._states import _log_loss_sums

__all__ = ["log_loss", "brier_score_loss", "brier_score", "normalized_entropy", "calibration_curve",
           "expected_calibration_error"]


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
