"""Probabilistic losses and calibration: log loss, Brier score, normalized entropy, the calibration
curve and the expected calibration error."""

from __future__ import annotations

import re
import warnings
from numbers import Integral
from typing import Any

import numpy as np

from .._params import ArrayLike, Interval, Options, validate_params
from .._results import ResultTuple, axes
from .._validation import as_binary_labels, as_float_array, as_sample_weight, call_kernel, check_same_length
from ._common import LABELS, POS_LABEL, _classes, _clip_eps, _k, _mean, _prob_inputs, _repr_classes, binary_labels
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


# Probabilities of the positive class (n_samples,), or one column per class (n_samples, 2).
PROBA = ArrayLike(ndim=(1, 2))


def _proba_argument(func: str, y_proba: Any, renamed: dict[str, Any]) -> Any:
    """``y_proba``, or the value given under an earlier name (mlsd's ``y_prob``, scikit-learn's
    ``y_pred``) with a FutureWarning."""
    for old, value in renamed.items():
        if value is None:
            continue
        if y_proba is not None:
            raise ValueError(f"{func}: Cannot use both `{old}` and `y_proba`. `{old}` is deprecated, use `y_proba` "
                             "instead.")
        warnings.warn(f"{func}: `{old}` was renamed to `y_proba` in version 1.9 and will be removed in a later "
                      "version (scikit-learn 1.9's name for it). Use `y_proba` instead.", FutureWarning, stacklevel=3)
        return value
    if y_proba is None:
        raise TypeError(f"{func}: missing the required argument y_proba")
    return y_proba


def _kernel_names_y_proba(func: str, kernel, *args):
    """The loss kernels name their probability argument ``y_prob``; these functions call it ``y_proba``."""
    try:
        return call_kernel(func, kernel, *args)
    except ValueError as e:
        raise ValueError(re.sub(r"\by_prob\b", "y_proba", str(e))) from None


def _labels_with_columns(func: str, y_true: Any, labels: Any, rule: str, pos_label: Any = None,
                         n_columns: int | None = None) -> np.ndarray:
    """0/1 labels (1 = the positive class, the second of the two sorted classes or ``labels``).
    ``n_columns``: the columns of a y_proba matrix, for scikit-learn's messages when they and the
    classes disagree."""
    if labels is None and n_columns is not None:
        arr = np.asarray(y_true)
        if arr.ndim == 1 and arr.size:
            classes = _classes(arr, func)
            if classes.shape[0] > 2:
                raise ValueError(f"{func}: y_true and y_prob contain different number of classes: "
                                 f"{classes.shape[0]} vs {n_columns}. Please provide the true labels explicitly "
                                 f"through the labels argument. Classes found in y_true: {classes}")
    if labels is None:
        if rule == "greater":
            arr = np.asarray(y_true)
            if arr.ndim == 1 and arr.size and arr.dtype.kind in "biuf":
                try:
                    return as_binary_labels(arr, "y_true", func)  # 0/1 labels: the fast path, one class allowed
                except ValueError:
                    pass
            if arr.ndim == 1 and arr.size:
                classes = _classes(arr, func)
                if classes.shape[0] == 1:
                    raise ValueError(f"{func}: y_true contains only one label ({classes[0]}). Please provide the list "
                                     "of all expected class labels explicitly through the labels argument.")
        return binary_labels(y_true, func, pos_label, rule)
    given = np.asarray(labels)
    classes = np.unique(given)
    if n_columns is not None and classes.shape[0] != n_columns:
        raise ValueError(f"{func}: The number of classes in labels is different from that in y_prob. Classes found "
                         f"in labels: {classes}")
    if classes.ndim != 1 or classes.shape[0] != 2:
        raise ValueError(f"{func}: labels must hold the two classes of a binary problem; got {classes.shape[0]} "
                         f"({_repr_classes(classes)}): multiclass is not supported")
    arr = np.asarray(y_true)
    if arr.ndim != 1:
        raise ValueError(f"{func}: y_true must be 1-D; got an array of shape {arr.shape}")
    unknown = set(_classes(arr, func).tolist()) - set(classes.tolist())
    if unknown:
        raise ValueError(f"{func}: y_true contains values {unknown} not belonging to the passed labels "
                         f"{np.asarray(labels).tolist()}.")
    return np.ascontiguousarray(arr == classes[1]).view(np.uint8)


