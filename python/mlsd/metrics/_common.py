"""What every metrics module shares: the compiled kernels (``_k``), the warning class, and the
conversion of (labels, scores, weights) inputs done once per public call."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from .._validation import as_binary_labels, as_float_array, as_sample_weight, check_same_length

_k = _core.metrics


class UndefinedMetricWarning(UserWarning):
    """A curve or metric is undefined for this input (e.g. no positive sample)."""


def _binary_inputs(func: str, y_true: Any, y_score: Any, sample_weight: Any, score_name: str = "y_score"):
    y = as_binary_labels(y_true, "y_true", func)
    s = as_float_array(y_score, score_name, func)
    check_same_length(func, y_true=y, **{score_name: s})
    w = as_sample_weight(sample_weight, y.shape[0], func)
    return y, s, w



def _prob_inputs(func: str, y_true: Any, y_prob: Any, sample_weight: Any):
    src_dtype = np.asarray(y_prob).dtype
    y, p, w = _binary_inputs(func, y_true, y_prob, sample_weight, score_name="y_prob")
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
