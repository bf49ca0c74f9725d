"""leakage_report: what a joined training table reveals about label leakage."""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np

from .._params import Check, Interval, validate_params
from .._results import Result, axes, result_type
from ._encode import arrow_to_pandas, column, encode_times, is_arrow

__all__ = ["LeakageReport", "leakage_report"]

_FUNC = "leakage_report"


@result_type
class LeakageReport(Result):
    """Result of :func:`leakage_report`.

    ``n_late`` feature values are stamped after their row's label time (``late`` has one
    ``(time column, n_compared, n_late)`` entry per time column; 0 everywhere after a
    :func:`point_in_time_join`); ``suspicious`` names the features whose univariate ROC AUC
    against the label is at least ``auc_threshold`` away from chance on either side
    (``max(auc, 1 - auc) >= auc_threshold``: a single feature that predicts the label almost
    perfectly is more often a leak than a discovery).  ``aucs`` has one
    ``(feature, n_valid, auc)`` entry per feature (rows where the feature is missing are left
    out; NaN when those rows hold one class only).

    ``to_frame()`` has one row per checked column; ``plot()`` draws each feature's AUC strength
    against the threshold, with the late counts in the title.
    """

    n_rows: int
    n_late: int
    auc_threshold: float
    suspicious: tuple = ()
    late: tuple = ()
    aucs: tuple = ()

    def _summary(self):
        return [("n_rows", str(self.n_rows)), ("n_late", str(self.n_late)),
                ("auc_threshold", f"{self.auc_threshold:.6g}"), ("suspicious", ", ".join(self.suspicious) or "none")]

    def __repr__(self) -> str:
        return (f"LeakageReport(n_rows={self.n_rows}, n_late={self.n_late}, "
                f"suspicious={list(self.suspicious)!r}, auc_threshold={self.auc_threshold:.6g})")

    def _has_rows(self) -> bool:
        return bool(self.late or self.aucs)

    def to_frame(self):
        """One row per column checked: ``column``, ``check`` ("late" for a time column, "auc" for
        a feature), ``n`` (rows compared), ``n_late`` (time columns), ``auc`` and ``strength``
        (``max(auc, 1 - auc)``, features) and ``flagged``."""
        import pandas as pd

        rows = [dict(column=c, check="late", n=n, n_late=k, auc=np.nan, strength=np.nan, flagged=k > 0)
                for c, n, k in self.late]
        for f, n, auc in self.aucs:
            strength = max(auc, 1.0 - auc) if np.isfinite(auc) else np.nan
            rows.append(dict(column=f, check="auc", n=n, n_late=0, auc=auc, strength=strength,
                             flagged=f in self.suspicious))
        return pd.DataFrame(rows, columns=["column", "check", "n", "n_late", "auc", "strength", "flagged"])

    def plot(self, ax=None):
        """Each feature's AUC strength ``max(auc, 1 - auc)`` as a bar (flagged ones in red), the
        threshold as a line, and the late-value count in the title; returns the Axes."""
        ax = axes(ax)
        frame = self.to_frame()
        feats = frame[frame["check"] == "auc"]
        y = np.arange(len(feats))
        colors = ["C3" if f else "C0" for f in feats["flagged"]]
        ax.barh(y, feats["strength"].fillna(0.5).to_numpy() - 0.5, left=0.5, color=colors)
        ax.axvline(self.auc_threshold, color="C3", linestyle="--", label=f"threshold {self.auc_threshold:g}")
        ax.set_yticks(y)
        ax.set_yticklabels(list(feats["column"]))
        ax.invert_yaxis()
        ax.set_xlim(0.5, 1.0)
        ax.set_xlabel("univariate AUC strength, max(auc, 1 - auc)")
        ax.set_title(f"{self.n_late} feature values stamped after the label time")
        ax.legend(loc="lower right")
        return ax


def _is_table(x: Any) -> bool:
    import pandas as pd

    return isinstance(x, pd.DataFrame) or is_arrow(x)


def _is_names(x: Any) -> bool:
    return isinstance(x, str) or (isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(v, str) for v in x))


def _names(x: Any) -> list[str]:
    return [x] if isinstance(x, str) else list(x)


def _series(table: Any, name: str, arg: str) -> Any:
    """A column as a pandas Series; pyarrow columns with nullable types (a boolean with nulls stays
    boolean, not object)."""
    import pandas as pd

    col = column(table, name, arg, "data", _FUNC)
    return pd.Series(arrow_to_pandas(col)) if is_arrow(table) else col