def _true_class_proba(func: str, y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """For an (n_samples, 2) matrix: the probability each row gives its true class (column 1 for
    the positive class), after scikit-learn's checks; the loss depends on nothing else."""
    if proba.shape[1] != 2:
        raise ValueError(f"{func}: y_proba has {proba.shape[1]} columns; only binary problems (1-D y_proba or two "
                         "columns) are supported")
    check_same_length(func, y_true=y, y_proba=proba)
    p = as_float_array(proba, "y_proba", func, ndim=2)
    finite = np.isfinite(p)
    if not finite.all() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"{func}: y_proba must be finite and in [0, 1]")
    eps = _clip_eps(proba)
    if not np.allclose(p.sum(axis=1), 1.0, rtol=np.sqrt(eps), atol=0.0):
        warnings.warn("The y_prob values do not sum to one. Make sure to pass probabilities.", UserWarning,
                      stacklevel=4)
    return np.ascontiguousarray(p[np.arange(p.shape[0]), y])


@validate_params(y_true=[LABELS], y_proba=[PROBA, None], normalize=["boolean"], sample_weight=WEIGHTS,
                 labels=[ArrayLike(ndim=1, kinds="biufUSO"), None], y_prob=[PROBA, None], y_pred=[PROBA, None])
def log_loss(y_true: Any, y_proba: Any = None, *, normalize: bool = True, sample_weight: Any = None,
             labels: Any = None, y_prob: Any = None, y_pred: Any = None) -> float:
    """Binary cross-entropy, as :func:`sklearn.metrics.log_loss` for two classes.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels: any two values (numbers, bools, strings, bytes).  As in scikit-learn, the
        classes are sorted and the second is the positive one.
    y_proba : array-like of shape (n_samples,) or (n_samples, 2)
        Probability of the positive class, or one column per class in sorted class order (as
        ``predict_proba`` gives), in [0, 1] (values outside raise ValueError).  Rows of a matrix
        that do not sum to one warn, as in scikit-learn.
    normalize : bool, default=True
        Return the (weighted) mean; otherwise the (weighted) sum.
    sample_weight : array-like, default=None
    labels : array-like of shape (2,), default=None
        The two classes, when ``y_true`` may hold only one of them.
    y_prob, y_pred : deprecated
        Earlier names of ``y_proba`` (mlsd's and scikit-learn's); they still work, with a
        FutureWarning.

    Notes
    -----
    Clipping rule (scikit-learn's): the probability assigned to the true class is clipped to
    ``[eps, 1 - eps]`` with ``eps = np.finfo(y_proba.dtype).eps`` (float64 eps for non-float
    input), so a confident mistake costs at most ``-log(eps)`` (36.04 for float64, 15.94 for
    float32).  The arithmetic is float64 even for float32 input, so results for float32 agree
    with scikit-learn's (float32) arithmetic to about 1e-7 rather than 1e-12.
    Unlike scikit-learn, 0/1 labels may hold a single class without ``labels``: the classes are
    known to be {0, 1}.  With more than two classes (``y_proba`` with one column per class, in
    sorted class order or the order of ``labels``) the multiclass log loss is computed in NumPy
    (not the parallel C++ kernel), with the same clipping rule.
    """
    func = "log_loss"
    proba = _proba_argument(func, y_proba, {"y_prob": y_prob, "y_pred": y_pred})
    proba = proba if isinstance(proba, np.ndarray) else np.asarray(proba)
    if proba.ndim == 2 and proba.shape[1] == 1:
        proba = proba[:, 0]
    n_true = np.shape(y_true)[0] if np.ndim(y_true) else 0
    if proba.shape[0] != n_true:
        raise ValueError(f"{func}: y_proba has {proba.shape[0]} elements but y_true has {n_true} (Found input "
                         f"variables with inconsistent numbers of samples: [{proba.shape[0]}, {n_true}])")
    if proba.ndim == 2 and (proba.shape[1] > 2 or labels is not None and np.unique(np.asarray(labels)).shape[0] > 2):
        return _multiclass_log_loss(func, y_true, proba, labels, normalize, sample_weight)
    y = _labels_with_columns(func, y_true, labels, "greater", n_columns=proba.shape[1] if proba.ndim == 2 else None)
    if proba.ndim == 2:
        q = _true_class_proba(func, y, proba)
        sums = _kernel_names_y_proba(func, _log_loss_sums, func, np.ones_like(y), q, sample_weight, _clip_eps(proba))
    else:
        sums = _kernel_names_y_proba(func, _log_loss_sums, func, y, proba, sample_weight, None)
    return float(_mean(sums.loss, sums.weight, func) if normalize else sums.loss)


