"""What every metrics module shares: the compiled kernels (``_k``), the warning class, and the
conversion of (labels, scores, weights) inputs done once per public call."""

from __future__ import annotations

import sys
from numbers import Real
from typing import Any

import numpy as np

from .. import _core
from .._params import ArrayLike
from .._validation import as_binary_labels, as_float_array, as_sample_weight, check_same_length

_k = _core.metrics


class UndefinedMetricWarning(UserWarning):
    """A curve or metric is undefined for this input (e.g. no positive sample).

    When scikit-learn is imported, mlsd issues it as a subclass of both this class and
    ``sklearn.exceptions.UndefinedMetricWarning`` (see :func:`undefined_metric_warning`), so that
    ``pytest.warns``, ``warnings.filterwarnings`` and ``except`` clauses written for either catch it."""


_JOINED: dict[type, type] = {}


def undefined_metric_warning() -> type[Warning]:
    """The category mlsd warns with: :class:`UndefinedMetricWarning`, joined with scikit-learn's
    class of the same name when ``sklearn.exceptions`` is already imported.

    The base is resolved when the warning is issued, not when mlsd is imported: mlsd.metrics does
    not import scikit-learn for it (about a second, for a warning class, in a process that may not
    use scikit-learn at all), and code that catches scikit-learn's warning has imported
    scikit-learn by the time mlsd warns, whatever the order of the imports.  The check is one
    dictionary lookup in ``sys.modules``, paid only when a warning is issued."""
    exceptions = sys.modules.get("sklearn.exceptions")
    base = getattr(exceptions, "UndefinedMetricWarning", None)
    if not (isinstance(base, type) and issubclass(base, Warning)):
        return UndefinedMetricWarning
    joined = _JOINED.get(base)
    if joined is None:
        joined = _JOINED[base] = type("UndefinedMetricWarning", (UndefinedMetricWarning, base),
                                      {"__module__": __name__, "__doc__": UndefinedMetricWarning.__doc__})
    return joined


# The labels a binary metric accepts: numbers, bools, strings, bytes or objects (scikit-learn's).
LABELS = ArrayLike(ndim=1, kinds="biufUSO")
# A positive label: scikit-learn's [Real, str, "boolean", None], and bytes (labels may be bytes).
POS_LABEL = [Real, str, bytes, "boolean", None]


def _classes(arr: np.ndarray, func: str) -> np.ndarray:
    try:
        classes = np.unique(arr)
    except TypeError:
        raise TypeError(f"{func}: y_true must hold labels of one type (numbers, strings or bytes); "
                        "its values cannot be compared with each other") from None
    if classes.dtype.kind in "fc" and np.isnan(classes).any() or classes.dtype.kind == "O" and any(
            c is None or isinstance(c, float) and c != c for c in classes.tolist()):
        raise ValueError(f"{func}: y_true contains NaN or None; every sample needs a label")
    return classes


def _repr_classes(classes: np.ndarray) -> str:
    return ", ".join(repr(c) for c in classes.tolist())


