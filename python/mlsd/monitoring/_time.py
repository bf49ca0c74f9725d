"""Monitoring over time: drift and model performance per time window."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np

from .. import metrics as _metrics
from .._params import ArrayLike, Check, Interval, validate_params
from .._results import Result, axes, result_type
from ..metrics import _partials as _mp

__all__ = ["PerformanceOverTime", "performance_over_time", "time_windows"]


def _is_freq(v: Any) -> bool:
    import pandas as pd

    if isinstance(v, bool) or not isinstance(v, (str, pd.DateOffset, pd.Timedelta, np.timedelta64)):
        return False
    pd.tseries.frequencies.to_offset(v)  # raises on an unknown alias
    return True


FREQ = [Check(_is_freq, "a pandas frequency such as '1D', '6h' or 'W'")]
TIME = [ArrayLike(ndim=1, kinds="Miu")]


def time_windows(func: str, time: Any, freq: Any) -> tuple[np.ndarray, np.ndarray]:
    """(codes, starts): each row's window as a code 0..n_windows-1 in time order, and the windows'
    start times (datetime64[ns]).  Fixed frequencies ('1D', '6h') start windows at multiples of
    the frequency since the epoch (pandas' ``floor``); calendar ones ('W', 'MS') at their periods'
    starts.  Integer times are read as nanoseconds since the epoch; NaT is an error."""
    import pandas as pd

    t = np.asarray(time)
    if t.dtype.kind not in "Mbiu":
        raise TypeError(f"{func}: time must hold datetimes (datetime64); got dtype {t.dtype}")
    t = pd.DatetimeIndex(t.astype("datetime64[ns]") if t.dtype.kind != "M" else t)
    if t.hasnans:
        raise ValueError(f"{func}: time has missing values (NaT) at index {int(np.flatnonzero(t.isna())[0])}")
    if t.tz is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    try:
        start = t.floor(freq)
    except ValueError:  # a calendar frequency (weeks, months) has no fixed length
        start = t.to_period(freq).start_time
    starts, codes = np.unique(np.asarray(start, dtype="datetime64[ns]"), return_inverse=True)
    return codes.astype(np.int64).ravel(), starts


@result_type
class PerformanceOverTime(Result):
    """Result of :func:`performance_over_time`: one row per time window.

    Attributes
    ----------
    window : ndarray of datetime64
        Start of each window.
    rows, positive_rate : ndarray
        Rows (labelled predictions) in the window and the observed positive rate.
    auc : ndarray
        ROC AUC (NaN for a window with a single class).
    normalized_entropy : ndarray
        Log loss over the entropy of the window's positive rate (NaN for a single class).
    calibration : ndarray
        Mean predicted probability over the observed positive rate (1 is calibrated; NaN without
        positives).
    ece : ndarray
        Expected calibration error over ``n_bins`` uniform bins.

    ``to_frame()`` has one row per window; ``plot()`` draws the metrics over time.
    """

    window: np.ndarray
    rows: np.ndarray
    positive_rate: np.ndarray
    auc: np.ndarray
    normalized_entropy: np.ndarray
    calibration: np.ndarray
    ece: np.ndarray

    def plot(self, ax=None):
        """AUC, normalized entropy and calibration (mean prediction / positive rate) per window,
        with 1 marked for the last two.  Returns the Axes."""
        ax = axes(ax, figsize=(7.0, 3.5))
        ax.plot(self.window, self.auc, "o-", label="AUC")
        ax.plot(self.window, self.normalized_entropy, "s-", label="normalized entropy")
        ax.plot(self.window, self.calibration, "^-", label="calibration (pred / actual)")
        ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("Window start")
        ax.set_title("Model performance over time")
        ax.legend(loc="best", fontsize="small")
        ax.figure.autofmt_xdate()
        return ax


@validate_params(y_true=[ArrayLike(ndim=1)], y_score=[ArrayLike(ndim=1)], time=TIME, freq=FREQ,
                 n_bins=[Interval(Integral, 1, 2**24)])
def performance_over_time(y_true: Any, y_score: Any, time: Any, freq: Any = "1D", *,
                          n_bins: int = 10) -> PerformanceOverTime:
    """Model performance per time window, where labels exist: AUC, normalized entropy,
    calibration and expected calibration error, so that decay shows up as a trend.

    Each window's numbers are those of :mod:`mlsd.metrics` on that window's rows alone:
    :func:`~mlsd.metrics.roc_auc_score` (all windows in one :func:`~mlsd.metrics.group_auc` call,
    the windows as groups), :func:`~mlsd.metrics.normalized_entropy` and
    :func:`~mlsd.metrics.expected_calibration_error` on each window's rows (one sort by window
    first, so each call reads a contiguous slice).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 outcomes (clicks, conversions).
    y_score : array-like of shape (n_samples,)
        Predicted probabilities in [0, 1].
    time : array-like of datetime64, shape (n_samples,)
        When each prediction was made.
    freq : str or pandas offset, default="1D"
        Window length, a pandas frequency ('1D', '6h', '7D'; 'W' or 'MS' for calendar weeks and
        months).
    n_bins : int, default=10
        Uniform bins of the expected calibration error.

    Returns
    -------
    PerformanceOverTime

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array(["2024-01-01T08", "2024-01-01T20", "2024-01-02T09", "2024-01-02T10"], dtype="datetime64[ns]")
    >>> r = performance_over_time([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.6], t, "1D")
    >>> r.auc.tolist(), r.rows.tolist()
    ([1.0, 0.0], [2, 2])
    """
    func = "performance_over_time"
    y, s, _ = _mp.binary_inputs(func, y_true, y_score, None)
    if len(np.asarray(time)) != len(y):
        raise ValueError(f"{func}: time has {len(np.asarray(time))} elements but y_true has {len(y)}")
    bad = np.flatnonzero(~((s >= 0) & (s <= 1)))  # NaN too
    if bad.size:
        raise ValueError(f"{func}: y_score must be probabilities in [0, 1]; found {s[bad[0]]} at index {bad[0]}")
    codes, starts = time_windows(func, time, freq)
    k = len(starts)
    rows = np.bincount(codes, minlength=k)
    positives = np.bincount(codes, weights=y, minlength=k)
    score_sum = np.bincount(codes, weights=s, minlength=k)
    both = (positives > 0) & (positives < rows)
    auc = np.full(k, np.nan)
    if both.any():
        auc = _metrics.group_auc(y, s, groups=codes).auc  # groups sorted: window order
    order = np.argsort(codes, kind="stable")
    y_sorted, s_sorted = y[order], s[order]
    at = np.r_[0, np.cumsum(rows)]
    ne = np.full(k, np.nan)
    ece = np.empty(k)
    for w in range(k):
        sl = slice(at[w], at[w + 1])
        if both[w]:
            ne[w] = _metrics.normalized_entropy(y_sorted[sl], s_sorted[sl])
        ece[w] = _metrics.expected_calibration_error(y_sorted[sl], s_sorted[sl], n_bins=n_bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        calibration = np.where(positives > 0, score_sum / np.where(positives > 0, positives, 1), np.nan)
    return PerformanceOverTime(window=starts, rows=rows.astype(np.int64), positive_rate=positives / rows, auc=auc,
                               normalized_entropy=ne, calibration=calibration, ece=ece)
