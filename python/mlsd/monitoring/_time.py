"""Monitoring over time: drift and model performance per time window."""


from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np

from .. import metrics as _metrics
from .._params import ArrayLike, Check, Interval, validate_params
from .._results import Result, axes, result_type
from ..metrics import _partials as _mp
from ._drift import OPTIONS, DriftReport, _is_names, _progress
from ._input import CATEGORICAL, TABLE_DESCRIPTION, is_table, read_table
from ._profile import Profile

__all__ = ["DriftOverTime", "drift_over_time", "PerformanceOverTime", "performance_over_time", "time_windows"]


def _is_freq(v: Any) -> bool:
    import pandas as pd

    if isinstance(v, bool) or not isinstance(v, (str, pd.DateOffset, pd.Timedelta, np.timedelta64)):
        return False
    pd.tseries.frequencies.to_offset(v)  # raises on an unknown alias
    return True


FREQ = [Check(_is_freq, "a pandas frequency such as '1D', '6h' or 'W'")]
TIME = [ArrayLike(ndim=1, kinds="Miu")]


def time_windows(func: str, time: Any, freq: Any, name: str = "time") -> tuple[np.ndarray, np.ndarray]:
    """(codes, starts): each row's window as a code 0..n_windows-1 in time order, and the windows'
    start times (datetime64[ns]).  Fixed frequencies ('1D', '6h') start windows at multiples of
    the frequency since the epoch (pandas' ``floor``); calendar ones ('W', 'MS') at their periods'
    starts.  Integer times are read as nanoseconds since the epoch; NaT is an error."""
    import pandas as pd

    t = np.asarray(time)
    if t.dtype.kind not in "Mbiu":
        raise TypeError(f"{func}: {name} must hold datetimes (datetime64); got dtype {t.dtype}")
    t = pd.DatetimeIndex(t.astype("datetime64[ns]") if t.dtype.kind != "M" else t)
    if t.hasnans:
        raise ValueError(f"{func}: {name} has missing values (NaT) at index {int(np.flatnonzero(t.isna())[0])}")
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


# -- drift per window ------------------------------------------------------------------------------

def _column_names(x: Any) -> list:
    if isinstance(x, np.ndarray):
        return list(range(x.shape[1]))
    if isinstance(x, dict):
        return list(x)
    return list(x.column_names if hasattr(x, "column_names") else x.columns)


def _time_column(x: Any, name: Any, func: str) -> np.ndarray:
    if name not in _column_names(x):
        raise ValueError(f"{func}: time_column {name!r} is not a column of data")
    if isinstance(x, np.ndarray):
        return x[:, name]
    if isinstance(x, dict):
        return np.asarray(x[name])
    if hasattr(x, "column_names"):  # pyarrow
        return x.column(name).to_numpy()
    if type(x).__module__.split(".")[0] == "polars":
        return x.get_column(name).to_numpy()
    return x[name].to_numpy()