def _float_values(table: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(values as float64, mask of present values) of a numeric or boolean column."""
    import pandas as pd

    s = _series(table, name, "features")
    if not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
        raise TypeError(f"{_FUNC}: features names column {name!r}, which is not numeric or boolean ({s.dtype})")
    values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    return values, ~np.isnan(values)


@validate_params(data=[Check(_is_table, "a pandas DataFrame or a pyarrow Table")], label=[str], label_time=[str],
                 feature_times=[None, Check(_is_names, "a column name or a non-empty list of column names")],
                 features=[None, Check(_is_names, "a column name or a non-empty list of column names")],
                 auc_threshold=[Interval(Real, 0.5, 1.0, closed="right")])
def leakage_report(data, *, label, label_time, feature_times=None, features=None, auc_threshold=0.95):
    """Check a training table for label leakage.

    Two checks: (1) time leakage -- how many feature values are stamped after their row's label
    (event) time, which a point-in-time join never produces and a "latest value" join does;
    (2) target leakage -- features whose univariate ROC AUC against the label is suspiciously
    close to 1 (or 0).

    Parameters
    ----------
    data : pandas.DataFrame or pyarrow.Table
        The training table, e.g. the output of :func:`point_in_time_join` with ``time_column``.
    label : str
        The binary label column (0/1 or bool, no missing values).
    label_time : str
        The column with each row's label (event) time.
    feature_times : str or list of str, optional
        Columns holding when each row's feature values were stamped (the joins' time columns);
        missing times are not counted.  Same kind of time as ``label_time`` (datetimes of any
        unit and one time zone, or integers).
    features : str or list of str, optional
        The feature columns to score (default: every numeric or boolean column other than the
        label, the times and ``feature_times``).
    auc_threshold : float in (0.5, 1], default=0.95
        A feature is flagged when ``max(auc, 1 - auc) >= auc_threshold``.

    Returns
    -------
    LeakageReport
        ``n_late``, ``suspicious`` and per-column details; ``to_frame()`` and ``plot()``.

    Notes
    -----
    AUCs are :func:`mlsd.metrics.roc_auc_score` (scikit-learn's value) over the rows where the
    feature is present.
    """
    from .. import metrics

    times_cols = [] if feature_times is None else _names(feature_times)
    import pandas as pd

    y_series = _series(data, label, "label")
    if y_series.isna().any():
        raise ValueError(f"{_FUNC}: label column {label!r} has missing values")
    try:
        y = np.asarray(y_series.to_numpy(dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"{_FUNC}: label column {label!r} must hold 0/1 or booleans; got {y_series.dtype}") from None
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"{_FUNC}: label column {label!r} must hold only 0 and 1")
    n = len(y)

    late = []
    if times_cols:
        cols = [label_time, *times_cols]
        times, valid, _ = encode_times([data] * len(cols), cols, ["data"] * len(cols), _FUNC,
                                       args=["label_time"] + ["feature_times"] * len(times_cols))
        t0, v0 = times[0], valid[0]
        for c, t, v in zip(times_cols, times[1:], valid[1:]):
            ok = np.ones(n, dtype=bool) if v0 is None else v0.copy()
            if v is not None:
                ok &= v
            late.append((c, int(ok.sum()), int(np.count_nonzero((t > t0) & ok))))
    else:
        column(data, label_time, "label_time", "data", _FUNC)

    if features is None:
        skip = {label, label_time, *times_cols}
        names = data.column_names if is_arrow(data) else list(data.columns)
        candidates = []
        for c in names:
            if c in skip:
                continue
            dtype = _series(data, c, "features").dtype
            if (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)) and dtype.kind in "biuf":
                candidates.append(c)
    else:
        candidates = _names(features)
    aucs, suspicious = [], []
    for c in candidates:
        x, ok = _float_values(data, c)
        yy = y[ok]
        if yy.size == 0 or yy.min() == yy.max():
            auc = float("nan")
        else:
            auc = float(metrics.roc_auc_score(yy, x[ok]))
        aucs.append((c, int(ok.sum()), auc))
        if np.isfinite(auc) and max(auc, 1.0 - auc) >= auc_threshold:
            suspicious.append(c)
    return LeakageReport(n_rows=n, n_late=int(sum(k for _, _, k in late)), auc_threshold=float(auc_threshold),
                         suspicious=tuple(suspicious), late=tuple(late), aucs=tuple(aucs))