def _multiclass_log_loss(func: str, y_true: Any, proba: np.ndarray, labels: Any, normalize: bool,
                         sample_weight: Any) -> float:
    """scikit-learn's multiclass log loss: ``-sum_c [y = c] log(clip(p_c, eps, 1 - eps))`` per row."""
    arr = np.asarray(y_true)
    if arr.ndim != 1:
        raise ValueError(f"{func}: y_true must be 1-D; got an array of shape {arr.shape}")
    present = _classes(arr, func)
    if labels is None:
        classes = present
        if classes.shape[0] == 1:
            raise ValueError(f"{func}: y_true contains only one label ({classes[0]}). Please provide the list of all "
                             "expected class labels explicitly through the labels argument.")
    else:
        given = np.asarray(labels)
        classes = np.unique(given)
        unknown = set(present.tolist()) - set(classes.tolist())
        if unknown:
            raise ValueError(f"{func}: y_true contains values {unknown} not belonging to the passed labels "
                             f"{given.tolist()}.")
        if not np.array_equal(given, classes):
            warnings.warn(f"Labels passed were {given.tolist()}. But this function assumes labels are ordered "
                          f"lexicographically. Pass the ordered labels={classes.tolist()} and ensure that the columns "
                          "of y_prob correspond to this ordering.", UserWarning, stacklevel=3)
    if classes.shape[0] != proba.shape[1]:
        if labels is None:
            raise ValueError(f"{func}: y_true and y_prob contain different number of classes: {classes.shape[0]} vs "
                             f"{proba.shape[1]}. Please provide the true labels explicitly through the labels "
                             f"argument. Classes found in y_true: {classes}")
        raise ValueError(f"{func}: The number of classes in labels is different from that in y_prob. Classes found "
                         f"in labels: {classes}")
    p = as_float_array(proba, "y_proba", func, ndim=2)
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"{func}: y_proba must be finite and in [0, 1]")
    eps = _clip_eps(proba)
    if not np.allclose(p.sum(axis=1), 1.0, rtol=np.sqrt(eps), atol=0.0):
        warnings.warn("The y_prob values do not sum to one. Make sure to pass probabilities.", UserWarning,
                      stacklevel=3)
    column = np.searchsorted(classes, arr)
    per_row = -np.log(np.clip(p[np.arange(p.shape[0]), column], eps, 1 - eps))
    w = as_sample_weight(sample_weight, arr.shape[0], func)
    if w is None:
        return float(per_row.mean() if normalize else per_row.sum())
    if not (np.isfinite(w).all() and (w >= 0).all()):
        raise ValueError(f"{func}: sample_weight must be finite and >= 0")
    total = float(np.dot(per_row, w))
    return float(_mean(total, float(w.sum()), func) if normalize else total)


def _one_hot_or_labels(func: str, y_true: Any, labels: Any, n_columns: int) -> np.ndarray:
    """scikit-learn's brier_score_loss also takes y_true one-hot, as (n_samples, 2) 0/1 columns
    (one 1 per row) next to a two-column y_proba: its second column is the positive class."""
    arr = np.asarray(y_true)
    if arr.ndim == 2:
        if arr.shape[1] != 2 or n_columns != 2 or arr.dtype.kind not in "biuf" or not np.isin(arr, (0, 1)).all() \
                or not (arr.sum(axis=1) == 1).all():
            raise ValueError(f"{func}: a 2-D y_true must be one-hot with two columns (one 1 per row), next to a "
                             f"two-column y_proba; got shape {arr.shape}")
        return np.ascontiguousarray(arr[:, 1] == 1).view(np.uint8)
    return _labels_with_columns(func, y_true, labels, "greater", n_columns=n_columns)


@validate_params(y_true=[LABELS, ArrayLike(ndim=2)], y_proba=[PROBA, None], sample_weight=WEIGHTS, pos_label=POS_LABEL,
                 labels=[ArrayLike(ndim=1, kinds="biufUSO"), None], scale_by_half=["boolean", Options({"auto"})],
                 y_prob=[PROBA, None])