@result_type
class DriftOverTime(Result):
    """Result of :func:`drift_over_time`: drift per time window and column.

    Attributes
    ----------
    window : ndarray of datetime64, shape (n_windows,)
        Start of each window.
    rows : ndarray of int, shape (n_windows,)
        Rows of ``data`` in each window.
    columns : ndarray, shape (n_columns,)
    score, statistic, pvalue : ndarray of float, shape (n_windows, n_columns)
        Per window and column, as in :class:`DriftReport`: the drift score (>= 1: drifted), the
        deciding statistic, its p-value (NaN for distances).
    drifted : ndarray of bool, shape (n_windows, n_columns)
    share_drifted : ndarray of float, shape (n_windows,)
        Share of the testable columns drifted in each window.
    dataset_drift : ndarray of bool, shape (n_windows,)
    reports : tuple of DriftReport
        The full report of each window.

    ``to_frame()`` is tidy (one row per window and column); ``plot()`` draws the score as a
    heatmap, windows across, columns down.
    """

    window: np.ndarray
    rows: np.ndarray
    columns: np.ndarray
    score: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    drifted: np.ndarray
    share_drifted: np.ndarray
    dataset_drift: np.ndarray
    reports: tuple

    def _has_rows(self) -> bool:
        return len(self.window) > 0

    def to_frame(self):
        """One row per (window, column): window, rows, then the columns of the window's
        :meth:`DriftReport.to_frame` (column, type, method, statistic, pvalue, threshold,
        drifted, score, and every test)."""
        import pandas as pd

        frames = []
        for w, n, report in zip(self.window, self.rows, self.reports):
            f = report.to_frame()
            f.insert(0, "rows", n)
            f.insert(0, "window", w)
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

    def plot(self, ax=None, *, vmax: float = 2.0):
        """Heatmap of the drift score per window (across) and column (down), clipped at
        ``vmax``; drifted cells (score >= 1) are marked with a dot.  Returns the Axes."""
        ax = axes(ax, figsize=(max(5.0, 0.45 * len(self.window) + 2.5), max(2.5, 0.3 * len(self.columns) + 1.2)))
        score = np.nan_to_num(self.score.T, nan=0.0, posinf=vmax)
        image = ax.imshow(score, aspect="auto", cmap="Reds", vmin=0.0, vmax=vmax, interpolation="nearest")
        yy, xx = np.nonzero(self.drifted.T)
        ax.scatter(xx, yy, s=8, color="k", marker="o", label="drifted")
        ax.set_yticks(np.arange(len(self.columns)))
        ax.set_yticklabels([str(c) for c in self.columns], fontsize=7)
        step = max(1, len(self.window) // 12)
        ax.set_xticks(np.arange(0, len(self.window), step))
        ax.set_xticklabels([str(np.datetime_as_string(w, unit="m")).replace("T00:00", "")
                            for w in self.window[::step]], rotation=45, ha="right", fontsize=7)
        ax.set_xlabel("Window start")
        ax.set_title("Drift score per window (>= 1: drifted)")
        ax.figure.colorbar(image, ax=ax, label="drift score")
        return ax


@validate_params(reference=[Check(lambda r: isinstance(r, Profile) or is_table(r), "a Profile or " + TABLE_DESCRIPTION)],
                 data=[Check(is_table, TABLE_DESCRIPTION)],
                 time_column=[Check(lambda c: isinstance(c, (str, int)) and not isinstance(c, bool),
                                    "a column name (str or int)")],
                 freq=FREQ, columns=[None, Check(_is_names, "a list of column names")],
                 categorical=[None, Check(_is_names, "a list of column names")], **OPTIONS)
def drift_over_time(reference: Any, data: Any, time_column: Any, freq: Any = "1D", *, columns: list | None = None,
                    categorical: list | None = None, method: Any = "auto", threshold: Any = None, n_bins: int = 10,
                    bins: Any = None, psi_eps: float = 1e-4, ks_method: str = "auto", alternative: str = "two-sided",
                    drift_share: float = 0.5, progress: bool = False) -> DriftOverTime:
    """Drift of every column per time window: ``data`` cut into windows by ``time_column``, each
    window compared with the reference exactly as :func:`drift` would compare it.

    The reference is profiled once (:class:`Profile`; pass a saved profile to skip even that);
    ``data`` is read once and sorted by window once; each window is then one
    :meth:`Profile.compare`, whose report is the same, number for number, as
    ``drift(reference, window)``.

    Parameters
    ----------
    reference : table or Profile
        The reference rows (its ``time_column``, if present, is not tested), or their profile.
    data : table
        Production rows with a datetime64 column ``time_column``.
    time_column : str or int
    freq : str or pandas offset, default="1D"
        Window length ('1D', '6h', '7D'; 'W' or 'MS' for calendar weeks and months), as in
        :func:`performance_over_time`.  Windows without rows are left out.
    columns, categorical, method, threshold, n_bins, bins, psi_eps, ks_method, alternative, drift_share
        As in :func:`drift` (``columns`` and ``categorical`` only with a reference table).
    progress : bool, default False
        A tqdm bar over the windows.

    Returns
    -------
    DriftOverTime
        Windows x columns of scores, statistics, p-values and decisions, the report of each
        window, ``to_frame()`` and a heatmap ``plot()``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"x": rng.normal(size=3000)})
    >>> t = np.datetime64("2024-01-01", "ns") + np.arange(3000) * np.timedelta64(1, "m")
    >>> live = pd.DataFrame({"x": rng.normal(size=3000) + (t >= np.datetime64("2024-01-02")), "t": t})
    >>> r = drift_over_time(ref, live, "t", "1D")
    >>> r.drifted[:, 0].tolist()
    [False, True, True]
    """
    func = "drift_over_time"
    if isinstance(reference, Profile):
        if columns is not None or categorical is not None:
            raise ValueError(f"{func}: columns and categorical apply to a reference table, not to a Profile "
                             f"(whose columns and kinds are fixed)")
        profile = reference
    else:
        if columns is None:
            columns = [c for c in _column_names(reference) if c != time_column]
        elif time_column in columns:
            raise ValueError(f"{func}: columns must not include the time_column {time_column!r}")
        profile = Profile.from_data(reference, columns, categorical=categorical)
    names = profile.columns
    if time_column in names:
        raise ValueError(f"{func}: the profile has a column named like the time_column {time_column!r}")
    codes, starts = time_windows(func, _time_column(data, time_column, func), freq, "time_column")
    kinds = profile.kinds
    cur = read_table(data, func, "data", names, tuple(n for n in names if kinds[n] == CATEGORICAL))
    order = np.argsort(codes, kind="stable")
    rows = np.bincount(codes, minlength=len(starts))
    at = np.r_[0, np.cumsum(rows)]
    ordered = {n: v[order] for n, (_, v) in cur.items()}
    options = dict(method=method, threshold=threshold, n_bins=n_bins, bins=bins, psi_eps=psi_eps, ks_method=ks_method,
                   alternative=alternative, drift_share=drift_share)
    reports: list[DriftReport] = []
    for w in _progress(range(len(starts)), len(starts), progress, func):
        window = {n: v[at[w]:at[w + 1]] for n, v in ordered.items()}
        try:
            reports.append(profile.compare(window, **options))
        except ValueError as e:
            raise type(e)(str(e).replace("Profile.compare", func).replace("'current' parameter", "'data' parameter")
                          + f" (window starting {starts[w]})") from None
    stack = lambda field: np.array([getattr(r, field) for r in reports]).reshape(len(reports), len(names))  # noqa: E731
    return DriftOverTime(window=starts, rows=rows.astype(np.int64), columns=np.array(names, dtype=object),
                         score=stack("score").astype(np.float64), statistic=stack("statistic").astype(np.float64),
                         pvalue=stack("pvalue").astype(np.float64), drifted=stack("drifted").astype(bool),
                         share_drifted=np.array([r.share_drifted for r in reports], dtype=np.float64),
                         dataset_drift=np.array([r.dataset_drift for r in reports], dtype=bool), reports=tuple(reports))
