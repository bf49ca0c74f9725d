"""Mergeable sufficient statistics of one experiment arm (or of a batch of arms)."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .. import _core
from .._validation import InvalidParameterError, as_float_array, call_kernel

__all__ = ["Stats", "ROLES"]

# Column roles, in storage order.  A "denominator" makes the metric a ratio (sum y / sum d); a
# "covariate" (optionally itself a ratio through "covariate_denominator") enables CUPED.
ROLES = ("y", "denominator", "covariate", "covariate_denominator")


class Stats:
    """Sufficient statistics of one arm: count, means and centred cross-moments.

    A Stats holds, for k columns (the metric ``y`` and optionally its ``denominator``, a
    pre-experiment ``covariate`` and the covariate's ``covariate_denominator``), the count ``n``,
    the means and the centred cross-moment matrix ``comoment[i, j] = sum_r (c_i - mean_i)(c_j -
    mean_j)``.  That is enough for every mean, ratio and CUPED test in :mod:`mlsd.abtest`, and
    every test gives the same answer on a Stats as on the raw arrays it summarises.

    Stats may be batched: ``n`` of shape ``S``, ``mean`` of shape ``S + (k,)`` and ``comoment``
    of shape ``S + (k, k)`` describe ``prod(S)`` arms at once (for example 10,000 metrics), and the
    tests broadcast over the batch.

    ``a + b`` merges two Stats (per batch element) into the statistics of the concatenated rows by
    Chan, Golub and LeVeque's pairwise formula, so per-partition results from a warehouse or a
    cluster combine exactly (up to rounding).  :meth:`to_dict` / :meth:`from_dict` serialise.

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
        func = "Stats.from_arrays"
        given = {"y": y, "denominator": denominator, "covariate": covariate,
                 "covariate_denominator": covariate_denominator}
        if covariate_denominator is not None and covariate is None:
            raise ValueError(f"{func}: covariate_denominator needs a covariate")
        names = [r for r in ROLES if given[r] is not None or r == "y"]
        arrays = [as_float_array(given[r], r, func) for r in names]
        n, mean, com = call_kernel(func, _core.abtest.moments, arrays, names)
        return cls(n, mean, com, tuple(names))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "Stats":
        """``Stats.from_arrays(**data)`` for a mapping of role -> array (e.g. a dict of columns)."""
        unknown = set(data) - set(ROLES)
        if unknown:
            raise InvalidParameterError(f"Stats.from_arrays: unknown column role(s) {sorted(unknown)}; use {ROLES}")
        if "y" not in data:
            raise InvalidParameterError("Stats.from_arrays: the mapping needs a 'y' entry")
        return cls.from_arrays(**data)

    @classmethod
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
    def stack(cls, items: "list[Stats]") -> "Stats":
        """A batch (along a new first axis) of Stats with the same columns."""
        items = list(items)
        if not items or not all(isinstance(s, Stats) for s in items):
            raise TypeError("Stats.stack: expected a non-empty sequence of Stats")
        cols = items[0].columns
        if any(s.columns != cols for s in items):
            raise ValueError("Stats.stack: every Stats must have the same columns")
        return cls(np.stack([s.n for s in items]), np.stack([s.mean for s in items]),
                   np.stack([s.comoment for s in items]), cols)

    # ---- algebra ---------------------------------------------------------------------------
    def __add__(self, other: "Stats") -> "Stats":
        if not isinstance(other, Stats):
            return NotImplemented
        if other.columns != self.columns:
            raise ValueError(f"Stats: cannot merge statistics of columns {self.columns} and {other.columns}")
        na, nb = np.broadcast_arrays(self.n, other.n)
        n = na + nb
        with np.errstate(invalid="ignore", divide="ignore"):
            wb = np.where(n > 0, nb / np.where(n > 0, n, 1.0), 0.0)
        delta = other.mean - self.mean
        mean = self.mean + delta * wb[..., None]
        f = (na * wb)[..., None, None]
        com = self.comoment + other.comoment + delta[..., :, None] * delta[..., None, :] * f
        return Stats(n, mean, com, self.columns)

    def __radd__(self, other: Any) -> "Stats":  # sum([...]) starts from 0
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented

    def __getitem__(self, index: Any) -> "Stats":
        n = self.n[index]
        return Stats(n, self.mean[index], self.comoment[index], self.columns)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.n.shape

    def column(self, role: str) -> int:
        try:
            return self.columns.index(role)
        except ValueError:
            raise ValueError(f"Stats has no {role!r} column (columns: {self.columns})") from None

    def sum(self, role: str = "y") -> np.ndarray:
        """Sum of a column."""
        return self.n * self.mean[..., self.column(role)]

    def sum_of_squares(self, role: str = "y") -> np.ndarray:
        """Raw sum of squares of a column (derived; the centred form is what is stored)."""
        j = self.column(role)
        return self.comoment[..., j, j] + self.n * self.mean[..., j] ** 2

    def var(self, role: str = "y", ddof: int = 1) -> np.ndarray:
        """Variance of a column with ``ddof`` degrees of freedom (NaN when n <= ddof)."""
        j = self.column(role)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n > ddof, self.comoment[..., j, j] / np.maximum(self.n - ddof, 1), np.nan)

    # ---- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-serialisable dict; :meth:`from_dict` restores the Stats exactly."""
        return {"columns": list(self.columns), "n": self.n.tolist(), "mean": self.mean.tolist(),
                "comoment": self.comoment.tolist()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Stats":
        try:
            return cls(d["n"], d["mean"], d["comoment"], tuple(d["columns"]))
        except KeyError as e:
            raise ValueError(f"Stats.from_dict: missing key {e}") from None

    def __repr__(self) -> str:
        if self.n.ndim == 0:
            return f"Stats(n={self.n:g}, mean={self.mean.tolist()}, columns={self.columns})"
        return f"Stats(batch shape={self.n.shape}, columns={self.columns})"


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
        try:
            return Stats.from_mapping(x)
        except ValueError as e:
            raise type(e)(f"{func}: {name}: {str(e).partition(': ')[2]}") from None
    arr = as_float_array(x, name, func)
    return Stats(*call_kernel(func, _core.abtest.moments, [arr], [name]), ("y",))