def binary_labels(y_true: Any, func: str, pos_label: Any = None, rule: str = "infer") -> np.ndarray:
    """``y_true == positive`` as uint8 labels for the kernels, the positive label chosen by
    scikit-learn's rule for ``func``:

    * ``"infer"`` (roc_curve, precision_recall_curve, brier_score_loss, calibration_curve):
      ``pos_label``, or 1 when it is None and the labels are within {0, 1} or {-1, 1}; other labels
      without ``pos_label`` raise.  More than two labels raise, except for the curves with an
      explicit ``pos_label`` (one-vs-rest; ``rule="infer_ovr"``).
    * ``"greater"`` (roc_auc_score, log_loss): the greater of the two labels (sorted order).
    * ``"ap"`` (average_precision_score): ``pos_label`` (default 1), which must be one of the two
      labels when there are two.

    0/1 labels (the common case) take the fast path: one parallel pass in C++, no copy for bool or
    uint8 input.  Other labels cost a ``np.unique``."""
    arr = y_true if isinstance(y_true, np.ndarray) else np.asarray(y_true)
    if arr.ndim != 1:
        raise ValueError(f"{func}: y_true must be 1-D; got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{func}: y_true is empty; at least one sample is required")
    default_one = pos_label is None or (not isinstance(pos_label, (str, bytes)) and pos_label == 1)
    if arr.dtype.kind in "biuf" and default_one:
        try:
            return as_binary_labels(arr, "y_true", func)  # labels within {0, 1}
        except ValueError:
            pass  # other labels: the general rule below
    classes = _classes(arr, func)
    numeric = classes.dtype.kind in "biuf"
    if rule == "greater":
        if classes.shape[0] > 2:
            raise ValueError(f"{func}: y_true has {classes.shape[0]} labels ({_repr_classes(classes)}); only binary "
                             "labels are supported (multiclass format is not supported)")
        positive = classes[-1] if classes.shape[0] == 2 or not numeric else 1
    elif rule == "ap":
        if classes.shape[0] > 2:
            raise ValueError(f"{func}: y_true has {classes.shape[0]} labels ({_repr_classes(classes)}); only binary "
                             "labels are supported (multiclass format is not supported)")
        positive = 1 if pos_label is None else pos_label
        if classes.shape[0] == 2 and positive not in classes.tolist():
            raise ValueError(f"{func}: pos_label={positive} is not a valid label. It should be one of {classes}")
    else:
        if classes.shape[0] > 2 and (pos_label is None or rule != "infer_ovr"):
            raise ValueError(f"{func}: y_true has {classes.shape[0]} labels ({_repr_classes(classes)}); only binary "
                             "labels are supported (multiclass format is not supported)")
        if pos_label is None:
            if not numeric or not (set(classes.tolist()) <= {0, 1} or set(classes.tolist()) <= {-1, 1}):
                raise ValueError(
                    f"{func}: y_true takes value in {{{_repr_classes(classes)}}} and pos_label is not specified: "
                    "either make y_true take value in {0, 1} or {-1, 1} or pass pos_label explicitly.")
            positive = 1
        else:
            positive = pos_label
    return np.ascontiguousarray(arr == positive).view(np.uint8)


def _binary_inputs(func: str, y_true: Any, y_score: Any, sample_weight: Any, score_name: str = "y_score",
                   pos_label: Any = None, rule: str | None = None):
    """Labels, scores and weights for a kernel.  ``rule=None`` (mlsd's own functions: group_auc, the
    states, mlsd.dask) takes 0/1 labels only; the scikit-learn-named functions pass their rule."""
    y = as_binary_labels(y_true, "y_true", func) if rule is None else binary_labels(y_true, func, pos_label, rule)
    s = as_float_array(y_score, score_name, func)
    check_same_length(func, y_true=y, **{score_name: s})
    w = as_sample_weight(sample_weight, y.shape[0], func)
    return y, s, w


def _prob_inputs(func: str, y_true: Any, y_prob: Any, sample_weight: Any, pos_label: Any = None,
                 rule: str | None = None, score_name: str = "y_prob"):
    src_dtype = np.asarray(y_prob).dtype
    y, p, w = _binary_inputs(func, y_true, y_prob, sample_weight, score_name=score_name, pos_label=pos_label,
                             rule=rule)
    return y, p, w, src_dtype


def _mean(total: float, weight: float, func: str) -> float:
    if weight <= 0:
        raise ValueError(f"{func}: sample_weight sums to zero; the weighted mean is undefined")
    return total / weight


def _clip_eps(y_prob: Any) -> float:
    dt = np.dtype(y_prob.dtype) if hasattr(y_prob, "dtype") else np.asarray(y_prob).dtype
    return float(np.finfo(dt if dt.kind == "f" else np.float64).eps)


def _group_codes(groups: np.ndarray, func: str, name: str = "groups"):
    """int64 keys for the kernel, and a function mapping the kernel's sorted keys back to labels."""
    if groups.dtype.kind in "iu" and (groups.dtype.kind == "i" or groups.dtype.itemsize < 8 or
                                      groups.size == 0 or groups.max() <= np.iinfo(np.int64).max):
        return np.ascontiguousarray(groups, dtype=np.int64), lambda keys: keys.astype(groups.dtype, copy=False)
    if groups.dtype.kind == "f" and np.isnan(groups).any():
        raise ValueError(f"{func}: {name} contains NaN")
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None:
        codes, uniques = pd.factorize(groups, sort=True)
        if (codes < 0).any():
            raise ValueError(f"{func}: {name} contains missing values (None or NaN)")
        uniques = np.asarray(uniques)
    else:
        try:
            uniques, codes = np.unique(groups, return_inverse=True)
        except TypeError:
            raise TypeError(f"{func}: {name} must be integers or strings of one type") from None
    return np.ascontiguousarray(codes, dtype=np.int64), lambda keys: uniques[keys]
