"""Probabilistic losses and calibration: log loss, Brier score, normalized entropy, the calibration
curve and the expected calibration error."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np

from .._params import Interval, Options, validate_params
from .._results import ResultTuple, axes
from .._validation import call_kernel
from ._common import _k, _mean, _prob_inputs
from ._states import SCORES, WEIGHTS, Y_TRUE, _log_loss_sums, _normalized_entropy

__all__ = ["log_loss", "brier_score_loss", "brier_score", "normalized_entropy", "calibration_curve",
           "expected_calibration_error", "CalibrationCurve"]

# More bins than this are no calibration curve (and would allocate gigabytes of edges).
MAX_CALIBRATION_BINS = 2**24
CALIBRATION_BINS = Interval(Integral, 1, MAX_CALIBRATION_BINS)
STRATEGY = Options({"uniform", "quantile"})


class CalibrationCurve(ResultTuple):
    """The calibration curve: unpacks as ``prob_true, prob_pred`` (as scikit-learn's tuple), one
    value per non-empty bin.

    Attributes
    ----------
    prob_true, prob_pred : ndarray
        Observed positive rate and mean predicted probability of each non-empty bin.
    bin_edges : ndarray of shape (n_bins + 1,)
        The edges of all the bins (``uniform``: [0, 1] split evenly; ``quantile``: percentiles of
        ``y_prob``).
    bin_weight : ndarray of shape (n_bins,)
        Rows (or summed ``sample_weight``) per bin, empty bins included: the histogram of the
        predictions, kept so that :meth:`plot` needs no raw data.
    """

    _fields = ("prob_true", "prob_pred")
    _extras = ("bin_edges", "bin_weight")

    def to_frame(self):
        """One row per non-empty bin: its edges, weight, prob_true and prob_pred."""
        import pandas as pd

        nonzero = np.flatnonzero(self.bin_weight != 0)
        return pd.DataFrame({"bin_low": self.bin_edges[nonzero], "bin_high": self.bin_edges[nonzero + 1],
                             "weight": self.bin_weight[nonzero], "prob_true": self.prob_true,
                             "prob_pred": self.prob_pred})

    def plot(self, ax=None):
        """Reliability diagram: observed rate against mean prediction per bin, the diagonal of
        perfect calibration, and the histogram of the predictions (right axis).  Returns the Axes."""
        ax = axes(ax)
        hist = ax.twinx()
        hist.stairs(self.bin_weight, self.bin_edges, fill=True, alpha=0.25, color="grey", label="predictions")
        hist.set_ylabel("Rows per bin")
        ax.set_zorder(hist.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8, label="perfectly calibrated")
        ax.plot(self.prob_pred, self.prob_true, marker="o", label="model")
        ax.set_xlabel("Mean predicted probability")
        ax.set_ylabel("Fraction of positives")
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.legend(loc="upper left")
        return ax


@validate_params(y_true=[Y_TRUE], y_prob=[SCORES], normalize=["boolean"], sample_weight=WEIGHTS)
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
    sums = _log_loss_sums("log_loss", y_true, y_prob, sample_weight, None)
    return float(_mean(sums.loss, sums.weight, "log_loss") if normalize else sums.loss)


@validate_params(y_true=[Y_TRUE], y_prob=[SCORES], sample_weight=WEIGHTS)
def brier_score_loss(y_true: Any, y_prob: Any, *, sample_weight: Any = None) -> float:
    """Mean squared difference between ``y_prob`` and the 0/1 outcome, as
    :func:`sklearn.metrics.brier_score_loss` for binary labels.  ``y_prob`` must be in [0, 1]."""
    func = "brier_score_loss"
    y, p, w, _ = _prob_inputs(func, y_true, y_prob, sample_weight)
    loss, weight, _ = call_kernel(func, _k.brier_sums, y, p, w)
    return float(_mean(loss, weight, func))


brier_score = brier_score_loss


@validate_params(y_true=[Y_TRUE], y_prob=[SCORES], sample_weight=WEIGHTS)
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
    return _normalized_entropy(_log_loss_sums(func, y_true, y_prob, sample_weight, None), func)


def _bin_edges(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    """All n_bins + 1 edges (the kernel takes the inner ones)."""
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100)
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.asarray(edges, dtype=np.float64)


def _calibration_bins(func, y_true, y_prob, n_bins, strategy, sample_weight):
    y, p, w, _ = _prob_inputs(func, y_true, y_prob, sample_weight)
    if strategy == "quantile":  # validate (in parallel, in C++) before np.percentile reads p
        call_kernel(func, _k.calibration_bins, y, p, w, np.empty(0))
    edges = _bin_edges(p, n_bins, strategy)
    weight, sum_prob, sum_true = call_kernel(func, _k.calibration_bins, y, p, w,
                                             np.ascontiguousarray(edges[1:-1]))
    return edges, weight[:n_bins], sum_prob[:n_bins], sum_true[:n_bins]


@validate_params(y_true=[Y_TRUE], y_prob=[SCORES], n_bins=[CALIBRATION_BINS], strategy=[STRATEGY],
                 sample_weight=WEIGHTS)
def calibration_curve(y_true: Any, y_prob: Any, *, n_bins: int = 5, strategy: str = "uniform",
                      sample_weight: Any = None) -> CalibrationCurve:
    """Observed positive rate vs mean predicted probability per bin, as
    :func:`sklearn.calibration.calibration_curve` (same bins: ``uniform`` splits [0, 1] evenly,
    ``quantile`` uses ``np.percentile`` of ``y_prob``; a value equal to an inner edge falls in the
    lower bin).  Empty bins are left out.  ``sample_weight`` is an mlsd extension.

    ``n_bins`` is at most 2**24.

    Returns
    -------
    CalibrationCurve
        Unpacks as ``prob_true, prob_pred`` (ndarrays); ``.bin_edges`` and ``.bin_weight`` (rows
        per bin) keep the histogram of the predictions, and ``.plot()`` draws the reliability
        diagram with it.

    Examples
    --------
    >>> import mlsd.metrics as M
    >>> prob_true, prob_pred = M.calibration_curve([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.9], n_bins=2)
    >>> prob_true.tolist(), prob_pred.tolist()
    ([0.0, 1.0], [0.2, 0.75])
    """
    edges, weight, sum_prob, sum_true = _calibration_bins("calibration_curve", y_true, y_prob, n_bins, strategy,
                                                          sample_weight)
    nonzero = weight != 0
    return CalibrationCurve(sum_true[nonzero] / weight[nonzero], sum_prob[nonzero] / weight[nonzero],
                            bin_edges=edges, bin_weight=weight)


@validate_params(y_true=[Y_TRUE], y_prob=[SCORES], n_bins=[CALIBRATION_BINS], strategy=[STRATEGY],
                 sample_weight=WEIGHTS)
def expected_calibration_error(y_true: Any, y_prob: Any, *, n_bins: int = 10, strategy: str = "uniform",
                               sample_weight: Any = None) -> float:
    """Expected calibration error for binary probabilities:
    ``ECE = sum_b (n_b / n) |mean(y)_b - mean(p)_b|`` over the bins of :func:`calibration_curve`
    (Naeini et al., 2015), with weights when given."""
    func = "expected_calibration_error"
    _, weight, sum_prob, sum_true = _calibration_bins(func, y_true, y_prob, n_bins, strategy, sample_weight)
    total = weight.sum()
    if total <= 0:
        raise ValueError(f"{func}: sample_weight sums to zero; the weighted mean is undefined")
    return float(np.abs(sum_true - sum_prob).sum() / total)
