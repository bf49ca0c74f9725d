"""Multivariate drift: PCA reconstruction error on all numeric columns together.

A drift that changes how columns move together (a correlation flipped, a new cluster) can leave
every column's own distribution unchanged, so per-column tests miss it.  Following NannyML's
data-reconstruction drift: standardise on the reference, fit PCA there keeping a share of the
variance, and measure how badly the PCA model reconstructs the current rows.  Rows that follow the
reference's joint structure project onto the kept axes with little loss; rows that break it do not.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from .. import _core
from .._params import Check, Interval, validate_params
from .._results import Result, axes, result_type
from .._validation import call_kernel
from ._input import NUMERIC, TABLE_DESCRIPTION, is_table, read_table

__all__ = ["PCADrift", "MultivariateDriftResult", "multivariate_drift"]

_k = _core.monitoring


# The tables drift takes (read once by _input.read_table); a C-contiguous float64 array is used in place.
TABLE = [Check(is_table, TABLE_DESCRIPTION)]
COLUMNS = [None, Check(lambda v: not isinstance(v, (str, bytes, dict)) and len(list(v)) > 0,
                       "a non-empty list of column names")]


def numeric_table(func: str, name: str, data: Any, columns: list | None) -> tuple[np.ndarray, list]:
    """(X, names): the numeric columns (all of them, or ``columns``) of a table as one row-major
    float64 array, NaN for missing values.  A C-contiguous float64 array is not copied."""
    if isinstance(data, np.ndarray):
        if data.dtype.kind not in "biuf":
            raise TypeError(f"{func}: {name} must be numeric; got an array of dtype {data.dtype}")
        names = list(range(data.shape[1]))
        if columns is not None:
            missing = [c for c in columns if not (isinstance(c, Integral) and 0 <= c < data.shape[1])]
            if missing:
                raise ValueError(f"{func}: columns {missing!r} are not column positions of {name} "
                                 f"(it has {data.shape[1]} columns)")
            data, names = data[:, list(columns)], list(columns)
        return np.ascontiguousarray(data, dtype=np.float64), names
    table = read_table(data, func, name, columns)
    if columns is None:
        table = {c: v for c, v in table.items() if v[0] == NUMERIC}
        if not table:
            raise ValueError(f"{func}: {name} has no numeric column")
    else:
        wrong = [c for c, (kind, _) in table.items() if kind != NUMERIC]
        if wrong:
            raise TypeError(f"{func}: column {wrong[0]!r} of {name} must be numeric; it is categorical")
    names = list(table)
    n = len(next(iter(table.values()))[1])
    x = np.empty((n, len(names)), dtype=np.float64)
    for j, (_, values) in enumerate(table.values()):
        x[:, j] = values
    return x, names


def _chunk_bounds(n: int, n_chunks: int) -> np.ndarray:
    """Start offsets of ``min(n_chunks, n)`` consecutive chunks of near-equal size (np.array_split's)."""
    k = min(n_chunks, n)
    sizes = np.full(k, n // k, dtype=np.int64)
    sizes[: n % k] += 1
    return np.concatenate([[0], np.cumsum(sizes)[:-1]])


@result_type
class MultivariateDriftResult(Result):
    """Result of :meth:`PCADrift.compare` and :func:`multivariate_drift`.

    Attributes
    ----------
    reconstruction_error : float
        Mean reconstruction error of the current rows.
    reference_error : float
        Mean reconstruction error of the reference rows (the PCA was fitted on them).
    lower, upper : float
        The interval of no drift: the mean of the reference chunks' errors minus and plus
        ``n_std`` standard deviations (ddof 0) of them; ``lower`` is at least 0.
    drifted : bool
        Whether ``reconstruction_error`` is outside [lower, upper].
    n_components : int
        Principal components kept.
    explained_variance : float
        Share of the reference's (standardised) variance that they explain.
    period, chunk, rows, error : ndarray
        One entry per chunk, the reference's first (``period`` is ``"reference"`` or
        ``"current"``): chunk number within its period, rows, mean reconstruction error.

    ``to_frame()`` has one row per chunk (with ``alert``: the chunk's error outside the
    interval); ``plot()`` draws the chunks' errors with the interval.
    """

    reconstruction_error: float
    reference_error: float
    lower: float
    upper: float
    drifted: bool
    n_components: int
    explained_variance: float
    period: np.ndarray
    chunk: np.ndarray
    rows: np.ndarray
    error: np.ndarray

    def to_frame(self):
        """One row per chunk: period, chunk, rows, error, lower, upper, alert."""
        import pandas as pd

        alert = (self.error < self.lower) | (self.error > self.upper)
        return pd.DataFrame({"period": self.period, "chunk": self.chunk, "rows": self.rows, "error": self.error,
                             "lower": self.lower, "upper": self.upper, "alert": alert})

    def plot(self, ax=None):
        """Mean reconstruction error per chunk, reference then current, with the interval of no
        drift shaded; chunks outside it are marked.  Returns the Axes."""
        ax = axes(ax, figsize=(7.0, 3.5))
        x = np.arange(len(self.error))
        ref = self.period == "reference"
        ax.axhspan(self.lower, self.upper, color="C0", alpha=0.12, label="interval of no drift")
        ax.plot(x[ref], self.error[ref], "o-", color="C0", label="reference")
        ax.plot(x[~ref], self.error[~ref], "o-", color="C1", label="current")
        alert = (self.error < self.lower) | (self.error > self.upper)
        if alert.any():
            ax.plot(x[alert], self.error[alert], "x", color="C3", markersize=9, label="alert")
        if ref.any() and (~ref).any():
            ax.axvline(ref.sum() - 0.5, color="grey", linestyle=":")
        ax.set_xlabel("Chunk")
        ax.set_ylabel("Mean reconstruction error")
        ax.set_title(f"PCA reconstruction drift ({self.n_components} components)")
        ax.legend(loc="best", fontsize="small")
        return ax


class PCADrift:
    """A PCA reconstruction model of a reference table, fitted once, to test current data against.

    The reference's numeric columns are standardised (mean and population standard deviation; a
    constant column is only centred), missing values are imputed with the reference mean (0 after
    standardising), and PCA keeps the fewest components whose explained variance exceeds
    ``variance`` (scikit-learn's rule for a float ``n_components``).  The reconstruction error of a
    row is the Euclidean norm of its standardised values minus their projection on the kept axes.
    The same numbers as scikit-learn's ``SimpleImputer(strategy="mean")``, ``StandardScaler`` and
    ``PCA(n_components=variance)`` pipeline, computed in one multithreaded pass for the moments and
    one for the covariance (Eigen), then an eigen-decomposition of the d x d covariance.

    Parameters
    ----------
    reference : DataFrame, pyarrow Table or 2-D array
        The reference rows (e.g. training or the first weeks in production).
    columns : list, default=None
        Columns to use (positions for an array); default all numeric columns.
    variance : float in (0, 1), default=0.65
        Share of the standardised variance to keep, NannyML's default: enough axes for the main
        correlations, few enough that a change in them leaves a visible residual.
    n_components : int, default=None
        Keep exactly this many components instead (at most the number of columns).
    n_chunks : int, default=10
        The reference is cut into this many consecutive chunks; the spread of their mean errors
        sets the interval of no drift.
    n_std : float, default=3.0
        Half-width of that interval in standard deviations of the reference chunks' errors.

    Attributes
    ----------
    columns_ : list
    mean_, scale_ : ndarray of shape (n_columns,)
    components_ : ndarray of shape (n_components, n_columns)
        The kept axes (rows of unit norm; the largest-magnitude entry of each is positive, as in
        scikit-learn >= 1.5, whose signs may differ otherwise).
    explained_variance_, explained_variance_ratio_ : ndarray of shape (n_components,)
    n_components_ : int
    reference_ : MultivariateDriftResult
        The reference against itself: its chunks, the interval, ``reference_error``.

    Notes
    -----
    Categorical columns are not used (NannyML one-hot encodes them); encode them first to include
    them.  The interval comes from in-sample chunks, as NannyML's, so it is slightly optimistic
    for small references.

    References
    ----------
    NannyML, "Data Reconstruction with PCA",
    https://nannyml.readthedocs.io/en/stable/how_it_works/multivariate_drift.html

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(20000)
    >>> reference = np.column_stack([x, x + 0.3 * rng.standard_normal(20000)])
    >>> y = rng.standard_normal(20000)
    >>> current = np.column_stack([y, -y + 0.3 * rng.standard_normal(20000)])  # same columns, flipped correlation
    >>> model = PCADrift(reference)
    >>> model.n_components_, model.compare(current).drifted
    (1, True)
    """

    @validate_params(reference=TABLE, columns=COLUMNS, variance=[Interval(Real, 0, 1, closed="neither")],
                     n_components=[Interval(Integral, 1, None), None], n_chunks=[Interval(Integral, 2, 2**20)],
                     n_std=[Interval(Real, 0, None, closed="neither")])
    def __init__(self, reference: Any, *, columns: list | None = None, variance: float = 0.65,
                 n_components: int | None = None, n_chunks: int = 10, n_std: float = 3.0) -> None:
        self._fit("PCADrift", reference, columns, variance, n_components, n_chunks, n_std)

    def _fit(self, func: str, reference: Any, columns: list | None, variance: float, n_components: int | None,
             n_chunks: int, n_std: float) -> None:
        x, names = numeric_table(func, "reference", reference, None if columns is None else list(columns))
        if x.shape[0] < n_chunks:
            raise ValueError(f"{func}: reference has {x.shape[0]} rows, fewer than n_chunks={n_chunks}")
        if n_components is not None and n_components > x.shape[1]:
            raise ValueError(f"{func}: n_components={n_components} is more than the {x.shape[1]} columns")
        mean, scale, ev, comp = call_kernel(func, _k.pca_fit, x, x.shape[1], "reference")
        total = ev.sum()
        ratio = ev / total if total > 0 else np.zeros_like(ev)
        if n_components is None:  # scikit-learn's rule for a float n_components
            n_components = min(int(np.searchsorted(np.cumsum(ratio), variance, side="right")) + 1, len(ev))
        self.columns_ = names
        self.n_features_in_ = x.shape[1]
        self.mean_, self.scale_ = mean, scale
        self.components_ = comp.reshape(len(ev), len(ev))[:n_components].copy()
        self.explained_variance_ = ev[:n_components].copy()
        self.explained_variance_ratio_ = ratio[:n_components].copy()
        self.n_components_ = int(n_components)
        self.n_chunks = n_chunks
        self.n_std = n_std
        bounds = _chunk_bounds(x.shape[0], n_chunks)
        errors = self._errors(func, x, "reference")
        self._ref_rows = np.diff(np.r_[bounds, x.shape[0]])
        self._ref_chunks = np.add.reduceat(errors, bounds) / self._ref_rows
        center, spread = float(self._ref_chunks.mean()), float(self._ref_chunks.std())
        self.lower_ = max(0.0, center - n_std * spread)
        self.upper_ = center + n_std * spread
        self.reference_error_ = float(errors.mean())
        self.reference_ = self._result(self.reference_error_, np.empty(0), np.empty(0, dtype=np.int64))

    def __repr__(self) -> str:
        return (f"PCADrift(columns={len(self.columns_)}, n_components={self.n_components_}, "
                f"explained_variance={float(self.explained_variance_ratio_.sum()):.3g})")

    def _errors(self, func: str, x: np.ndarray, name: str) -> np.ndarray:
        return call_kernel(func, _k.reconstruction_errors, x, x.shape[1], self.mean_, self.scale_, self.components_,
                           name)

    def _table(self, func: str, data: Any, name: str) -> np.ndarray:
        if isinstance(data, np.ndarray):
            if data.shape[1] != self.n_features_in_:
                raise ValueError(f"{func}: {name} has {data.shape[1]} columns but the reference had "
                                 f"{self.n_features_in_}")
            x, _ = numeric_table(func, name, data, None)
        else:
            x, _ = numeric_table(func, name, data, self.columns_)
        if x.shape[0] == 0:
            raise ValueError(f"{func}: {name} has no rows")
        return x

    def _compare(self, func: str, current: Any, n_chunks: int | None) -> MultivariateDriftResult:
        x = self._table(func, current, "current")
        errors = self._errors(func, x, "current")
        bounds = _chunk_bounds(x.shape[0], self.n_chunks if n_chunks is None else n_chunks)
        rows = np.diff(np.r_[bounds, x.shape[0]])
        return self._result(errors.mean(), np.add.reduceat(errors, bounds) / rows, rows)

    def _result(self, error: float, chunks: np.ndarray, rows: np.ndarray) -> MultivariateDriftResult:
        n_ref = len(self._ref_chunks)
        return MultivariateDriftResult(
            reconstruction_error=float(error), reference_error=self.reference_error_, lower=self.lower_,
            upper=self.upper_, drifted=bool(error < self.lower_ or error > self.upper_),
            n_components=self.n_components_, explained_variance=float(self.explained_variance_ratio_.sum()),
            period=np.array(["reference"] * n_ref + ["current"] * len(chunks), dtype=object),
            chunk=np.r_[np.arange(n_ref), np.arange(len(chunks))].astype(np.int64),
            rows=np.r_[self._ref_rows, rows].astype(np.int64), error=np.r_[self._ref_chunks, chunks])

    @validate_params(data=TABLE)
    def errors(self, data: Any) -> np.ndarray:
        """Reconstruction error of each row of ``data`` (same columns as the reference)."""
        return self._errors("PCADrift.errors", self._table("PCADrift.errors", data, "data"), "data")

    @validate_params(current=TABLE, n_chunks=[Interval(Integral, 1, 2**20), None])
    def compare(self, current: Any, *, n_chunks: int | None = None) -> MultivariateDriftResult:
        """Mean reconstruction error of ``current`` against the interval of no drift.

        ``n_chunks`` (default: the reference's) cuts the current rows into consecutive chunks,
        each compared with the interval in ``to_frame()`` (``alert``) and ``plot()``: with rows in
        time order, they show when the drift began.
        """
        return self._compare("PCADrift.compare", current, n_chunks)


@validate_params(reference=TABLE, current=TABLE, columns=COLUMNS, variance=[Interval(Real, 0, 1, closed="neither")],
                 n_chunks=[Interval(Integral, 2, 2**20)], n_std=[Interval(Real, 0, None, closed="neither")])
def multivariate_drift(reference: Any, current: Any, *, columns: list | None = None, variance: float = 0.65,
                       n_chunks: int = 10, n_std: float = 3.0) -> MultivariateDriftResult:
    """Multivariate drift of ``current`` from ``reference`` by PCA reconstruction error:
    ``PCADrift(reference, ...).compare(current)`` (see :class:`PCADrift`, which keeps the fitted
    model for further comparisons).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> ref = rng.multivariate_normal([0, 0, 0], [[1, .8, 0], [.8, 1, 0], [0, 0, 1]], size=5000)
    >>> cur = rng.multivariate_normal([0, 0, 0], [[1, -.8, 0], [-.8, 1, 0], [0, 0, 1]], size=5000)
    >>> r = multivariate_drift(ref, cur)
    >>> r.drifted, r.reconstruction_error > r.upper
    (True, True)
    """
    func = "multivariate_drift"
    model = PCADrift.__new__(PCADrift)
    model._fit(func, reference, columns, variance, None, n_chunks, n_std)
    return model._compare(func, current, None)