def brier_score_loss(y_true: Any, y_proba: Any = None, *, sample_weight: Any = None, pos_label: Any = None,
                     labels: Any = None, scale_by_half: bool | str = "auto", y_prob: Any = None) -> float:
    """Mean squared difference between ``y_proba`` and the 0/1 outcome, as
    :func:`sklearn.metrics.brier_score_loss` for binary labels.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,), or (n_samples, 2) one-hot
        Binary labels: any two values (numbers, bools, strings, bytes); or, with a two-column
        ``y_proba``, one-hot 0/1 columns (as scikit-learn accepts).
    y_proba : array-like of shape (n_samples,) or (n_samples, 2)
        Probability of the positive class (in [0, 1]), or one column per class in sorted class
        order.
    sample_weight : array-like, default=None
    pos_label : int, float, bool, str or bytes, default=None
        The positive class of 1-D ``y_proba``.  None: scikit-learn's rule (1 for labels within
        {0, 1} or {-1, 1}; else the greater label for numbers; strings need ``pos_label``).
    labels : array-like of shape (2,), default=None
        The two classes, for a two-column ``y_proba`` when ``y_true`` may hold only one of them.
    scale_by_half : bool or "auto", default="auto"
        scikit-learn's: "auto" and True give the usual binary Brier score, False twice that (the
        sum over both classes' columns).
    y_prob : deprecated
        mlsd's earlier name of ``y_proba``; still works, with a FutureWarning.
    """
    func = "brier_score_loss"
    proba = _proba_argument(func, y_proba, {"y_prob": y_prob})
    proba = proba if isinstance(proba, np.ndarray) else np.asarray(proba)
    if proba.ndim == 2 and proba.shape[1] == 1:
        proba = proba[:, 0]
    if proba.ndim == 2:
        y = _one_hot_or_labels(func, y_true, labels, proba.shape[1])
        if proba.shape[1] != 2:
            raise ValueError(f"{func}: y_proba has {proba.shape[1]} columns; only binary problems (1-D y_proba or two "
                             "columns) are supported")
        check_same_length(func, y_true=y, y_proba=proba)
        p = as_float_array(proba, "y_proba", func, ndim=2)
        if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
            raise ValueError(f"{func}: y_proba must be finite and in [0, 1]")
        w = as_sample_weight(sample_weight, y.shape[0], func)
        # the sum over both columns, halved: (y - p1)^2 when the rows sum to one
        per_row = 0.5 * ((y - p[:, 1]) ** 2 + ((1 - y) - p[:, 0]) ** 2)
        if w is not None and not (np.isfinite(w).all() and (w >= 0).all()):
            raise ValueError(f"{func}: sample_weight must be finite and >= 0")
        total = float(per_row.sum() if w is None else np.dot(per_row, w))
        score = _mean(total, float(y.shape[0] if w is None else w.sum()), func)
    else:
        y = _brier_labels(func, y_true, pos_label)
        y, p, w, _ = _prob_inputs(func, y, proba, sample_weight, score_name="y_proba")
        loss, weight, _ = _kernel_names_y_proba(func, _k.brier_sums, y, p, w)
        score = _mean(loss, weight, func)
    return float(score if scale_by_half in (True, "auto") else 2.0 * score)


def _brier_labels(func: str, y_true: Any, pos_label: Any) -> np.ndarray:
    """scikit-learn's rule for a 1-D y_proba: pos_label, or 1 for {0, 1} / {-1, 1}, or else (for
    numbers) the greater label; more than two labels raise."""
    try:
        return binary_labels(y_true, func, pos_label, "infer")
    except ValueError as e:
        arr = np.asarray(y_true)
        if "multiclass" in str(e):
            raise ValueError(f"{func}: The type of the target inferred from y_true is multiclass but should be binary "
                             "according to the shape of y_prob.") from None
        if pos_label is None and arr.ndim == 1 and arr.dtype.kind in "biuf" and "pos_label" in str(e):
            return binary_labels(y_true, func, None, "greater")
        raise


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


def _calibration_bins(func, y_true, y_prob, n_bins, strategy, sample_weight, pos_label=None, rule=None):
    y, p, w, _ = _prob_inputs(func, y_true, y_prob, sample_weight, pos_label=pos_label, rule=rule)
    if strategy == "quantile":  # validate (in parallel, in C++) before np.percentile reads p
        call_kernel(func, _k.calibration_bins, y, p, w, np.empty(0))
    edges = _bin_edges(p, n_bins, strategy)
    weight, sum_prob, sum_true = call_kernel(func, _k.calibration_bins, y, p, w,
                                             np.ascontiguousarray(edges[1:-1]))
    return edges, weight[:n_bins], sum_prob[:n_bins], sum_true[:n_bins]


@validate_params(y_true=[LABELS], y_prob=[SCORES], pos_label=POS_LABEL, n_bins=[CALIBRATION_BINS],
                 strategy=[STRATEGY], sample_weight=WEIGHTS)
def calibration_curve(y_true: Any, y_prob: Any, *, pos_label: Any = None, n_bins: int = 5, strategy: str = "uniform",
                      sample_weight: Any = None) -> CalibrationCurve:
    """Observed positive rate vs mean predicted probability per bin, as
    :func:`sklearn.calibration.calibration_curve` (same bins: ``uniform`` splits [0, 1] evenly,
    ``quantile`` uses ``np.percentile`` of ``y_prob``; a value equal to an inner edge falls in the
    lower bin).  Empty bins are left out.  ``sample_weight`` is an mlsd extension.

    ``y_true`` holds binary labels of any two values; ``pos_label`` is the positive one
    (scikit-learn's rule when None: 1 for labels within {0, 1} or {-1, 1}, otherwise it is
    required).

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
                                                          sample_weight, pos_label, "infer")
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
