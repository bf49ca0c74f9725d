"""Mergeable sufficient statistics of one experiment arm (or of a batch of arms)."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral
from typing import Any

import numpy as np

from .. import _core
from .._params import ArrayLike, Check, Interval, param_error, validate_params
from .._results import Result, result_type
from .._state import MergeableState, array_from_json, json_array
from .._validation import InvalidParameterError, as_float_array, call_kernel

__all__ = ["Stats", "StatsSummary", "ROLES"]

# Column roles, in storage order.  A "denominator" makes the metric a ratio (sum y / sum d); a
# "covariate" (optionally itself a ratio through "covariate_denominator") enables CUPED.
ROLES = ("y", "denominator", "covariate", "covariate_denominator")


_ARRAY = ArrayLike(ndim=None)  # n, mean and comoment of any batch shape; complex and object dtypes rejected
_COLUMNS = Check(lambda c: not isinstance(c, (str, bytes)) and all(isinstance(x, str) for x in c),
                 "a sequence of column role names")
_DATA = [None, ArrayLike(ndim=1)]


@result_type
class StatsSummary(Result):
    """The headline statistics of a :class:`Stats`: count, and per column its mean and variance
    (ddof = 1; NaN when n < 2).  ``n`` has the batch shape, ``mean`` and ``var`` the batch shape
    plus one axis for the columns."""

    columns: tuple
    n: Any
    mean: Any
    var: Any

    def to_frame(self):
        """One row per (batch element, column): batch index (for batched Stats), column, n,
        mean, var."""
        import pandas as pd

        n = np.asarray(self.n)
        k = len(self.columns)
        rows = int(n.size)
        data = {}
        if n.ndim:
            data["index"] = np.repeat(np.arange(rows), k)
        data["column"] = np.tile(np.array(self.columns, dtype=object), rows)
        data["n"] = np.repeat(n.ravel(), k)
        data["mean"] = np.asarray(self.mean).reshape(-1)
        data["var"] = np.asarray(self.var).reshape(-1)
        return pd.DataFrame(data)


def counts_stats(x: tuple, name: str, func: str) -> "Stats":
    """``Stats.from_counts(*x)`` for the (successes, trials) argument ``name`` of ``func``, with
    messages that name them."""
    if len(x) != 2:
        raise InvalidParameterError(f"{func}: {name} must be a (successes, trials) tuple")
    try:
        return Stats.from_counts(*x)
    except ValueError as e:
        text = str(e)
        text = text.partition(": ")[2] if text.startswith("Stats.from_counts: ") else text
        raise type(e)(f"{func}: {name}: {text}") from None


class Stats(MergeableState):
    """Sufficient statistics of one arm: count, means and centred cross-moments.

    A Stats holds, for k columns (the metric ``y`` and optionally its ``denominator``, a
    pre-experiment ``covariate`` and the covariate's ``covariate_denominator``), the count ``n``,
    the means and the centred cross-moment matrix ``comoment[i, j] = sum_r (c_i - mean_i)(c_j -
    mean_j)``.  That is enough for every mean, ratio and CUPED test in :mod:`mlsd.abtest`, and
    every test gives the same answer on a Stats as on the raw arrays it summarises.

    Stats may be batched: ``n`` of shape ``S``, ``mean`` of shape ``S + (k,)`` and ``comoment``
    of shape ``S + (k, k)`` describe ``prod(S)`` arms at once (for example 10,000 metrics), and the
    tests broadcast over the batch.

    Stats is a mergeable state (:class:`mlsd._state.MergeableState`): :meth:`from_arrays`,
    :meth:`update` (in place), :meth:`merge` / ``a + b`` / ``sum(states)``, :meth:`to_dict` /
    :meth:`from_dict` (JSON-safe, exact) and :meth:`result`.  Merging uses Chan, Golub and
    LeVeque's pairwise formula -- the C++ one the kernel reduces its chunks with, applied per
    batch element -- so per-partition results from a warehouse or a cluster combine exactly (up to
    rounding).

    Examples
    --------
    >>> import numpy as np
    >>> from mlsd.abtest import Stats
    >>> y = np.array([1.0, 2.0, 4.0, 7.0])
    >>> s = Stats.from_arrays(y[:2]) + Stats.from_arrays(y[2:])
    >>> float(s.n), float(s.mean[0]), float(s.var())
    (4.0, 3.5, 7.0)
    >>> Stats.from_dict(s.to_dict()).to_dict() == s.to_dict()
    True
    """

    __slots__ = ("n", "mean", "comoment", "columns")

    @validate_params(n=[_ARRAY], mean=[_ARRAY], comoment=[_ARRAY], columns=[_COLUMNS])
    def __init__(self, n: Any, mean: Any, comoment: Any, columns: tuple[str, ...] = ("y",)):
        columns = tuple(columns)
        if not columns or any(c not in ROLES for c in columns) or len(set(columns)) != len(columns):
            raise InvalidParameterError(f"Stats: columns must be distinct names among {ROLES}; got {columns!r}")
        if columns[0] != "y":
            raise InvalidParameterError(f"Stats: the first column must be 'y'; got {columns!r}")
        k = len(columns)
        n = np.asarray(n, dtype=np.float64)
        mean = np.asarray(mean, dtype=np.float64)
        comoment = np.asarray(comoment, dtype=np.float64)
        if mean.shape != n.shape + (k,) or comoment.shape != n.shape + (k, k):
            raise ValueError(f"Stats: with n of shape {n.shape} and {k} column(s), mean must have shape "
                             f"{n.shape + (k,)} and comoment {n.shape + (k, k)}; got {mean.shape} and {comoment.shape}")
        if not (np.all(np.isfinite(n)) and np.all(np.isfinite(mean)) and np.all(np.isfinite(comoment))):
            raise ValueError("Stats: n, mean and comoment must be finite")
        if np.any(n < 0) or np.any(n != np.floor(n)):
            raise ValueError("Stats: n must hold non-negative integer counts")
        if np.any(np.diagonal(comoment, axis1=-2, axis2=-1) < 0):
            raise ValueError("Stats: the diagonal of comoment (sums of squared deviations) must be >= 0")
        self.n, self.mean, self.comoment, self.columns = n, mean, comoment, columns

    # ---- construction ----------------------------------------------------------------------
    @classmethod
    @validate_params(y=[ArrayLike(ndim=1)], denominator=_DATA, covariate=_DATA, covariate_denominator=_DATA)
    def from_arrays(cls, y: Any, *, denominator: Any = None, covariate: Any = None,
                    covariate_denominator: Any = None) -> "Stats":
        """Statistics of raw per-unit arrays, in one multithreaded pass (C++, GIL released).

        Parameters
        ----------
        y : array-like of shape (n,)
            The metric per unit (user, session...).  0/1 for a conversion metric.
        denominator : array-like of shape (n,), optional
            Per-unit denominator of a ratio metric (sum y / sum denominator), e.g. sessions for
            clicks per session.
        covariate : array-like of shape (n,), optional
            Pre-experiment value of the metric per unit, for CUPED.
        covariate_denominator : array-like of shape (n,), optional
            Denominator of a ratio covariate.
        """
        return cls._of_arrays("Stats.from_arrays", y, denominator, covariate, covariate_denominator)

    @classmethod
    def _of_arrays(cls, func: str, y, denominator, covariate, covariate_denominator) -> "Stats":
        given = {"y": y, "denominator": denominator, "covariate": covariate,
                 "covariate_denominator": covariate_denominator}
        if covariate_denominator is not None and covariate is None:
            raise ValueError(f"{func}: covariate_denominator needs a covariate")
        names = [r for r in ROLES if given[r] is not None or r == "y"]
        arrays = [as_float_array(given[r], r, func) for r in names]
        n, mean, com = call_kernel(func, _core.abtest.moments, arrays, names)
        return cls(n, mean, com, tuple(names))

    @classmethod
    @validate_params(data=[Mapping])
    def from_mapping(cls, data: Mapping[str, Any]) -> "Stats":
        """``Stats.from_arrays(**data)`` for a mapping of role -> array (e.g. a dict of columns)."""
        return cls._of_mapping(data, "Stats.from_mapping: data")

    @classmethod
    def _of_mapping(cls, data: Mapping, where: str) -> "Stats":
        """The Stats of a mapping of role -> array; messages start with ``where`` ("func: arg")."""
        unknown = set(data) - set(ROLES)
        if unknown:
            raise InvalidParameterError(f"{where}: unknown column role(s) {sorted(map(str, unknown))}; use {ROLES}")
        if "y" not in data:
            raise InvalidParameterError(f"{where}: the mapping needs a 'y' entry")
        return cls._of_arrays(where, data["y"], data.get("denominator"), data.get("covariate"),
                              data.get("covariate_denominator"))

    @classmethod
    @validate_params(successes=[ArrayLike(ndim=None)], trials=[ArrayLike(ndim=None)])
    def from_counts(cls, successes: Any, trials: Any) -> "Stats":
        """Statistics of a 0/1 metric from counts (vectorised over arrays of counts).

        Equal to ``Stats.from_arrays`` of ``successes`` ones and ``trials - successes`` zeros.
        """
        func = "Stats.from_counts"
        s = _as_counts(successes, "successes", func)
        t = _as_counts(trials, "trials", func)
        s, t = np.broadcast_arrays(s, t)
        if np.any(s > t):
            i = int(np.flatnonzero((s > t).ravel())[0])
            raise ValueError(f"{func}: successes must be <= trials; got {s.ravel()[i]:g} > {t.ravel()[i]:g} at index {i}")
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(t > 0, s / np.where(t > 0, t, 1.0), 0.0)
            com = np.where(t > 0, s * (t - s) / np.where(t > 0, t, 1.0), 0.0)
        return cls(t, p[..., None], com[..., None, None], ("y",))

    @classmethod
    @validate_params(nobs=[ArrayLike(ndim=(0, 1, 2))], mean=[ArrayLike(ndim=(0, 1, 2))],
                     std=[ArrayLike(ndim=(0, 1, 2))], ddof=[Interval(Integral, 0, None)])
    def from_summary(cls, nobs: Any, mean: Any, std: Any, *, ddof: int = 1) -> "Stats":
        """Statistics of a single metric from count, mean and standard deviation (vectorised).

        ``std`` is the standard deviation with ``ddof`` degrees of freedom (1: the sample
        standard deviation, as pandas ``std()``; 0: NumPy's default).
        """
        func = "Stats.from_summary"
        n = _as_counts(nobs, "nobs", func)
        m = as_float_array(mean, "mean", func, ndim=(0, 1, 2))
        sd = as_float_array(std, "std", func, ndim=(0, 1, 2))
        n, m, sd = np.broadcast_arrays(n, m, sd)
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(sd))):
            raise ValueError(f"{func}: mean and std must be finite")
        if np.any(sd < 0):
            raise ValueError(f"{func}: std must be >= 0")
        if np.any(n <= ddof):
            raise ValueError(f"{func}: nobs must be > ddof={ddof}")
        return cls(n, m[..., None], (sd * sd * (n - ddof))[..., None, None], ("y",))

    @classmethod
    @validate_params(items=[Check(lambda x: not isinstance(x, (str, bytes, Mapping)) and iter(x) is not None,
                                  "a non-empty sequence of Stats")])
    def stack(cls, items: "list[Stats]") -> "Stats":
        """A batch (along a new first axis) of Stats with the same columns."""
        items = list(items)
        if not items or not all(isinstance(s, Stats) for s in items):
            raise InvalidParameterError("The 'items' parameter of Stats.stack must be a non-empty sequence of "
                                        "Stats.")
        cols = items[0].columns
        if any(s.columns != cols for s in items):
            raise ValueError("Stats.stack: every Stats must have the same columns")
        if any(s.shape != items[0].shape for s in items):
            raise ValueError("Stats.stack: every Stats must have the same batch shape")
        return cls(np.stack([s.n for s in items]), np.stack([s.mean for s in items]),
                   np.stack([s.comoment for s in items]), cols)

    # ---- the mergeable-state protocol ------------------------------------------------------
    @validate_params(y=[ArrayLike(ndim=1)], denominator=_DATA, covariate=_DATA, covariate_denominator=_DATA)
    def update(self, y: Any, *, denominator: Any = None, covariate: Any = None,
               covariate_denominator: Any = None) -> "Stats":
        """Adds a batch of rows (the arguments of :meth:`from_arrays`, with this state's columns)
        in place; returns self.  Only for unbatched Stats."""
        func = "Stats.update"
        if self.n.ndim:
            raise ValueError(f"{func}: a batched Stats (shape {self.n.shape}) cannot take rows; merge Stats instead")
        batch = type(self)._of_arrays(func, y, denominator, covariate, covariate_denominator)
        if batch.columns != self.columns:
            raise ValueError(f"{func}: the batch has columns {batch.columns} but the state has {self.columns}")
        merged = self._merged([batch])
        self.n, self.mean, self.comoment = merged.n, merged.mean, merged.comoment
        return self

    def _merged(self, others: list) -> "Stats":
        out = self
        for other in others:
            out = _merge_pair(out, other)
        return out if others else Stats(self.n.copy(), self.mean.copy(), self.comoment.copy(), self.columns)

    def _to_dict_body(self) -> dict:
        return {"columns": list(self.columns), "n": json_array(self.n), "mean": json_array(self.mean),
                "comoment": json_array(self.comoment)}

    @classmethod
    def _from_dict_body(cls, d: Mapping) -> "Stats":
        missing = [k for k in ("n", "mean", "comoment", "columns") if k not in d]
        if missing:
            raise ValueError(f"missing key {missing[0]!r}")
        if not isinstance(d["columns"], list):
            raise TypeError(f"columns must be a list of role names, got {type(d['columns']).__name__}")
        for key in ("n", "mean", "comoment"):  # JSON numbers only: no strings, bools or nulls
            if np.array(d[key]).dtype.kind not in "iuf":
                raise TypeError(f"{key} must hold numbers")
        # not array_from_json: its np.ascontiguousarray turns the 0-d n of an unbatched Stats into 1-d
        n = np.array(d["n"], dtype=np.float64)
        return cls(n, array_from_json(d["mean"], np.float64, ndim=n.ndim + 1),
                   array_from_json(d["comoment"], np.float64, ndim=n.ndim + 2), tuple(d["columns"]))

    def result(self) -> StatsSummary:
        """Count, means and variances (ddof = 1) of every column."""
        var = np.stack([self.var(c) for c in self.columns], axis=-1)
        return StatsSummary(self.columns, _scalar(self.n), _scalar(self.mean), _scalar(var))

    # ---- access ------------------------------------------------------------------------------
    def __getitem__(self, index: Any) -> "Stats":
        n = self.n[index]
        return Stats(n, self.mean[index], self.comoment[index], self.columns)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.n.shape

    @validate_params(role=[str])
    def column(self, role: str) -> int:
        """Position of a column role in ``columns``."""
        return self._index(role, "Stats.column")

    def _index(self, role: str, func: str) -> int:
        try:
            return self.columns.index(role)
        except ValueError:
            raise param_error(func, "role", f"one of this Stats' columns {self.columns}", role) from None

    @validate_params(role=[str])
    def sum(self, role: str = "y") -> np.ndarray:
        """Sum of a column."""
        return self.n * self.mean[..., self._index(role, "Stats.sum")]

    @validate_params(role=[str])
    def sum_of_squares(self, role: str = "y") -> np.ndarray:
        """Raw sum of squares of a column (derived; the centred form is what is stored)."""
        j = self._index(role, "Stats.sum_of_squares")
        return self.comoment[..., j, j] + self.n * self.mean[..., j] ** 2

    @validate_params(role=[str], ddof=[Interval(Integral, 0, None)])
    def var(self, role: str = "y", ddof: int = 1) -> np.ndarray:
        """Variance of a column with ``ddof`` degrees of freedom (NaN when n <= ddof)."""
        j = self._index(role, "Stats.var")
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n > ddof, self.comoment[..., j, j] / np.maximum(self.n - ddof, 1), np.nan)

    def __repr__(self) -> str:
        if self.n.ndim == 0:
            return f"Stats(n={self.n:g}, mean={self.mean.tolist()}, columns={self.columns})"
        return f"Stats(batch shape={self.n.shape}, columns={self.columns})"


def _scalar(x):
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


def _merge_pair(a: Stats, b: Stats) -> Stats:
    """Chan's merge of a and b per batch element (broadcast), through the C++ kernel's merge."""
    if b.columns != a.columns:
        raise ValueError(f"Stats: cannot merge statistics of columns {a.columns} and {b.columns}")
    try:
        shape = np.broadcast_shapes(a.n.shape, b.n.shape)
    except ValueError:
        raise ValueError(f"Stats.merge: cannot merge batches of shapes {a.n.shape} and {b.n.shape}") from None
    k = len(a.columns)

    def flat(s: Stats):
        return (np.ascontiguousarray(np.broadcast_to(s.n, shape)).reshape(-1),
                np.ascontiguousarray(np.broadcast_to(s.mean, shape + (k,))).reshape(-1),
                np.ascontiguousarray(np.broadcast_to(s.comoment, shape + (k, k))).reshape(-1))

    n, mean, com = _core.abtest.merge_moments(k, *flat(a), *flat(b))
    return Stats(n.reshape(shape), mean.reshape(shape + (k,)), com.reshape(shape + (k, k)), a.columns)


def _as_counts(x: Any, name: str, func: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{func}: {name} must be numeric; got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{func}: {name} must be finite")
    if np.any(arr < 0):
        raise ValueError(f"{func}: {name} must be >= 0; got {arr.ravel()[np.flatnonzero(arr.ravel() < 0)[0]]:g}")
    if np.any(arr != np.floor(arr)):
        raise ValueError(f"{func}: {name} must hold whole counts")
    return arr


def as_stats(x: Any, name: str, func: str) -> Stats:
    """A Stats from a Stats, a mapping of role -> array, or a 1-D array of the metric."""
    if isinstance(x, Stats):
        return x
    if isinstance(x, Mapping):
        return Stats._of_mapping(x, f"{func}: {name}")
    arr = as_float_array(x, name, func)
    return Stats(*call_kernel(func, _core.abtest.moments, [arr], [name]), ("y",))
